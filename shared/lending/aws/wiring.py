"""Composition root: builds each adapter once per function (its cold start), from settings.

Handlers ask this module for services; the local cloud and tests replace pieces with
`override(...)` instead of patching.

Each origination state's function builds its own use case (`document_check`,
`scoring`, `finalization`, ...) with only the adapters it uses: Finalize never reads the
model registry, and with Sandbox=false only the steps that need contracted data sources
refuse (DataSourcesNotContracted), at run time, never at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import boto3
from botocore.config import Config

from lending.aws.dynamo import DynamoApplicationRepository
from lending.aws.funders import DynamoFunderRepository
from lending.aws.kms import KmsBlindIndex, KmsEnvelopeCipher, KmsMac, KmsSigner
from lending.aws.ledger import DynamoLedgerRepository
from lending.aws.loans import DynamoLoanRepository
from lending.aws.models import S3DynamoModelRegistry
from lending.aws.s3 import S3DocumentStore
from lending.aws.settings import Settings, settings
from lending.aws.sqs import SqsFundQueue
from lending.aws.stepfunctions import StepFunctionsWorkflow
from lending.ports import Clock, SystemClock
from lending.scoring.sources import DataSource, DataSourcesNotContracted

if TYPE_CHECKING:
    from lending.applications.casefile import CaseFiles
    from lending.applications.service import ApplicationService
    from lending.audit import PersonalDataAudit
    from lending.auth import SessionIssuer
    from lending.aws.finance import DynamoCollections
    from lending.aws.idempotency import IdempotentCreates
    from lending.aws.payments import DynamoOrders
    from lending.aws.servicing import (
        DynamoCheckpoints,
        DynamoLoanStates,
        DynamoNights,
        DynamoReminderLog,
        DynamoWorkIndex,
    )
    from lending.borrowers import BorrowerContracts
    from lending.finance_desk import FinanceDesk
    from lending.funding.confirmations import FundingConfirmations
    from lending.modelling.retrain import Retrainer
    from lending.ocr.ports import OcrEngine
    from lending.origination.booking import Booking
    from lending.origination.collection import DataCollection
    from lending.origination.disbursement import Disbursement
    from lending.origination.documents import DocumentCheck, ReuploadRequest
    from lending.origination.finalizing import Finalization
    from lending.origination.review import ReviewQueue
    from lending.origination.scoring import Scoring
    from lending.origination.signing import ContractSigning, OfferStep
    from lending.sandbox.providers import Directory, Faults
    from lending.scoring.monitoring import PopulationMonitor
    from lending.scoring.registry import ShadowModel
    from lending.scoring.scorecard import Scorecard
    from lending.servicing.finance_reports import FinanceReports
    from lending.servicing.nightly import PageRunner, Reminding, Servicing
    from lending.servicing.portfolio_views import PortfolioViews
    from lending.servicing.repayments import Repayments

_overrides: dict[str, Any] = {}
_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3)
P = ParamSpec("P")
T = TypeVar("T")


# -- one cold start per function -----------------------------------------------------------

_scope: ContextVar[str] = ContextVar("lending_wiring_scope", default="")


@contextmanager
def scope(function: str) -> Iterator[None]:
    """Build and cache adapters apart for `function` while it runs.

    AWS runs each function in its own process, with its own cold start; the local cloud
    runs them all in one and enters each function's scope around its invocation, so a
    function never uses what another one built (nor misses a call another one made).
    """
    token = _scope.set(function)
    try:
        yield
    finally:
        _scope.reset(token)


class _PerFunction(Generic[P, T]):
    """`functools.cache`, one cache per `scope` (plain calls share the "" scope)."""

    def __init__(self, build: Callable[P, T]) -> None:
        self._build = build
        self._built: dict[tuple[Any, ...], T] = {}
        self.__doc__ = build.__doc__
        _FACTORIES.append(self)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        key = (_scope.get(), args, tuple(sorted(kwargs.items())))
        if key not in self._built:
            # Two threads may both build on a first call; the first one built is kept.
            self._built.setdefault(key, self._build(*args, **kwargs))
        return self._built[key]

    def cache_clear(self) -> None:
        self._built.clear()


_FACTORIES: list[Any] = []


def _per_function(build: Callable[P, T]) -> _PerFunction[P, T]:
    return _PerFunction(build)


def override(**parts: Any) -> None:
    _overrides.update(parts)


def reset() -> None:
    """Forget every built adapter (the local cloud calls this when it boots or stops)."""
    _overrides.clear()
    settings.cache_clear()
    sandbox_faults.cache_clear()
    sandbox_directory.cache_clear()
    for factory in _FACTORIES:
        factory.cache_clear()


def _get(name: str, build: Any) -> Any:
    return _overrides[name] if name in _overrides else build()


@_per_function
def client(service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=settings().region, config=_BOTO_CONFIG
    )


def config() -> Settings:
    return settings()


def clock() -> Clock:
    result: Clock = _get("clock", SystemClock)
    return result


@_per_function
def cipher() -> KmsEnvelopeCipher:
    return KmsEnvelopeCipher(client("kms"), settings().data_key_id)


@_per_function
def blind_index() -> KmsBlindIndex:
    return KmsBlindIndex(KmsMac(client("kms"), settings().index_key_id))


@_per_function
def session_mac() -> KmsMac:
    return KmsMac(client("kms"), settings().session_key_id)


@_per_function
def signer() -> KmsSigner:
    return KmsSigner(client("kms"), settings().signing_key_id)


@_per_function
def applications() -> DynamoApplicationRepository:
    s = settings()
    return DynamoApplicationRepository(client("dynamodb"), s.applications_table, s.documents_table)


@_per_function
def documents() -> S3DocumentStore:
    s = settings()
    presign = None
    if s.s3_public_endpoint:
        presign = boto3.client(
            "s3",
            region_name=s.region,
            endpoint_url=s.s3_public_endpoint,
            config=Config(s3={"addressing_style": "path"}),
        )
    return S3DocumentStore(client("s3"), s.documents_bucket, presign)


@_per_function
def workflow() -> StepFunctionsWorkflow:
    s = settings()
    return StepFunctionsWorkflow(
        client("stepfunctions"), s.state_machine_arn, lambda: settings().timeouts()
    )


@_per_function
def funders() -> DynamoFunderRepository:
    return DynamoFunderRepository(client("dynamodb"), settings().funders_table)


@_per_function
def loans() -> DynamoLoanRepository:
    s = settings()
    return DynamoLoanRepository(client("dynamodb"), s.loans_table, s.funders_table)


@_per_function
def ledger() -> DynamoLedgerRepository:
    return DynamoLedgerRepository(client("dynamodb"), settings().loans_table)


@_per_function
def repayments() -> Repayments:
    from lending.aws.payments import SqsPaymentChannel
    from lending.servicing.repayments import Repayments

    s = settings()
    return Repayments(
        loans=loans(),
        ledger=ledger(),
        orders=payment_orders(),
        channel=SqsPaymentChannel(client("sqs"), s.payment_requests_queue),
        funders=funders(),
        clock=clock(),
        hooks=servicing(),
    )


@_per_function
def payment_orders() -> DynamoOrders:
    from lending.aws.payments import DynamoOrders

    return DynamoOrders(client("dynamodb"), settings().loans_table)


@_per_function
def loan_states() -> DynamoLoanStates:
    from lending.aws.servicing import DynamoLoanStates

    return DynamoLoanStates(client("dynamodb"), settings().loans_table)


@_per_function
def servicing() -> Servicing:
    from lending.aws.payments import SqsPaymentChannel
    from lending.finance.products import list_products
    from lending.servicing.nightly import Servicing, ServicingPolicy

    s = settings()
    return Servicing(
        loans=loans(),
        ledger=ledger(),
        states=loan_states(),
        orders=payment_orders(),
        channel=SqsPaymentChannel(client("sqs"), s.payment_requests_queue),
        clock=clock(),
        collections=collections(),
        policy=ServicingPolicy(thresholds={p.id: p.tier_thresholds for p in list_products()}),
    )


@_per_function
def collections() -> DynamoCollections:
    from lending.aws.finance import DynamoCollections

    return DynamoCollections(client("dynamodb"), settings().loans_table)


@_per_function
def finance_reports() -> FinanceReports:
    from lending.aws.finance import (
        DynamoDueInstalments,
        FunderPositionsFromTable,
        S3MailDelivery,
        SmtpRelay,
    )
    from lending.servicing.finance_reports import FinanceReports

    s = settings()
    return FinanceReports(
        due=DynamoDueInstalments(client("dynamodb"), s.loans_table),
        collections=collections(),
        nights=nights(),
        funders=FunderPositionsFromTable(funders(), list(json.loads(s.funder_queues))),
        delivery=S3MailDelivery(
            client("s3"),
            s.documents_bucket,
            SmtpRelay(s.finance_smtp_host, s.finance_smtp_port, s.finance_smtp_starttls)
            if s.finance_smtp_host
            else None,
            s.finance_sender,
            [r for r in s.finance_recipients.split(",") if r],
        ),
    )


@_per_function
def portfolio_views() -> PortfolioViews:
    from lending.aws.finance import DynamoDueInstalments
    from lending.servicing.portfolio_views import PortfolioViews

    return PortfolioViews(
        watch=work_index(),
        due=DynamoDueInstalments(client("dynamodb"), settings().loans_table),
        nights=nights(),
    )


@_per_function
def reminding() -> Reminding:
    from lending.aws.notify import SnsSms
    from lending.aws.servicing import DynamoReminderLog
    from lending.servicing.nightly import Reminding
    from lending.servicing.reminders import Channel, Channels

    s = settings()
    channels: list[Channel] = []
    if s.wechat_reminder_template_id and s.wechat_secret_arn:
        from lending.aws.wechat import WeChatApi, WeChatSubscriptionMessages, secret_credentials

        api = WeChatApi(
            s.wechat_api_base,
            secret_credentials(client("secretsmanager"), s.wechat_secret_arn),
            clock().now,
        )
        channels.append(
            WeChatSubscriptionMessages(
                api, s.wechat_reminder_template_id, s.wechat_miniprogram_state
            )
        )
    channels.append(SnsSms(client("sns"), applications(), cipher()))
    return Reminding(
        loans=loans(),
        ledger=ledger(),
        log=DynamoReminderLog(client("dynamodb"), s.loans_table),
        notifier=Channels(channels),
        clock=clock(),
    )


@_per_function
def work_index() -> DynamoWorkIndex:
    from lending.aws.servicing import DynamoWorkIndex

    return DynamoWorkIndex(client("dynamodb"), settings().loans_table)


@_per_function
def checkpoints() -> DynamoCheckpoints:
    from lending.aws.servicing import DynamoCheckpoints

    return DynamoCheckpoints(client("dynamodb"), settings().loans_table)


@_per_function
def page_runner() -> PageRunner:
    from lending.servicing.nightly import PageRunner

    return PageRunner(work_index(), checkpoints(), settings().servicing_page_size)


@_per_function
def nights() -> DynamoNights:
    from lending.aws.servicing import DynamoNights

    return DynamoNights(client("dynamodb"), settings().loans_table)


@_per_function
def fund_queue() -> SqsFundQueue:
    return SqsFundQueue(client("sqs"), json.loads(settings().funder_queues))


# The sandbox providers' outside world (who is pinned to which row, which source is down)
# is one for the whole process, as the real bureaus are one for every function.
@cache
def sandbox_faults() -> Faults:
    from lending.sandbox.providers import Faults

    faults: Faults = _get("faults", Faults)
    return faults


@cache
def sandbox_directory() -> Directory:
    from lending.sandbox.providers import Directory

    directory: Directory = _get("directory", Directory)
    return directory


class _UncontractedSources(Mapping[str, DataSource]):
    """Sandbox=false: every source refuses, by name, when a step asks for it."""

    def __getitem__(self, source: str) -> DataSource:
        raise DataSourcesNotContracted(
            f"no contracted adapter serves the {source!r} data source: Sandbox=false serves "
            "no sandbox data, and the production adapters (PBoC credit report, third-party "
            "bureaus, business registry, tax, judicial) are contracted per deployment"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@_per_function
def sources() -> Mapping[str, DataSource]:
    if not settings().sandbox:
        # Production data-source adapters (PBoC credit report, third-party bureaus) are
        # contracted per deployment; refusing beats silently scoring on sandbox data.
        return _UncontractedSources()
    from lending.sandbox.providers import all_providers

    providers = all_providers(faults=sandbox_faults(), clock=clock(), directory=sandbox_directory())
    return {p.name: p for p in providers}


@_per_function
def model_registry() -> S3DynamoModelRegistry:
    s = settings()
    if not s.model_registry_table:
        raise RuntimeError("LENDING_MODEL_REGISTRY_TABLE is not set")
    return S3DynamoModelRegistry(
        client("dynamodb"), s.model_registry_table, client("s3"), s.documents_bucket
    )


@_per_function
def scorecard() -> Scorecard:
    """The admission champion from the registry; the packaged German scorecard by default."""
    from lending.scoring.scorecard import Scorecard

    fallback = Scorecard.load()
    if "scorecard" in _overrides or not settings().model_registry_table:
        result: Scorecard = _get("scorecard", lambda: fallback)
        return result
    from lending.scoring.registry import load_champion

    return load_champion(model_registry(), settings().admission_family, fallback)


@_per_function
def challengers() -> list[ShadowModel]:
    """Challenger models that score every application in shadow (recorded, never decide)."""
    if "challengers" in _overrides:
        result: list[ShadowModel] = _overrides["challengers"]
        return result
    if not settings().model_registry_table:
        return []
    from lending.scoring.registry import load_challengers

    return load_challengers(model_registry(), settings().admission_family)


def _registry_or_none() -> S3DynamoModelRegistry | None:
    return model_registry() if settings().model_registry_table else None


@_per_function
def model_monitor() -> PopulationMonitor:
    """The weekly PSI check of the admission champion on the last 7 days' decisions."""
    from lending.scoring.monitoring import PopulationMonitor
    from lending.scoring.registry import champion_artefact
    from lending.scoring.scorecard import DEFAULT_ARTEFACT

    s = settings()
    artefact = champion_artefact(_registry_or_none(), s.admission_family, DEFAULT_ARTEFACT)
    return PopulationMonitor(
        applications(),
        clock(),
        artefact,
        threshold=s.psi_alarm_threshold,
        min_sample=s.psi_min_sample,
    )


