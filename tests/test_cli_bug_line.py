"""A bug (an exception that is not bad input) prints one line and a pointer and exits 1, never a
traceback; bad input still exits 2 with its problems."""

from __future__ import annotations

import sys

import pytest

from poems_cohort import cli, workflow


def _main(monkeypatch, capsys, argv: list[str]) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["poems-cohort", *argv])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr().err


def test_a_bug_is_one_line_with_a_pointer_and_exit_1(monkeypatch, capsys, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("boom \x1b[31m")

    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)
    monkeypatch.setattr(workflow, "run", broken)
    code, err = _main(monkeypatch, capsys, ["run", "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "internal error (RuntimeError: boom \\x1b[31m)" in err  # printed literally
    assert cli.DEBUG_VARIABLE in err
    assert not (tmp_path / "out").exists()


def test_the_debug_variable_shows_the_exception(monkeypatch, capsys, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setenv(cli.DEBUG_VARIABLE, "1")
    monkeypatch.setattr(workflow, "run", broken)
    monkeypatch.setattr(sys, "argv", ["poems-cohort", "run", "--out", str(tmp_path / "o")])
    with pytest.raises(RuntimeError, match="boom"):
        cli.main()


def test_bad_input_still_exits_2_with_its_problem(monkeypatch, capsys, tmp_path):
    code, err = _main(monkeypatch, capsys, ["validate", str(tmp_path / "missing.csv")])
    assert code == 2
    assert "problem(s) found" in err and "Traceback" not in err
