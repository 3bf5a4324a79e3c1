"""What the commands print is literal: no rich markup, no emoji codes, no control character
reaches the terminal."""

from __future__ import annotations

from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.cli.app import literal
from tests.report.conftest import EXAMPLE


def test_control_and_format_characters_are_escaped():
    assert literal("a\x1b[31mb\rc\nd\x00e\u202ef\u200bg\x85h") == \
        "a\\x1b[31mb\\rc\\nd\\x00e\\u202ef\\u200bg\\x85h"
    assert literal("R:100:x [red]y[/] é ✓") == "R:100:x [red]y[/] é ✓"


def _hostile_cohort(tmp_path, value: str):
    folder = tmp_path / "cohort"
    folder.mkdir()
    lines = (EXAMPLE / "patients.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("sex")] = value
    (folder / "patients.csv").write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n",
                                         encoding="utf-8")
    (folder / "visits.csv").write_bytes((EXAMPLE / "visits.csv").read_bytes())
    return folder


def test_a_value_with_emoji_code_markup_and_an_escape_prints_literally(tmp_path):
    value = "R:100:x[bold]B[/]\x1b]0;owned\x07"
    folder = _hostile_cohort(tmp_path, value)
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    out = result.output
    assert "R:100:x[bold]B[/]" in out
    assert "\U0001f4af" not in out and "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07" in out


def test_an_out_path_with_markup_prints_literally(tmp_path):
    out = tmp_path / "[red]report[bold] :100:"
    result = CliRunner().invoke(app, ["derive", str(EXAMPLE), "--out", str(out) + ".csv"])
    assert result.exit_code == 0, result.output
    assert "[red]report[bold] :100:.csv" in result.output
    assert "\U0001f4af" not in result.output
