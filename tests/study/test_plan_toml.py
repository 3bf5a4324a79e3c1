"""``poems-cohort plan init`` / ``plan show`` and the preset ``leukemia-2019``: the template
names every key, reads back to the default plan with the ``exact`` policy, and never replaces a
file."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.study import AnalysisPlan, load_plan
from poems_cohort.study.plan import _FIELDS, PRESETS
from poems_cohort.study.plan_toml import plan_toml, template

ANY_PLAN = Path(__file__).resolve().parents[1] / "reference" / "study" / "any_plan" / "plan.toml"
DOC = (Path(__file__).resolve().parents[2] / "docs" / "study.md").read_text(encoding="utf-8")
runner = CliRunner()


def test_the_template_has_every_key_and_reads_back_with_the_exact_policy(tmp_path):
    text = template()
    assert set(tomllib.loads(text)) == set(_FIELDS)
    f = tmp_path / "plan.toml"
    f.write_text(text, encoding="utf-8")
    assert load_plan(f) == dataclasses.replace(AnalysisPlan(), test_policy="exact")


def test_every_plan_key_is_documented():
    for key in _FIELDS:
        assert f"`{key}`" in DOC, key
    for key in ("label", "column", "kind", "threshold", "level", "levels", "level_labels",
                "section", "mean_sd", "descriptive"):
        assert f"`{key}`" in DOC, key


def test_a_custom_plan_round_trips(tmp_path):
    plan = load_plan(ANY_PLAN)
    f = tmp_path / "again.toml"
    f.write_text(plan_toml(plan), encoding="utf-8")
    assert load_plan(f) == plan
    assert plan.subgroup("north").column == "centre"
    assert plan.study_columns()["ecog"] == "number"
    assert plan.study_columns()["centre"] == "text"
    assert plan.study_columns()["prior_radiation"] == "boolean"


def test_the_preset_is_the_default():
    assert load_plan("leukemia-2019") == AnalysisPlan() == PRESETS["leukemia-2019"]
    assert AnalysisPlan().test_policy == "spss"


def test_plan_init_writes_once_and_never_overwrites(tmp_path):
    out = tmp_path / "plan.toml"
    first = runner.invoke(app, ["plan", "init", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert out.read_text(encoding="utf-8") == template()
    out.write_text("# mine\n", encoding="utf-8")
    again = runner.invoke(app, ["plan", "init", "--out", str(out)])
    assert again.exit_code == 2
    assert "Traceback" not in again.output
    assert out.read_text(encoding="utf-8") == "# mine\n"


def test_plan_show_prints_the_effective_plan():
    result = runner.invoke(app, ["plan", "show", "--plan", str(ANY_PLAN)])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.stdout)
    assert shown["regimens"] == ["Lenalidomide-dex", "Auto-HCT", "Bortezomib-dex", "Daratumumab"]
    assert shown["subgroups"]["north"] == {"column": "centre", "values": ["North"],
                                           "title": "North centre"}
    default = runner.invoke(app, ["plan", "show"])
    assert tomllib.loads(default.stdout)["test_policy"] == "spss"
    bad = runner.invoke(app, ["plan", "show", "--plan", "no-such-plan"])
    assert bad.exit_code == 2 and "leukemia-2019" in bad.output
