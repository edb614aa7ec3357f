"""`lending models promote` records who promoted and why; a forced one must say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from lending.cli import main


def test_a_promotion_names_who_and_a_forced_one_why(tmp_path: Path) -> None:
    base = ["models", "promote", "--family", "admission-german", "--version", "v1"]
    registry = ["--registry", str(tmp_path)]
    with pytest.raises(SystemExit) as no_one:
        main([*base, *registry])  # --by is required
    assert no_one.value.code == 2
    with pytest.raises(SystemExit, match="says why"):
        main([*base, "--by", "risk:li", "--force", *registry])
    with pytest.raises(SystemExit, match="nothing registered"):
        main([*base, "--by", "risk:li", "--force", "--why", "bureau outage", *registry])
