"""``poems-cohort --help`` stays fast: building the help of every command imports none of the
heavy libraries (pandas, scipy, matplotlib, pyarrow, pandera, openpyxl, ...). The check reads
``sys.modules`` in a fresh interpreter, so it does not depend on the machine's speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "pyarrow", "pandera", "openpyxl",
         "python_calamine", "pyreadstat", "statsmodels", "lifelines", "jinja2")

SRC = str(Path(__file__).resolve().parents[2] / "src")

PROBE = """
import json, sys
from typer.testing import CliRunner
from poems_cohort.cli import app
runner = CliRunner()
codes = {}
for args in json.loads(sys.argv[1]):
    result = runner.invoke(app, args)
    codes[" ".join(args)] = [result.exit_code, "Usage" in result.output]
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"codes": codes, "loaded": loaded}))
"""

HELP_ARGS = [["--help"], ["--version"], ["validate", "--help"], ["derive", "--help"],
             ["run", "--help"], ["synthesize", "--help"], ["reproduce", "--help"],
             ["plan", "--help"], ["plan", "init", "--help"], ["plan", "show", "--help"]]


def probe(argv: list[list[str]]) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_of_every_command_imports_no_heavy_library() -> None:
    found = probe(HELP_ARGS)
    for args, (code, usage) in found["codes"].items():
        assert code == 0, args
        assert usage or args == "--version", args
    assert not set(HEAVY) & set(found["loaded"])


def test_the_probe_sees_a_heavy_import() -> None:
    """The check can fail: a command that needs pandas does import it under the same probe."""
    found = probe([["plan", "show"]])
    assert found["codes"]["plan show"][0] == 0
    # plan show reads the plan, which pulls in the study layer and with it pandas
    assert "pandas" in found["loaded"]


@pytest.mark.parametrize("module", ["poems_cohort", "poems_cohort.cli"])
def test_importing_the_package_and_the_cli_is_light(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not set(HEAVY) & loaded
