"""Fixtures shared by the whole suite.

The bundled cohort's seed (2019, 347 patients) takes tens of seconds to generate (the searches
aimed at the published numbers), so it is generated once per test run: the generator's tests
read it in memory and as written files, and the commands that write it (``synthesize``) are run
with that generation served to them (:func:`bundled_generate`), so they exercise the command and
its writers without generating the cohort again. The byte-for-byte comparison of the generation
with the bundled files (tests/synth/test_generator_bundled.py) is what ties them together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.synth import generator
from poems_cohort.synth.generator import DEFAULT_SEED, SyntheticCohort, generate_cohort
from tests.report.conftest import cohort_dir  # noqa: F401  (shared fixture)


@pytest.fixture(scope="session")
def bundled_generation(tmp_path_factory) -> tuple[SyntheticCohort, Path]:
    """The cohort of the default seed and the folder it was written to (CSV)."""
    cohort = generate_cohort(DEFAULT_SEED)
    out = tmp_path_factory.mktemp("bundled-seed")
    cohort.write(out)
    return cohort, out


#: The xdist group of every test that needs the bundled cohort's generation: a session fixture is
#: built once per worker, so those tests go to one worker (``--dist loadgroup``, pyproject.toml)
#: and the cohort is generated once per run while the other workers take the rest of the suite.
BUNDLED_GROUP = "bundled-generation"


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test using ``bundled_generation`` (directly or through another fixture) joins
    :data:`BUNDLED_GROUP`. Marked as each test is collected, so the mark is there before any
    ``pytest_collection_modifyitems`` hook (where xdist reads it), whatever their order."""
    if "bundled_generation" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.xdist_group(BUNDLED_GROUP))


def serving(cohort: SyntheticCohort) -> Callable[..., SyntheticCohort]:
    """``generate_cohort`` answering the call that made ``cohort`` (the default seed and size,
    default targets and streams) with ``cohort`` itself, and any other call as before."""
    original = generate_cohort

    def served(seed: int = DEFAULT_SEED, n_patients: int | None = None, targets: Any = None,
               streams: tuple[int, int] | None = None,
               block_size: int = generator.BLOCK_SIZE) -> SyntheticCohort:
        if (seed == cohort.seed and n_patients in (None, len(cohort.patients))
                and targets is None and streams is None):
            return cohort
        return original(seed, n_patients=n_patients, targets=targets, streams=streams,
                        block_size=block_size)

    return served


@pytest.fixture
def bundled_generate(bundled_generation, monkeypatch) -> Iterator[SyntheticCohort]:
    """For one test: the generator serves the session's cohort of the default seed
    (:func:`serving`) to whatever asks for it, the ``synthesize`` command included."""
    cohort = bundled_generation[0]
    monkeypatch.setattr(generator, "generate_cohort", serving(cohort))
    yield cohort


@pytest.fixture(scope="session")
def synthesized_parquet(tmp_path_factory, bundled_generation) -> Path:
    """The folder written by ``synthesize --format parquet`` (the default seed), run once per
    test run with the session's generation served to it."""
    out = tmp_path_factory.mktemp("pq") / "cohort"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator, "generate_cohort", serving(bundled_generation[0]))
        result = CliRunner().invoke(app, ["synthesize", "--out", str(out), "--format",
                                          "parquet"])
    assert result.exit_code == 0, result.output
    assert "patients.parquet" in result.output and "visits.parquet" in result.output
    return out
