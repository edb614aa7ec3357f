"""Composition root: builds each adapter once per process (cold start), from settings.

Handlers ask this module for services; the local cloud and tests replace pieces with
`override(...)` instead of patching.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from lending.aws.dynamo import DynamoApplicationRepository
from lending.aws.funders import DynamoFunderRepository
from lending.aws.kms import KmsBlindIndex, KmsEnvelopeCipher, KmsMac, KmsSigner
from lending.aws.loans import DynamoLoanRepository
from lending.aws.models import S3DynamoModelRegistry
from lending.aws.s3 import S3DocumentStore
from lending.aws.settings import Settings, settings
from lending.aws.sqs import SqsFundQueue
from lending.aws.stepfunctions import StepFunctionsWorkflow
from lending.ports import Clock, SystemClock

if TYPE_CHECKING:
    from lending.applications.service import ApplicationService
    from lending.applications.steps import OriginationSteps
    from lending.auth import SessionIssuer
    from lending.modelling.retrain import Retrainer
    from lending.ocr.ports import OcrEngine
    from lending.sandbox.providers import Directory, Faults
    from lending.scoring.monitoring import PopulationMonitor
    from lending.scoring.registry import ShadowModel
    from lending.scoring.scorecard import Scorecard
    from lending.scoring.sources import DataSource

_overrides: dict[str, Any] = {}
_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3)


def override(**parts: Any) -> None:
    _overrides.update(parts)


def reset() -> None:
    """Forget every built adapter (the local cloud calls this when it boots or stops)."""
    _overrides.clear()
    settings.cache_clear()
    for factory in _FACTORIES:
        factory.cache_clear()


def _get(name: str, build: Any) -> Any:
    return _overrides[name] if name in _overrides else build()


@cache
def client(service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=settings().region, config=_BOTO_CONFIG
    )


def config() -> Settings:
    return settings()


def clock() -> Clock:
    result: Clock = _get("clock", SystemClock)
    return result


@cache
def cipher() -> KmsEnvelopeCipher:
    return KmsEnvelopeCipher(client("kms"), settings().data_key_id)


@cache
def blind_index() -> KmsBlindIndex:
    return KmsBlindIndex(KmsMac(client("kms"), settings().index_key_id))


@cache
def session_mac() -> KmsMac:
    return KmsMac(client("kms"), settings().session_key_id)


@cache
def signer() -> KmsSigner:
    return KmsSigner(client("kms"), settings().signing_key_id)


@cache
def applications() -> DynamoApplicationRepository:
    s = settings()
    return DynamoApplicationRepository(client("dynamodb"), s.applications_table, s.documents_table)


@cache
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


@cache
def workflow() -> StepFunctionsWorkflow:
    s = settings()
    return StepFunctionsWorkflow(client("stepfunctions"), s.state_machine_arn, s.timeouts())


@cache
def funders() -> DynamoFunderRepository:
    return DynamoFunderRepository(client("dynamodb"), settings().funders_table)


@cache
def loans() -> DynamoLoanRepository:
    return DynamoLoanRepository(client("dynamodb"), settings().loans_table)


@cache
def fund_queue() -> SqsFundQueue:
    return SqsFundQueue(client("sqs"), json.loads(settings().funder_queues))


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


@cache
def sources() -> dict[str, DataSource]:
    if not settings().sandbox:
        # Production data-source adapters (PBoC credit report, third-party bureaus) are
        # contracted per deployment; refusing beats silently scoring on sandbox data.
        raise RuntimeError("no production data sources are configured")
    from lending.sandbox.providers import all_providers

    providers = all_providers(faults=sandbox_faults(), clock=clock(), directory=sandbox_directory())
    return {p.name: p for p in providers}


@cache
def model_registry() -> S3DynamoModelRegistry:
    s = settings()
    if not s.model_registry_table:
        raise RuntimeError("LENDING_MODEL_REGISTRY_TABLE is not set")
    return S3DynamoModelRegistry(
        client("dynamodb"), s.model_registry_table, client("s3"), s.documents_bucket
    )


@cache
def scorecard() -> Scorecard:
    """The admission champion from the registry; the packaged German scorecard by default."""
    from lending.scoring.scorecard import Scorecard

    fallback = Scorecard.load()
    if "scorecard" in _overrides or not settings().model_registry_table:
        result: Scorecard = _get("scorecard", lambda: fallback)
        return result
    from lending.scoring.registry import load_champion

    return load_champion(model_registry(), settings().admission_family, fallback)


@cache
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


@cache
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


@cache
def retrainer() -> Retrainer:
    """Scheduled retraining (the retrain function's container image carries scikit-learn)."""
    from lending.modelling.retrain import Retrainer

    s = settings()
    return Retrainer(model_registry(), clock(), max_age_days=s.retrain_max_age_days)


@cache
def ocr_engine() -> OcrEngine:
    from lending.ocr.rapid import RapidOcrEngine

    engine: OcrEngine = _get("ocr", RapidOcrEngine)
    return engine


@cache
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


@cache
def steps() -> OriginationSteps:
    from lending.applications.steps import OriginationSteps

    return OriginationSteps(
        repo=applications(),
        documents=documents(),
        cipher=cipher(),
        clock=clock(),
        ocr=ocr_engine(),
        sources=sources(),
        scorecard=scorecard(),
        challengers=challengers(),
        signer=signer(),
        funders=funders(),
        fund_queue=fund_queue(),
        loans=loans(),
    )


@cache
def sessions() -> SessionIssuer:
    from lending.auth import SessionIssuer

    return SessionIssuer(session_mac())


_FACTORIES = [
    sandbox_faults,
    sandbox_directory,
    sources,
    scorecard,
    challengers,
    model_registry,
    model_monitor,
    retrainer,
    application_service,
    steps,
    sessions,
    client,
    cipher,
    blind_index,
    session_mac,
    signer,
    applications,
    documents,
    workflow,
    funders,
    loans,
    fund_queue,
]
