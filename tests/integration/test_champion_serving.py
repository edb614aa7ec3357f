"""The score step serves the champion registered in the model registry (S3 + table)."""

from __future__ import annotations

import pytest

from infra.localcloud import LocalCloud
from lending.aws import wiring
from lending.scoring.registry import champion, load_champion
from lending.scoring.scorecard import Scorecard

pytestmark = [pytest.mark.localcloud]


def test_the_local_cloud_registers_a_champion_and_scoring_loads_it(cloud: LocalCloud) -> None:
    registry = wiring.model_registry()
    family = wiring.config().admission_family
    record = champion(registry, family)
    assert record is not None and record.algorithm == "scorecard"
    served = wiring.scorecard()
    assert served.version == record.version
    # Loaded from the registry's bytes (checksum-checked), not the packaged fallback object.
    fallback = Scorecard.load()
    assert load_champion(registry, family, fallback) is not fallback
