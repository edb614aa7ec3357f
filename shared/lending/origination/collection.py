"""CreditBureau, BusinessRegistry, TaxBureau, JudicialRecords: fetch one source each.

A report is stored encrypted (it is personal credit data), bound to its application and
source; a source that is down raises SourceUnavailable, which the state retries and then
records as unavailable (scoring sends such a case to a person, never to a default).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from lending.origination.base import Step
from lending.origination.states import SourceName, SourceResult
from lending.ports import Cipher
from lending.scoring.sources import DataSource, SourceReport, Subject


def report_context(application_id: str, source: str) -> dict[str, str]:
    return {"application_id": application_id, "purpose": "source:" + source}


def seal_report(cipher: Cipher, application_id: str, source: str, report: SourceReport) -> str:
    clear = json.dumps(
        {
            "source": report.source,
            "fetched_at": report.fetched_at.isoformat(),
            "fields": report.fields,
            "complete": report.complete,
        }
    ).encode()
    blob = cipher.encrypt(clear, report_context(application_id, source))
    return base64.b64encode(blob).decode()


def open_report(cipher: Cipher, application_id: str, source: str, sealed: str) -> SourceReport:
    data = json.loads(
        cipher.decrypt(base64.b64decode(sealed), report_context(application_id, source))
    )
    return SourceReport(
        data["source"], datetime.fromisoformat(data["fetched_at"]), data["fields"], data["complete"]
    )


@dataclass
class DataCollection(Step):
    cipher: Cipher
    sources: Mapping[str, DataSource]

    def collect(self, application_id: str, source: SourceName) -> SourceResult:
        app = self._load(application_id)
        if source not in self.repo.source_reports(application_id):
            subject = Subject(app.id_hash, app.credit_code_hash, app.product_type)
            report = self.sources[source].fetch(subject)  # SourceUnavailable: the state retries
            self.repo.put_source_report(
                app.id, source, seal_report(self.cipher, app.id, source, report)
            )
        return SourceResult(source=source, status="ok")
