"""Fixtures shared by the integration and e2e suites.

- `cloud`: one embedded local cloud (moto + the real template, state machine, API and
  banks) for the whole session; it boots only when a test asks for it, so unit tests
  never pay for it.
- `http_log`: every HTTP reply the tests, the mini-program client and the simulated
  banks receive, so a module can assert that nothing answered 500.
- `people`: fresh synthetic identities (working age, ID card valid today), never handed
  out twice in a session: an identity pinned to a bureau row or counted by the duplicate
  check belongs to one test only.
- `cast`: pin an identity's bureau answer so the scorecard puts it in a chosen band.
- `draft`: an applicant with a fresh draft application (no documents, no OCR).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from infra.localcloud import bank as bank_module
from infra.localcloud import http as http_module
from infra.localcloud import miniprogram as miniprogram_module
from infra.localcloud.cloud import LocalCloud
from infra.localcloud.demo import identities
from infra.localcloud.http import Reply
from infra.localcloud.miniprogram import Applicant
from lending.sandbox.identities import SyntheticIdentity

# -- HTTP replies ------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    body: Any


@dataclass
class HttpLog:
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, url: str, reply: Reply) -> None:
        with self._lock:
            self.exchanges.append(Exchange(method, url, reply.status, reply.body))

    def server_errors(self) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.status >= 500]

    def __len__(self) -> int:
        with self._lock:
            return len(self.exchanges)


@pytest.fixture(scope="session")
def http_log() -> Iterator[HttpLog]:
    """Record every reply of `infra.localcloud.http.call`, wherever it was imported."""
    log = HttpLog()
    original = http_module.call

    def recording_call(
        method: str,
        url: str,
        body: Any = None,
        *,
        token: str | None = None,
        timeout: float = 30,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        reply = original(method, url, body, token=token, timeout=timeout, headers=headers)
        log.record(method, url, reply)
        return reply

    with pytest.MonkeyPatch.context() as patch:
        for module in (http_module, miniprogram_module, bank_module):
            patch.setattr(module, "call", recording_call)
        yield log


def raw_request(
    log: HttpLog,
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    token: str | None = None,
    content_type: str | None = "application/json",
) -> Reply:
    """A request with an arbitrary body (invalid JSON, oversized bodies), recorded."""
    request = urllib.request.Request(url, data=data, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, headers = exc.code, exc.read(), exc.headers
    try:
        parsed: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        parsed = raw.decode(errors="replace")
    reply = Reply(status, parsed, {k.lower(): v for k, v in headers.items()})
    log.record(method, url, reply)
    return reply


@pytest.fixture(scope="session")
def raw(http_log: HttpLog) -> Callable[..., Reply]:
    def send(
        method: str,
        url: str,
        data: bytes | None = None,
        token: str | None = None,
        content_type: str | None = "application/json",
    ) -> Reply:
        return raw_request(http_log, method, url, data=data, token=token, content_type=content_type)

    return send


# -- the local cloud -------------------------------------------------------------------

# After every other test of the local cloud (unit tests need none): it checks the AWS
# calls that the whole session recorded.
LAST_MODULES = ("test_least_privilege.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return 2 if item.path.parent.name == "unit" else int(item.path.name in LAST_MODULES)

    items.sort(key=rank)  # stable: the order within each rank is kept


@pytest.fixture(scope="session")
def cloud(http_log: HttpLog) -> Iterator[LocalCloud]:
    """Records every function's AWS calls from its start (`cloud.calls`): the session's
    tests all feed tests/integration/test_least_privilege.py."""
    with LocalCloud.start() as started:
        yield started


@pytest.fixture
def outage(cloud: LocalCloud) -> Iterator[Callable[[str], None]]:
    """Switch a data source off for one test; it is always switched back on."""
    switched: set[str] = set()

    def down(source: str) -> None:
        switched.add(source)
        cloud.set_outage(source, True)

    try:
        yield down
    finally:
        for source in switched:
            cloud.set_outage(source, False)


# -- synthetic people ------------------------------------------------------------------


class People:
    """Seeded identities, each handed out once per session (thread-safe).

    `next()` serves ad-hoc identities in request order; `fixed(n)` serves the n-th
    identity of a separate range, the same one whatever order the tests run in (the
    e2e journeys use it, so each path always meets the same person and documents).
    """

    AD_HOC = 120
    FIXED = 80

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: list[SyntheticIdentity] = []
        self._used = 0

    def _all(self) -> list[SyntheticIdentity]:
        if not self._pool:
            self._pool = identities(self.AD_HOC + self.FIXED)
        return self._pool

    def next(self) -> SyntheticIdentity:
        with self._lock:
            if self._used >= self.AD_HOC:
                raise RuntimeError("the ad-hoc identity pool is used up: raise People.AD_HOC")
            who = self._all()[self._used]
            self._used += 1
            return who

    def fixed(self, n: int) -> SyntheticIdentity:
        if not 0 <= n < self.FIXED:
            raise IndexError(n)
        with self._lock:
            return self._all()[self.AD_HOC + n]


@pytest.fixture(scope="session")
def people() -> People:
    return People()


@cache
def _scorecard() -> Any:
    from lending.scoring.scorecard import Scorecard

    return Scorecard.load()


@cache
def _rows(band: str, shape: tuple[int, int, str, int, int]) -> tuple[int, ...]:
    """German rows in `band` for an application of this (amount, term, purpose, income, debt)."""
    from lending.sandbox.casting import rows_in_band
    from lending.scoring.profile import Application as ScoringApplication

    return tuple(rows_in_band(band, ScoringApplication(*shape), _scorecard()))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def cast(cloud: LocalCloud) -> Callable[..., int]:
    """Pin the applicant's bureau row to one the scorecard puts in `band`; returns the row."""

    def pin(applicant: Applicant, band: str, pick: int = 0, dishonest: bool = False) -> int:
        shape = (
            applicant.amount_fen,
            applicant.term_months,
            applicant.purpose,
            applicant.monthly_income_fen,
            applicant.monthly_debt_fen,
        )
        rows = _rows(band, shape)
        assert rows, f"no German row in band {band!r} for this application"
        row = rows[(pick * 7) % len(rows)]
        cloud.pin(applicant.identity.id_number, row, dishonest=dishonest)
        return row

    return pin


