"""The committed sample is the team's sample (when the team folder is beside the clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE_ARTICLE

TEAM_SAMPLE = (
    Path(__file__).resolve().parents[4] / "shared" / "samples" / "putin-elites-venezuela.txt"
)


def test_committed_sample_matches_the_team_sample() -> None:
    if not TEAM_SAMPLE.exists():
        pytest.skip("the team's shared/ folder is not beside this clone")
    assert SAMPLE_ARTICLE.read_bytes() == TEAM_SAMPLE.read_bytes()