@_per_function
def retrainer() -> Retrainer:
    """Scheduled retraining (the retrain function's container image carries scikit-learn)."""
    from lending.modelling.retrain import Retrainer

    s = settings()
    return Retrainer(model_registry(), clock(), max_age_days=s.retrain_max_age_days)


@_per_function
def ocr_engine() -> OcrEngine:
    from lending.ocr.rapid import RapidOcrEngine

    engine: OcrEngine = _get("ocr", RapidOcrEngine)
    return engine


@_per_function
def application_service() -> ApplicationService:
    from lending.applications.service import ApplicationService

    return ApplicationService(
        repo=applications(),
        documents=documents(),
        workflow=workflow(),
        cipher=cipher(),
        blind_index=blind_index(),
        clock=clock(),
    )


@_per_function
def borrower_contracts() -> BorrowerContracts:
    from lending.borrowers import BorrowerContracts

    return BorrowerContracts(applications=application_service(), links=documents(), clock=clock())


@_per_function
def sent_reminders() -> DynamoReminderLog:
    """The reminders log, read for the borrower's messages page."""
    from lending.aws.servicing import DynamoReminderLog

    return DynamoReminderLog(client("dynamodb"), settings().loans_table)


@_per_function
def personal_data_audit() -> PersonalDataAudit:
    """Staff views of personal data, in the applications table (lending.aws.audit)."""
    from lending.audit import PersonalDataAudit
    from lending.aws.audit import DynamoAuditLog

    return PersonalDataAudit(
        DynamoAuditLog(client("dynamodb"), settings().applications_table), clock()
    )


