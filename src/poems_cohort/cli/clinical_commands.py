"""CLI commands of the clinical layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from poems_cohort.cli.app import app, console, err_console, input_errors_exit_2  # noqa: F401
