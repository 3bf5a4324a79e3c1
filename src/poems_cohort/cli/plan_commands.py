"""CLI commands of the analysis plan: ``plan init`` (a commented template) and ``plan show``
(the effective plan). Thin wrappers: parse, call the library, print, exit code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from poems_cohort.cli.app import PlanOption, app, console, input_errors_exit_2, say

plan_app = typer.Typer(no_args_is_help=True, help="The analysis plan: write a template, show "
                       "the effective plan.")
app.add_typer(plan_app, name="plan")


@plan_app.command("init")
def init(
    out: Annotated[Path, typer.Option(
        "--out", help="The TOML file to write (an existing file is never overwritten).")],
) -> None:
    """Write a commented template of every plan key with its default (test policy 'exact', the
    default for a new plan). Edit it and pass it to run, derive or validate with --plan."""
    from poems_cohort.errors import InputError, Problem
    from poems_cohort.study.plan_toml import template

    with input_errors_exit_2():
        if not out.parent.is_dir():
            raise InputError([Problem("--out", None, None, str(out),
                                      "a file in an existing folder")])
        try:  # exclusive creation: never replaces a file
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise InputError([Problem("--out", None, None, str(out),
                                      "a new file (it exists; nothing was written)")]) from None
        except OSError as exc:
            raise InputError([Problem("--out", None, None, str(out),
                                      f"a file the tool can create ({exc.strerror or exc})")]
                             ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(template())
        except OSError as exc:  # a full disk: remove the partial file this command created
            out.unlink(missing_ok=True)
            raise InputError([Problem("--out", None, None, str(out),
                                      f"a file the tool can write ({exc.strerror or exc})")]
                             ) from None
    say(f"{out}: plan template written.")


@plan_app.command("show")
def show(plan: PlanOption = None) -> None:
    """Print the effective plan as TOML: the default (preset leukemia-2019) or --plan."""
    from poems_cohort.study import load_plan
    from poems_cohort.study.plan_toml import plan_toml

    with input_errors_exit_2():
        effective = load_plan(plan)
    title = f"effective analysis plan ({effective.source or 'leukemia-2019'})"
    console.print(plan_toml(effective, comments=False, title=title), markup=False,
                  highlight=False, soft_wrap=True, end="")
