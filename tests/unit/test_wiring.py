"""The composition root builds per function: a step builds (and touches) only the
adapters it uses, and with Sandbox=false only the data sources and scoring refuse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lending.aws import wiring
from lending.aws.settings import settings
from lending.scoring.sources import DataSourcesNotContracted
from tests.fakes import PRODUCTION_SETTINGS


def _forget() -> None:
    """Built adapters and settings only: a local cloud of the session keeps its overrides."""
    settings.cache_clear()
    for factory in wiring._FACTORIES:
        factory.cache_clear()


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in PRODUCTION_SETTINGS.items():
        monkeypatch.setenv(name, value)
    _forget()
    with wiring.scope("unit-test-wiring"):
        yield
    _forget()


def _built() -> set[str]:
    scope = "unit-test-wiring"
    return {f._build.__name__ for f in wiring._FACTORIES if any(k[0] == scope for k in f._built)}


def test_a_step_builds_only_what_it_uses(production: None) -> None:
    wiring.finalization()
    assert _built() == {"finalization", "applications", "funders", "client"}
    assert "model_registry" not in _built()  # Finalize never reads the model registry


def test_production_refuses_each_data_source_by_name(production: None) -> None:
    with pytest.raises(DataSourcesNotContracted, match="'credit_bureau'"):
        wiring.data_collection().sources["credit_bureau"]
    assert wiring.scoring().scorecard is None  # the step refuses when it would score
    assert "model_registry" not in _built()  # refused before any registry read


def test_each_function_builds_its_own_adapters(production: None) -> None:
    with wiring.scope("unit-test-finalize"):
        finalize = wiring.applications()
        assert wiring.applications() is finalize
    with wiring.scope("unit-test-book"):
        assert wiring.applications() is not finalize
    wiring.applications.cache_clear()
    with wiring.scope("unit-test-finalize"):
        assert wiring.applications() is not finalize