def consumer_applicant(api_url: str, who: SyntheticIdentity, **overrides: Any) -> Applicant:
    """The demo's consumer shape: an amount the scorecard's credit line comfortably covers."""
    params: dict[str, Any] = {
        "product_id": "consumer-flex",
        "amount_fen": 20_000_00,
        "term_months": 12,
        "repayment_method": "equal_instalment",
        "purpose": "electronics",
        "monthly_income_fen": 18_000_00,
        "monthly_debt_fen": 2_000_00,
    }
    params.update(overrides)
    return Applicant(api_url, who, **params)


def business_applicant(api_url: str, who: SyntheticIdentity, **overrides: Any) -> Applicant:
    params: dict[str, Any] = {
        "product_id": "business-operating",
        "amount_fen": 200_000_00,
        "term_months": 24,
        "repayment_method": "equal_principal",
        "purpose": "business",
        "monthly_income_fen": 60_000_00,
        "monthly_debt_fen": 2_000_00,
    }
    params.update(overrides)
    return Applicant(api_url, who, **params)


@pytest.fixture(scope="session")
def applicants(cloud: LocalCloud, people: People) -> Callable[..., Applicant]:
    """Factory: a consumer (or business=True) applicant with a fresh identity."""

    def make(business: bool = False, fixed: int | None = None, **overrides: Any) -> Applicant:
        """`fixed=n`: the n-th identity of the order-independent range (see People)."""
        build = business_applicant if business else consumer_applicant
        who = people.next() if fixed is None else people.fixed(fixed)
        return build(cloud.api_url, who, **overrides)

    return make


@pytest.fixture(scope="session")
def borrowers(
    applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> Callable[..., Applicant]:
    """Factory: an applicant taken through the whole flow to a disbursed loan, pinned to
    the `pick`-th approvable bureau row (each caller its own)."""

    def make(pick: int, timeout: float = 240.0) -> Applicant:
        applicant = applicants()
        cast(applicant, "approve", pick=pick)
        applicant.sign_in()
        applicant.apply()
        applicant.upload_documents()
        assert applicant.submit().status == 202
        assert applicant.wait_for("offered", timeout=timeout)["status"] == "offered"
        assert applicant.answer_offer(True).status == 202
        assert applicant.wait_for(timeout=timeout)["status"] == "disbursed"
        return applicant

    return make


@pytest.fixture
def draft(applicants: Callable[..., Applicant]) -> Applicant:
    """A signed-in applicant with one draft application (no documents uploaded)."""
    applicant = applicants()
    applicant.sign_in()
    applicant.apply()
    return applicant
