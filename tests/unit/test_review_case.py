"""The reviewer's case page and the personal-data audit log, against in-memory fakes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from lending.applications.casefile import (
    CaseFiles,
    age_on,
    check_application_id,
    document_findings,
)
from lending.applications.model import (
    Decision,
    DocumentRef,
    Reason,
    ShadowScore,
    Status,
)
from lending.applications.ports import Event
from lending.applications.privacy import (
    card_last_four,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
)
from lending.applications.service import ApplicationService
from lending.audit import PersonalDataAudit, PersonalDataView
from lending.auth import Principal, Role
from lending.errors import Forbidden, InvalidRequest, NotFound
from tests.fakes import (
    FakeBlindIndex,
    FakeCipher,
    FakeClock,
    FakeDocuments,
    FakeLinks,
    FakeRepo,
    FakeWorkflow,
    applicant_details,
)


def who(subject: str, role: Role) -> Principal:
    return Principal(subject=subject, role=role, expires_at=datetime(2100, 1, 1, tzinfo=UTC))


def test_masks_keep_what_a_reviewer_needs() -> None:
    assert mask_name("张小明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("阿依古丽·买买提") == "阿******提"
    assert mask_name("张") == "*"
    assert mask_id_number("110105199001011234") == "110***********1234"
    assert mask_id_number("11010519900101123X") == "110***********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert card_last_four("6222021234567890123") == "0123"
    assert mask_address("北京市海淀区中关村大街1号") == "北京市海淀区****"
    assert mask_address("北京") == "****"


def test_age_and_ids() -> None:
    assert age_on("110105199001011234", date(2026, 1, 1)) == 36
    assert age_on("110105199001021234", date(2026, 1, 1)) == 35
    assert age_on("110105199013011234", date(2026, 1, 1)) is None
    good = "A20261130071700" + "0123456789abcdef"
    assert check_application_id(good) == good
    for bad in ("", "A1", good.upper(), good + "0", "B" + good[1:], "A２0261130071700" + good[15:]):
        with pytest.raises(InvalidRequest):
            check_application_id(bad)


class MemoryAudit:
    def __init__(self, fail: bool = False) -> None:
        self.views: list[PersonalDataView] = []
        self.fail = fail

    def record(self, view: PersonalDataView) -> None:
        if self.fail:
            raise RuntimeError("the audit log is down")
        self.views.append(view)

    def views_on(self, day: date, application_id: str | None, limit: int) -> list[PersonalDataView]:
        return [
            v
            for v in self.views
            if v.at.date() == day and application_id in (None, v.application_id)
        ][:limit]


def setup(fail_audit: bool = False) -> tuple[CaseFiles, MemoryAudit, FakeLinks, str]:
    service = ApplicationService(
        repo=FakeRepo(),
        documents=FakeDocuments(),
        workflow=FakeWorkflow(),
        cipher=FakeCipher(),
        blind_index=FakeBlindIndex(),
        clock=FakeClock(),
    )
    details = applicant_details(seed=7)
    app = service.create(
        who("U1", Role.APPLICANT),
        product_id="consumer-flex",
        amount_fen=20_000_00,
        term_months=12,
        repayment_method="equal_instalment",
        purpose="electronics",
        applicant=details,
    )
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    docs = {
        kind: DocumentRef(
            kind=kind,
            key=f"applications/{app.id}/documents/{kind}",
            size=1000,
            content_type="image/jpeg",
            uploaded_at=now,
        )
        for kind in ("id_front", "id_back", "bank_card")
    }
    stored = service.repo.get(app.id)
    assert stored is not None
    stored = stored.model_copy(
        update={
            "status": Status.IN_REVIEW,
            "documents": docs,
            "ocr_outcome": "suspicious",
            "ocr_reasons": [
                Reason(code="sex_contradicts_id", message="id_front: sex disagrees with ID number"),
                Reason(code="odd", message="no document named"),
            ],
            "sources": {"credit_bureau": "ok", "judicial": "unavailable"},
            "decision": Decision(
                outcome="review",
                probability_of_default=0.12,
                points=512,
                credit_line_fen=30_000_00,
                coverage=0.8,
                model_version="admission-german-lr-v1",
                reasons=[Reason(code="R10", message="source unavailable")],
                decided_at=now,
                shadow=[
                    ShadowScore(model_version="rf-v1", probability_of_default=0.2),
                    ShadowScore(model_version="gb-v1", probability_of_default=None),
                ],
            ),
        }
    )
    stored.tokens["review"] = "T-review"
    service.repo.save(stored, Event(type="queued_for_review", at=now))
    audit = MemoryAudit(fail=fail_audit)
    links = FakeLinks()
    files = CaseFiles(
        applications=service, links=links, audit=PersonalDataAudit(audit, FakeClock())
    )
    return files, audit, links, app.id


def test_the_case_is_masked_audited_and_links_each_document() -> None:
    files, audit, links, app_id = setup()
    case = files.case(who("R1", Role.REVIEWER), app_id)
    details = applicant_details(seed=7)
    assert case["applicant"]["name"] == mask_name(details.name)
    assert case["applicant"]["id_number"] == mask_id_number(details.id_number)
    assert case["applicant"]["bank_card_last_four"] == details.bank_card_number[-4:]
    text = json.dumps(case, ensure_ascii=False)
    for value in (details.name, details.id_number, details.phone, details.bank_card_number):
        assert value not in text
    assert [d["kind"] for d in case["documents"]] == ["bank_card", "id_back", "id_front"]
    front = case["documents"][2]
    assert front["status"] == "flagged"
    assert front["findings"] == [
        {"code": "sex_contradicts_id", "message": "sex disagrees with ID number"}
    ]
    assert case["documents"][0]["status"] == "ok"
    assert case["ocr"]["other_findings"] == [{"code": "odd", "message": "no document named"}]
    assert {asked[1] for asked in links.asked} == {300}
    assert case["sources"] == [
        {"name": "credit_bureau", "state": "ok"},
        {"name": "judicial", "state": "unavailable"},
    ]
    assert case["decision"]["points"] == 512 and case["coverage"] == 0.8
    rf, gb = case["challengers"]
    assert rf["difference"] == pytest.approx(0.08) and gb["difference"] is None
    assert case["awaiting_decision"] is True
    (view,) = audit.views
    assert view.viewer == "R1" and view.role is Role.REVIEWER and view.application_id == app_id
    assert {"name", "id_number", "document:id_front", "document:bank_card"} <= set(view.fields)
    assert "company_name" not in view.fields


def test_no_record_no_data_and_only_reviewers_or_admins() -> None:
    files, audit, links, app_id = setup(fail_audit=True)
    with pytest.raises(RuntimeError):
        files.case(who("R1", Role.REVIEWER), app_id)
    assert links.asked == []  # nothing was signed for a view that was not recorded
    files, audit, links, app_id = setup()
    for role in (Role.APPLICANT, Role.FINANCE, Role.BANK):
        with pytest.raises(Forbidden):
            files.case(who("X", role), app_id)
    assert audit.views == []
    with pytest.raises(NotFound):
        files.case(who("R1", Role.REVIEWER), "A20260101000000" + "0" * 16)
    files.case(who("ADM", Role.ADMIN), app_id)
    assert [v.role for v in audit.views] == [Role.ADMIN]


def test_only_admins_read_the_audit_log() -> None:
    log = MemoryAudit()
    clock = FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    audit = PersonalDataAudit(log, clock)
    audit.viewed(who("R1", Role.REVIEWER), "A1", ["name", "name", "phone"], "manual_review")
    audit.viewed(who("R2", Role.REVIEWER), "A2", ["phone"], "manual_review")
    for role in (Role.REVIEWER, Role.FINANCE, Role.APPLICANT):
        with pytest.raises(Forbidden):
            audit.views(who("X", role), date(2026, 11, 2))
    admin = who("ADM", Role.ADMIN)
    assert [v.application_id for v in audit.views(admin, date(2026, 11, 2))] == ["A1", "A2"]
    assert [v.viewer for v in audit.views(admin, date(2026, 11, 2), "A2")] == ["R2"]
    assert audit.views(admin, date(2026, 11, 2) + timedelta(days=1)) == []
    assert log.views[0].fields == ["name", "phone"]


def test_document_findings_group_by_kind() -> None:
    files, _, _, app_id = setup()
    app = files.applications.repo.get(app_id)
    assert app is not None
    assert set(document_findings(app)) == {"id_front", "other"}