@_per_function
def case_files() -> CaseFiles:
    from lending.applications.casefile import CaseFiles

    return CaseFiles(
        applications=application_service(), links=documents(), audit=personal_data_audit()
    )


@_per_function
def finance_desk() -> FinanceDesk:
    from lending.finance_desk import FinanceDesk

    return FinanceDesk(
        funders=funders(), funder_ids=list(json.loads(settings().funder_queues)), files=documents()
    )


# -- the origination steps: each function builds its own use case, and only its adapters --


@_per_function
def document_check() -> DocumentCheck:
    from lending.origination.documents import DocumentCheck

    return DocumentCheck(
        repo=applications(), clock=clock(), documents=documents(), cipher=cipher(), ocr=ocr_engine()
    )


@_per_function
def reupload_request() -> ReuploadRequest:
    from lending.origination.documents import ReuploadRequest

    return ReuploadRequest(repo=applications(), clock=clock())


@_per_function
def data_collection() -> DataCollection:
    from lending.origination.collection import DataCollection

    return DataCollection(repo=applications(), clock=clock(), cipher=cipher(), sources=sources())


@_per_function
def scoring() -> Scoring:
    from lending.origination.scoring import Scoring

    if not settings().sandbox:
        # No contracted data sources yet: the step refuses to score (with a recorded
        # reason) rather than decide on sandbox data or on none.
        return Scoring(repo=applications(), clock=clock(), cipher=cipher(), scorecard=None)
    return Scoring(
        repo=applications(),
        clock=clock(),
        cipher=cipher(),
        scorecard=scorecard(),
        challengers=challengers(),
    )


