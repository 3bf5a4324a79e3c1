"""The progress display of long commands: plain lines off a terminal, a live line with counts on
a terminal once a step runs past the threshold, nothing when quiet, every name printed
literally."""

from __future__ import annotations

import io
import re
import time

from rich.console import Console
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.cli.progress import SHOW_AFTER, StepDisplay

ESC = "\x1b"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _console(terminal: bool, term: str = "xterm-256color") -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=terminal, width=100, emoji=False,
                      highlight=False, markup=False, soft_wrap=True,
                      _environ={"TERM": term})
    return console, buf


def test_threshold_is_about_two_seconds():
    assert 1.0 <= SHOW_AFTER <= 3.0


def test_off_a_terminal_only_the_plain_lines_are_printed():
    console, buf = _console(terminal=False)
    with StepDisplay(console=console, after=0.0) as progress:
        assert progress.live is None
        progress("read the cohort", 1.234)
        progress("derive endpoints", 0.5)
        time.sleep(0.05)
    assert buf.getvalue() == "✓ read the cohort (1.23 s)\n✓ derive endpoints (0.50 s)\n"


def test_quiet_prints_nothing_even_on_a_terminal():
    console, buf = _console(terminal=True)
    with StepDisplay(True, console=console, after=0.0) as progress:
        assert progress.live is None
        progress("read the cohort", 1.0)
    assert buf.getvalue() == ""


def test_a_dumb_terminal_gets_no_live_line():
    console, buf = _console(terminal=True, term="dumb")
    with StepDisplay(console=console, after=0.0) as progress:
        assert progress.live is None
        progress("a", 0.25)
    assert "a (0.25 s)" in buf.getvalue()


def test_the_live_line_appears_only_after_the_threshold_with_counts():
    clock = Clock()
    console, _ = _console(terminal=True)
    display = StepDisplay(console=console, after=2.0, clock=clock)
    display.__enter__()
    try:
        assert display.status() is None  # just started
        clock.now += 1.9
        assert display.status() is None  # under 2 s: nothing shown
        clock.now += 0.2
        assert display.status() == "step 1 running: 2.1 s (0 steps done, 2.1 s in all)"
        display("read the cohort", 2.5)  # a step finishes: the next one starts at 0
        assert display.status() is None
        clock.now += 3.0
        assert display.status() == "step 2 running: 3.0 s (1 step done, 5.5 s in all)"
        display("derive endpoints", 3.0)
        clock.now += 2.0
        assert display.status() == "step 3 running: 2.0 s (2 steps done, 7.5 s in all)"
    finally:
        display.__exit__(None, None, None)
    assert display.live is None


def test_on_a_terminal_the_live_line_is_drawn_and_removed():
    console, buf = _console(terminal=True)
    with StepDisplay(console=console, after=0.0, label="read and validate the cohort") as p:
        assert p.live is not None
        time.sleep(0.6)  # a few refreshes at 4 per second
        p("read and validate the cohort", 0.6)
    out = buf.getvalue()
    assert "read and validate the cohort running:" in out
    assert "(0 steps done," in out
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert "✓ read and validate the cohort (0.60 s)\n" in plain
    assert f"{ESC}[?25h" in out  # the cursor is shown again
    assert out.endswith(f"{ESC}[2K")  # and the live line erased (transient)


def test_step_names_and_labels_print_literally():
    console, buf = _console(terminal=False)
    clock = Clock()
    with StepDisplay(console=console, label="x\x1b[31my", clock=clock, after=0.0) as progress:
        assert progress.status().startswith("x\\x1b[31my running")
        progress("evil\x1b]0;title\x07\u202e", 0.1)
    out = buf.getvalue()
    assert ESC not in out and "\u202e" not in out
    assert "evil\\x1b]0;title\\x07\\u202e" in out


def test_run_off_a_terminal_prints_one_line_per_step_and_no_escape_codes(tmp_path):
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    steps = [line for line in lines if line.startswith("✓ ")]
    assert len(steps) >= 5
    assert all(re.fullmatch(r"✓ .+ \(\d+\.\d\d s\)", line) for line in steps)
    assert ESC not in result.output and "running:" not in result.output
    assert lines[-1].startswith("347 patients analysed")
