"""Shared test plumbing: where the shared role-model assets live, and how tests get at them.

The protocol schemas, golden fixtures and spec live in ``../shared`` beside the repository (not in
it). Tests that need them use the `shared_protocol` fixture, or take a ``golden_artifact`` /
``golden_invalid`` argument, which is parametrized over the golden fixture files; either way they
are skipped, with the reason below, when the folder is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
SHARED_PROTOCOL = SHARED / "protocol"
SHARED_FIXTURES = SHARED_PROTOCOL / "fixtures"
MISSING_SHARED_REASON = (
    f"shared role-model assets not found at {SHARED_PROTOCOL} "
    "(expected a 'shared' folder beside the repository)"
)


def golden_fixture_files(*, invalid: bool) -> list[Path]:
    """Artifact fixtures: ``*-golden/*.json`` and top-level ``example-*.json``.

    ``router-golden/cases/`` is not included: those are router conformance cases, not artifacts.
    Files named ``*-invalid-*`` are returned when ``invalid`` is true, the others otherwise.
    """
    if not SHARED_FIXTURES.is_dir():
        return []
    files = [*SHARED_FIXTURES.glob("*-golden/*.json"), *SHARED_FIXTURES.glob("example-*.json")]
    return sorted(path for path in files if ("-invalid-" in path.name) == invalid)


def _params(files: list[Path]) -> list[object]:
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING_SHARED_REASON))]
    return [pytest.param(path, id=path.relative_to(SHARED_FIXTURES).as_posix()) for path in files]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argname, invalid in (("golden_artifact", False), ("golden_invalid", True)):
        if argname in metafunc.fixturenames:
            metafunc.parametrize(argname, _params(golden_fixture_files(invalid=invalid)))


@pytest.fixture
def shared_protocol() -> Path:
    """``../shared/protocol`` (schemas, fixtures); the test is skipped when it is missing."""
    if not SHARED_PROTOCOL.is_dir():
        pytest.skip(MISSING_SHARED_REASON)
    return SHARED_PROTOCOL
