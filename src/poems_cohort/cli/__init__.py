"""The command-line front: ``poems-cohort validate | derive | run | synthesize | reproduce | plan``.

``app.py`` holds the Typer app and the error handling shared by every command; each
``*_commands.py`` registers the commands of one layer as thin wrappers over the library.
"""

from __future__ import annotations

import os
import sys

from poems_cohort.cli import (  # noqa: F401
    clinical_commands,
    cohort_commands,
    plan_commands,
    study_commands,
    synth_commands,
)
from poems_cohort.cli.app import app

DEBUG_VARIABLE = "POEMS_COHORT_DEBUG"


def main() -> None:
    """Entry point of the ``poems-cohort`` command. Bad input exits 2 with its problems (in each
    command); anything else that goes wrong is a bug: one line and a pointer, exit 1, never a
    traceback (``POEMS_COHORT_DEBUG=1`` shows it)."""
    try:
        code = app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("poems-cohort: interrupted; the output folder was left as it was.\n")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        from poems_cohort.cli.app import literal

        sys.stderr.write(
            f"poems-cohort: internal error ({literal(type(exc).__name__)}: "
            f"{literal(exc)[:300]}). This is a bug in poems-cohort, not a problem found in your "
            f"data; the output folder was left as it was. Run again with {DEBUG_VARIABLE}=1 to "
            "see the details, and report them with the command you ran.\n")
        sys.exit(1)
    sys.exit(code)


__all__ = ["app", "main"]
