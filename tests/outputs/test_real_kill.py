"""A real kill (SIGKILL: no clean-up code runs, the system drops the locks) right after each
instant of replacing a report leaves the complete old or the complete new report, and the next
run cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from poems_cohort.report.output import recover_leftovers, write_outputs
from tests.outputs.test_report_folder import NEW, OLD, files_of, siblings

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from poems_cohort.report import output
    from tests.outputs.test_report_folder import NEW

    def stop(step):
        if step == sys.argv[3]:
            print(step, flush=True)
            time.sleep(60)      # killed here

    output._checkpoint = stop
    if sys.argv[2] == "two-renames":
        output._exchange = lambda a, b: False
    output.write_outputs(NEW, Path(sys.argv[1]))
""")
ROOT = Path(__file__).resolve().parents[2]


def _kill_at(out: Path, step: str, mode: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), mode, step], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, text=True)
    try:
        if child.stdout.readline().strip() != step:
            pytest.fail(f"the writer never reached {step!r}")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
        child.stdout.close()


# one instant per state a kill can leave (test_report_folder.py stops at every instant, by an
# exception); each case starts a Python process, so they are few
@pytest.mark.parametrize(("mode", "step"), [
    ("exchange", "files written"), ("exchange", "exchanged"),
    ("two-renames", "old report moved aside"),
])
def test_a_sigkill_leaves_a_whole_report_and_the_next_run_cleans_up(tmp_path, mode, step):
    out = tmp_path / "report"
    write_outputs(OLD, out)
    _kill_at(out, step, mode)
    if out.exists():
        assert files_of(out) in (OLD.files, NEW.files)
    else:
        assert step == "old report moved aside"
    recover_leftovers(out)
    assert files_of(out) in (OLD.files, NEW.files)
    assert siblings(out) == []
    write_outputs(NEW, out)
    assert files_of(out) == NEW.files and siblings(out) == []
