"""The command-line front: ``poems-cohort validate | derive | run | synthesize | reproduce | plan``.

``app.py`` holds the Typer app and the error handling shared by every command; each
``*_commands.py`` registers the commands of one layer as thin wrappers over the library.
"""

from __future__ import annotations

import sys

from poems_cohort.cli import (  # noqa: F401
    clinical_commands,
    cohort_commands,
    plan_commands,
    study_commands,
    synth_commands,
)
from poems_cohort.cli.app import app


def main() -> None:
    """Entry point of the ``poems-cohort`` command."""
    sys.exit(app())


__all__ = ["app", "main"]
