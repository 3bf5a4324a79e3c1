"""The progress of a long command on the terminal.

Each finished step prints one line, as it always has (``✓ step (1.23 s)``). On a terminal, a
step that runs longer than ``after`` seconds (2 s) also shows a live line below them: a spinner,
the step's number, how many steps are done and the seconds so far, e.g.
``⠋ step 5 running: 3.2 s (4 steps done, 7.9 s in all)``. The live line is removed when the
command ends. ``--quiet`` prints nothing; when the output is not a terminal (a pipe, a file, a
log) only the plain lines are printed, with no escape codes. Step names come from the library and
are printed literally (:func:`poems_cohort.cli.app.literal`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from poems_cohort.cli.app import console as default_console
from poems_cohort.cli.app import literal

#: Seconds a step runs before the live line appears.
SHOW_AFTER = 2.0


class StepDisplay:
    """A context manager whose value is the ``progress(step, seconds)`` callback of a workflow
    call (see ``workflow.Steps``).

    ``label``: what the live line calls the running step (``None``: ``step N``, numbered from
    the steps finished so far). ``clock``: seconds, monotonic (replaceable in tests)."""

    def __init__(self, quiet: bool = False, *, console: Console | None = None,
                 label: str | None = None, after: float = SHOW_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet = quiet
        self.console = console or default_console
        self.label = label
        self.after = after
        self.clock = clock
        self.done = 0
        self.total_done = 0.0
        self.started = 0.0
        self.live: Live | None = None
        self._lock = threading.Lock()
        self._spinner = Spinner("dots", style="cyan")

    @property
    def live_enabled(self) -> bool:
        """Whether the live line may show: not quiet, and the output is a terminal that can
        move its cursor (not ``TERM=dumb``)."""
        return (not self.quiet and self.console.is_terminal
                and not self.console.is_dumb_terminal)

    def __enter__(self) -> StepDisplay:
        self.started = self.clock()
        if self.live_enabled:
            self.live = Live(console=self.console, transient=True, refresh_per_second=4,
                             get_renderable=self.renderable, redirect_stdout=False,
                             redirect_stderr=False)
            self.live.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __call__(self, step: str, seconds: float) -> None:
        """One step finished: print its line and start timing the next."""
        with self._lock:
            self.done += 1
            self.total_done += seconds
            self.started = self.clock()
        if self.quiet:
            return
        line = Text.assemble(("✓ ", "green"), literal(step), (f" ({seconds:.2f} s)", "dim"))
        self.console.print(line, soft_wrap=True, highlight=False)

    def status(self) -> str | None:
        """The text of the live line, or ``None`` while the running step is under ``after``."""
        with self._lock:
            running = self.clock() - self.started
            done, total = self.done, self.total_done
        if running < self.after:
            return None
        name = literal(self.label) if self.label is not None else f"step {done + 1}"
        counts = f"{done} step{'s' if done != 1 else ''} done, {total + running:.1f} s in all"
        return f"{name} running: {running:.1f} s ({counts})"

    def renderable(self) -> RenderableType:
        """What the live region shows now: nothing, or the spinner and :meth:`status`."""
        text = self.status()
        if text is None:
            return Group()
        self._spinner.update(text=Text(text))
        return self._spinner


def step_display(quiet: bool = False, *, label: str | None = None) -> StepDisplay:
    """The progress display of a command (see the module's docstring)."""
    return StepDisplay(quiet, label=label)
