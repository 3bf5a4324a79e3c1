"""Every input of tests/bad_inputs/ produces the problem documented in EXPECTED.toml.

An entry's ``loader`` says how the input is read: a cohort (default), a mapping file applied to
examples/ten-patients, or an analysis plan."""

import tomllib
from pathlib import Path

import pytest

from poems_cohort.cohort import load_cohort
from poems_cohort.errors import InputError
from poems_cohort.study.plan import load_plan

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"
LOADERS = {
    "cohort": lambda path: load_cohort(path),
    "mapping": lambda path: load_cohort(EXAMPLE, mapping=path),  # a mapping file of the example
    "plan": lambda path: load_plan(path),
}
EXPECTED = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))


def test_the_corpus_has_at_least_twenty_documented_inputs_and_nothing_undocumented():
    inputs = {p.name for p in CORPUS.iterdir()} - {"EXPECTED.toml", "make_corpus.py"}
    inputs -= {"__pycache__"}
    assert len(EXPECTED) >= 20
    assert inputs == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_is_reported_precisely(name):
    expected = EXPECTED[name]
    with pytest.raises(InputError) as caught:
        LOADERS[expected.get("loader", "cohort")](CORPUS / name)
    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == expected.get("errors", 1), [str(p) for p in errors]
    matching = [
        p for p in errors
        if expected["message"] in p.expected
        and p.row == expected.get("row")
        and p.column == expected.get("column")
        and ("value" not in expected or p.value == expected["value"])
    ]
    assert matching, [str(p) for p in errors]
    assert all(p.file.startswith(str(CORPUS)) for p in errors)
