"""The committed sample is the team's sample: the copy in tests/fixtures must not drift
from ../shared/samples/putin-elites-venezuela.txt, which not every clone has beside it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import SAMPLE_ARTICLE

TEAM_SAMPLE = (
    Path(__file__).resolve().parents[4] / "shared" / "samples" / "putin-elites-venezuela.txt"
)
# sha256 of the team's sample when it was copied; change both together.
TEAM_SAMPLE_SHA256 = "b519c9009dd2106a1c398ab26545e411180677ed8561463cedc1fc860204e746"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_committed_sample_is_the_team_sample() -> None:
    assert _sha256(SAMPLE_ARTICLE) == TEAM_SAMPLE_SHA256
    if TEAM_SAMPLE.exists():  # beside a working clone: the team's file has not moved on
        assert _sha256(TEAM_SAMPLE) == TEAM_SAMPLE_SHA256