@_per_function
def review_queue() -> ReviewQueue:
    from lending.origination.review import ReviewQueue

    return ReviewQueue(repo=applications(), clock=clock())


@_per_function
def offer_step() -> OfferStep:
    from lending.origination.signing import OfferStep

    return OfferStep(repo=applications(), clock=clock())


@_per_function
def contract_signing() -> ContractSigning:
    from lending.origination.signing import ContractSigning

    return ContractSigning(
        repo=applications(), clock=clock(), documents=documents(), cipher=cipher(), signer=signer()
    )


@_per_function
def disbursement() -> Disbursement:
    from lending.origination.disbursement import Disbursement

    return Disbursement(
        repo=applications(),
        clock=clock(),
        cipher=cipher(),
        signer=signer(),
        funders=funders(),
        fund_queue=fund_queue(),
    )


@_per_function
def booking() -> Booking:
    from lending.origination.booking import Booking

    return Booking(repo=applications(), clock=clock(), loans=loans())


@_per_function
def finalization() -> Finalization:
    from lending.origination.finalizing import Finalization

    return Finalization(repo=applications(), clock=clock(), funders=funders())


@_per_function
def idempotent_creates() -> IdempotentCreates:
    from lending.aws.idempotency import IdempotentCreates

    return IdempotentCreates(client("dynamodb"), settings().idempotency_table)


@_per_function
def funding_confirmations() -> FundingConfirmations:
    from lending.funding.confirmations import FundingConfirmations

    return FundingConfirmations(
        repo=applications(),
        funders=funders(),
        loans=loans(),
        workflow=workflow(),
        clock=clock(),
    )


@_per_function
def sessions() -> SessionIssuer:
    from lending.auth import SessionIssuer

    return SessionIssuer(session_mac())
