"""A cohort larger than one block (``synth.generator.BLOCK_SIZE``) is generated and written in
blocks: deterministic, identifiers unique and ordered through the blocks, files that read back
as the concatenated cohort. A small block size stands in for the 100,000 of real use."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from poems_cohort.cohort import load_cohort
from poems_cohort.data import is_synthetic_cohort
from poems_cohort.synth import generator
from poems_cohort.synth.generator import (
    block_sizes,
    cohort_files,
    generate_blocks,
    generate_cohort,
    stage_cohort,
)
from poems_cohort.synth.survival_times import AIM_MAX_PATIENTS

#: two blocks just above the size from which the generator skips its searches aimed at the
#: printed numbers (see tests/synth/conftest.py): each builds in under a second
SEED = 5
BLOCK = AIM_MAX_PATIENTS + 1
SIZE = 2 * BLOCK


def test_block_sizes():
    assert block_sizes(347) == (347,)
    assert block_sizes(100_000) == (100_000,)
    assert block_sizes(100_001) == (50_001, 50_000)
    assert block_sizes(10**7) == (100_000,) * 100
    assert block_sizes(1201, 500) == (401, 400, 400)
    assert block_sizes(SIZE, BLOCK) == (BLOCK, BLOCK)
    assert sum(block_sizes(1_234_567)) == 1_234_567
    with pytest.raises(ValueError, match="positive"):
        block_sizes(0)


@pytest.fixture(scope="module")
def blocks():
    return list(generate_blocks(SEED, n_patients=SIZE, block_size=BLOCK))


@pytest.fixture(scope="module")
def whole():
    return generate_cohort(SEED, n_patients=SIZE, block_size=BLOCK)


def test_blocks_are_deterministic_and_make_the_whole_cohort(blocks, whole):
    assert [len(b.patients) for b in blocks] == [BLOCK, BLOCK]
    again = whole
    pd.testing.assert_frame_equal(again.patients,
                                  pd.concat([b.patients for b in blocks], ignore_index=True))
    pd.testing.assert_frame_equal(again.visits,
                                  pd.concat([b.visits for b in blocks], ignore_index=True))
    # the blocks are not copies of one another (each has its own random streams), and neither
    # is the one-block cohort of the same size and seed
    assert not blocks[0].patients["age"].equals(blocks[1].patients["age"])
    assert all(b.seed == SEED for b in blocks)


def test_identifiers_run_on_through_the_blocks(blocks):
    ids = pd.concat([b.patients["patient_id"] for b in blocks], ignore_index=True)
    assert ids.is_unique
    assert list(ids) == [f"SYN-{k:05d}" for k in range(1, SIZE + 1)]  # one width: 5 digits
    # within a block, in order of treatment start
    for b in blocks:
        assert b.patients["treatment_start"].is_monotonic_increasing
    visit_ids = pd.concat([b.visits["patient_id"] for b in blocks], ignore_index=True)
    assert visit_ids.is_monotonic_increasing
    for b in blocks:  # every visit belongs to a patient of its own block
        assert set(b.visits["patient_id"]) <= set(b.patients["patient_id"])


def test_a_cohort_of_one_block_is_generated_whole(monkeypatch):
    # up to one block, generate_blocks yields generate_cohort's cohort (so the bundled cohort
    # and every cohort up to 100,000 patients keep their bytes)
    calls = []

    def spy(seed, n_patients=None):
        calls.append((seed, n_patients))
        return "the cohort"

    monkeypatch.setattr(generator, "generate_cohort", spy)
    assert list(generate_blocks(SEED, n_patients=BLOCK, block_size=BLOCK)) == ["the cohort"]
    assert list(generate_blocks(SEED)) == ["the cohort"]
    assert calls == [(SEED, BLOCK), (SEED, None)]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_streamed_files_read_back(tmp_path, blocks, whole, file_format):
    staged = stage_cohort(iter(blocks), tmp_path / "syn", file_format)
    assert (staged.patients, staged.visits) == (SIZE, sum(len(b.visits) for b in blocks))
    patients_path, visits_path = staged.commit()
    assert is_synthetic_cohort(tmp_path / "syn")
    cohort = load_cohort(tmp_path / "syn")  # raises on any error
    assert len(cohort.patients) == SIZE
    assert len(cohort.visits) == staged.visits
    assert cohort.patients["patient_id"].is_unique
    if file_format == "csv":  # the streamed bytes are those of the whole cohort
        files = cohort_files(whole, "csv")
        assert patients_path.read_bytes() == files["patients.csv"]
        assert visits_path.read_bytes() == files["visits.csv"]
    else:  # one row group per block, the values of the whole cohort
        assert pq.ParquetFile(patients_path).metadata.num_row_groups == 2
        table = pq.read_table(patients_path)
        assert table.column("patient_id").to_pylist() == list(whole.patients["patient_id"])
        assert table.num_rows == SIZE and pq.read_table(visits_path).num_rows == staged.visits


def test_an_interrupted_stage_leaves_nothing(tmp_path, blocks):
    def failing():
        yield blocks[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stage_cohort(failing(), tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        stage_cohort(failing(), tmp_path / "old")
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["notes.txt"]
