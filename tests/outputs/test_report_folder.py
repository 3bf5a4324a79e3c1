"""Writing a report folder: only the tool's own files are replaced, as a whole, and a crash at
any instant leaves the complete old report or the complete new one."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from poems_cohort.errors import InputError
from poems_cohort.manifest import MANIFEST_NAME, read_manifest, sha256_bytes
from poems_cohort.report import output
from poems_cohort.report.output import (
    Outputs,
    check_output_folder,
    recover_leftovers,
    write_outputs,
)

OLD = Outputs({"report.html": b"<p>old</p>", "results.json": b"{}",
               "tables/table1.csv": b"a,b\n1,2\n", "figures/figure1.png": b"png-old",
               "only-in-old.csv": b"x\n"})
NEW = Outputs({"report.html": b"<p>new</p>", "results.json": b'{"n": 1}',
               "tables/table1.csv": b"a,b\n3,4\n", "tables/table2.csv": b"c\n5\n",
               "figures/figure1.png": b"png-new"})
STEPS = ("staging folder made", "manifest written", "files written", "exchanged",
         "old report moved aside", "new report moved in", "old report removed")


class Killed(BaseException):
    """A kill: nothing after it runs, not even the clean-up of the writer."""


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` but the manifest (relative path → bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST_NAME}


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def test_a_new_folder_gets_every_file_and_a_manifest_of_their_hashes(tmp_path):
    out = tmp_path / "report"
    write_outputs(NEW, out)
    assert files_of(out) == NEW.files
    manifest = read_manifest(out)
    assert {rel: e.sha256 for rel, e in manifest.files.items()} == {
        rel: sha256_bytes(data) for rel, data in NEW.files.items()}
    assert {e.role for e in manifest.files.values()} == {"report"}
    doc = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert doc["written_by"] == "poems-cohort"
    assert siblings(out) == []


def test_an_empty_folder_is_used(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    write_outputs(NEW, out)
    assert files_of(out) == NEW.files


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_second_run_replaces_the_whole_earlier_report(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = tmp_path / "report"
    write_outputs(OLD, out)
    write_outputs(NEW, out)
    assert files_of(out) == NEW.files  # only-in-old.csv is gone: the tool wrote it
    assert siblings(out) == []


def test_a_user_file_in_out_is_refused_and_survives(tmp_path):
    out = tmp_path / "report"
    write_outputs(OLD, out)
    (out / "tables" / "my-notes.txt").write_text("mine")
    with pytest.raises(InputError) as err:
        write_outputs(NEW, out)
    text = str(err.value)
    assert "my-notes.txt" in text and "not listed in its manifest" in text
    assert (out / "tables" / "my-notes.txt").read_text() == "mine"
    assert files_of(out) == {**OLD.files, "tables/my-notes.txt": b"mine"}
    assert siblings(out) == []


def test_a_report_file_edited_after_the_run_is_the_users(tmp_path):
    out = tmp_path / "report"
    write_outputs(OLD, out)
    (out / "report.html").write_bytes(b"<p>my edits</p>")
    with pytest.raises(InputError, match="changed since"):
        write_outputs(NEW, out)
    assert (out / "report.html").read_bytes() == b"<p>my edits</p>"


def test_a_folder_without_a_manifest_is_refused_listing_every_entry(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    for k in range(25):
        (out / f"f{k:02d}.txt").write_text(str(k))
    with pytest.raises(InputError) as err:
        check_output_folder(out)
    problems = err.value.problems
    assert len(problems) == 1 + output.MAX_LISTED + 1
    assert "and 5 more" in problems[-1].expected
    assert len(list(out.iterdir())) == 25


def test_an_empty_folder_of_the_user_inside_out_is_refused(tmp_path):
    out = tmp_path / "report"
    write_outputs(OLD, out)
    (out / "drafts").mkdir()
    with pytest.raises(InputError, match="a folder it did not make"):
        write_outputs(NEW, out)
    assert (out / "drafts").is_dir()


def test_a_link_inside_out_to_a_user_folder_is_refused_and_never_followed(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "table1.csv").write_text("precious")
    out = tmp_path / "report"
    write_outputs(OLD, out)
    (out / "keep").symlink_to(user, target_is_directory=True)
    with pytest.raises(InputError, match="this is a link"):
        write_outputs(NEW, out)
    assert (user / "table1.csv").read_text() == "precious"
    assert (out / "keep").is_symlink()


def test_a_listed_folder_replaced_by_a_link_is_not_followed(tmp_path):
    """``tables`` (listed through its files) replaced by a link to a user folder holding a file
    of the same name: refused, and the user's file is untouched."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "table1.csv").write_bytes(OLD.files["tables/table1.csv"])
    out = tmp_path / "report"
    write_outputs(OLD, out)
    for p in (out / "tables").iterdir():
        p.unlink()
    (out / "tables").rmdir()
    (out / "tables").symlink_to(user, target_is_directory=True)
    with pytest.raises(InputError):
        write_outputs(NEW, out)
    assert (user / "table1.csv").read_bytes() == OLD.files["tables/table1.csv"]


def test_a_synthetic_cohort_is_never_replaced_by_a_report(tmp_path):
    from poems_cohort.manifest import SYNTHETIC_COHORT, manifest_for, write_manifest

    out = tmp_path / "cohort"
    out.mkdir()
    (out / "patients.csv").write_text("patient_id\nSYN-1\n")
    write_manifest(out, manifest_for({"patients.csv": b"patient_id\nSYN-1\n"},
                                     SYNTHETIC_COHORT))
    with pytest.raises(InputError, match="synthetic cohort"):
        write_outputs(NEW, out)
    assert (out / "patients.csv").read_text() == "patient_id\nSYN-1\n"


@pytest.mark.parametrize("layout", ["equal", "inside", "contains"])
def test_out_and_the_inputs_may_not_overlap(tmp_path, layout):
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "patients.csv").write_text("x\n")
    out = {"equal": cohort, "inside": cohort / "report",
           "contains": tmp_path}[layout]
    with pytest.raises(InputError, match="input"):
        check_output_folder(out, inputs=(cohort,))
    assert sorted(p.name for p in cohort.iterdir()) == ["patients.csv"]


def test_an_input_in_out_tables_is_refused_before_anything_happens(tmp_path):
    out = tmp_path / "report"
    (out / "tables").mkdir(parents=True)
    cohort = out / "tables" / "patients.csv"
    cohort.write_text("x\n")
    plan = tmp_path / "plan.toml"
    with pytest.raises(InputError, match="does not contain an input"):
        write_outputs(NEW, out, inputs=(cohort, plan))
    assert cohort.read_text() == "x\n"


def test_an_unwritable_location_is_an_input_error(tmp_path):
    # the tests run as root, where file modes do not stop writing: /proc refuses new files
    with pytest.raises(InputError, match="can write in"):
        check_output_folder(Path("/proc/poems-cohort-report"))
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    with pytest.raises(InputError, match="is a file"):
        check_output_folder(blocker / "sub" / "report")
    assert blocker.read_text() == "mine"


def test_a_full_disk_while_writing_leaves_the_old_report_and_no_leftover(tmp_path, monkeypatch):
    out = tmp_path / "report"
    write_outputs(OLD, out)
    real = Path.write_bytes

    def full(self, data):
        if "poems-cohort-new-" in str(self) and self.name == "table2.csv":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(InputError, match="No space left on device"):
        write_outputs(NEW, out)
    assert files_of(out) == OLD.files
    assert siblings(out) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_instant_leaves_a_whole_report_and_the_next_run_cleans_up(
        tmp_path, monkeypatch, step, exchange):
    if not exchange:
        monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = tmp_path / "report"
    write_outputs(OLD, out)

    def stop(name: str) -> None:
        if name == step:
            raise Killed(name)

    monkeypatch.setattr(output, "_checkpoint", stop)
    try:
        write_outputs(NEW, out)
    except Killed:
        pass
    monkeypatch.setattr(output, "_checkpoint", lambda name: None)
    # right after the kill: the old or the new report, complete, at OUT, or (two renames,
    # killed between them) OUT missing and the old report whole beside it
    if out.exists():
        assert files_of(out) in (OLD.files, NEW.files), step
    else:
        assert step == "old report moved aside" and not exchange
    recover_leftovers(out)
    assert files_of(out) in (OLD.files, NEW.files)
    assert siblings(out) == []
    write_outputs(NEW, out)  # the next run is not tripped up
    assert files_of(out) == NEW.files
    assert siblings(out) == []


@pytest.mark.parametrize("step", STEPS[:3])
def test_an_error_before_the_swap_leaves_the_old_report_and_no_leftover(
        tmp_path, monkeypatch, step):
    out = tmp_path / "report"
    write_outputs(OLD, out)

    def fail(name: str) -> None:
        if name == step:
            raise RuntimeError(name)

    monkeypatch.setattr(output, "_checkpoint", fail)
    with pytest.raises(RuntimeError):
        write_outputs(NEW, out)
    assert files_of(out) == OLD.files
    assert siblings(out) == []


def test_a_folder_that_looks_like_a_leftover_but_is_the_users_is_left_alone(tmp_path):
    out = tmp_path / "report"
    fake = tmp_path / ".report.poems-cohort-new-abc"
    fake.mkdir()
    (fake / "notes.txt").write_text("mine")
    write_outputs(NEW, out)
    assert (fake / "notes.txt").read_text() == "mine"


def test_a_leftover_with_a_link_is_cleaned_without_following_it(tmp_path):
    """A crash leftover whose listed ``tables`` became a link to a user folder: the link's
    target keeps its files."""
    out = tmp_path / "report"
    write_outputs(OLD, out)
    user = tmp_path / "user"
    user.mkdir()
    (user / "table1.csv").write_bytes(OLD.files["tables/table1.csv"])
    leftover = tmp_path / ".report.poems-cohort-new-zzz"
    write_outputs(OLD, leftover)  # a complete report with the tool's manifest
    for p in (leftover / "tables").iterdir():
        p.unlink()
    (leftover / "tables").rmdir()
    (leftover / "tables").symlink_to(user, target_is_directory=True)
    recover_leftovers(out)
    assert (user / "table1.csv").read_bytes() == OLD.files["tables/table1.csv"]
    assert (leftover / "tables").is_symlink()  # not the tool's: left
    assert not (leftover / "report.html").exists()


def test_a_users_folder_in_out_is_named_once_and_not_walked(tmp_path):
    out = tmp_path / "report"
    write_outputs(OLD, out)
    deep = out / "archive" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("mine")
    with pytest.raises(InputError) as err:
        write_outputs(NEW, out)
    named = [p.file for p in err.value.problems[1:]]
    assert named == [str(out / "archive")]
    assert (deep / "x.txt").read_text() == "mine"


def test_a_file_named_like_the_manifest_that_is_not_one_is_the_users(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / MANIFEST_NAME).write_text("my own notes")
    with pytest.raises(InputError, match="cannot be read as one"):
        write_outputs(NEW, out)
    assert (out / MANIFEST_NAME).read_text() == "my own notes"


def test_a_folder_that_cannot_be_read_is_an_input_error(tmp_path, monkeypatch):
    # root reads every folder whatever its mode: the failure is simulated
    out = tmp_path / "report"
    write_outputs(OLD, out)
    real = os.scandir

    def denied(path="."):
        if Path(path) == out / "tables":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path)

    monkeypatch.setattr(output.os, "scandir", denied)
    with pytest.raises(InputError, match="Permission denied"):
        write_outputs(NEW, out)
    monkeypatch.setattr(output.os, "scandir", real)
    assert files_of(out) == OLD.files


def test_a_staging_folder_another_run_is_writing_is_left_alone(tmp_path):
    import fcntl

    out = tmp_path / "report"
    busy = tmp_path / ".report.poems-cohort-new-busy"
    write_outputs(OLD, busy)  # a staging folder with the tool's manifest
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held by "another run"
        recover_leftovers(out)
        assert files_of(busy) == OLD.files
        write_outputs(OLD, out)
        with pytest.raises(InputError, match="no other poems-cohort run"):
            fd2 = os.open(out, os.O_RDONLY)
            fcntl.flock(fd2, fcntl.LOCK_EX)
            try:
                write_outputs(NEW, out)
            finally:
                os.close(fd2)
        assert files_of(out) == OLD.files
    finally:
        os.close(fd)
    recover_leftovers(out)
    assert not busy.exists()


@pytest.mark.parametrize("left", [[], [f".{MANIFEST_NAME}.ab12.tmp"],
                                  [MANIFEST_NAME]])
def test_a_staging_folder_killed_while_writing_its_manifest_is_removed(tmp_path, left):
    out = tmp_path / "report"
    staging = tmp_path / ".report.poems-cohort-new-k1ll"
    staging.mkdir()
    for name in left:
        (staging / name).write_text('{"written_by": "poems-co')  # cut short
    recover_leftovers(out)
    assert not staging.exists()


@pytest.mark.parametrize("case", ["mount point", "bind mount", "read-only", "current folder",
                                  "above the current folder"])
@pytest.mark.parametrize("earlier", [False, True], ids=["empty", "earlier report"])
def test_a_folder_that_must_keep_its_place_is_refused_before_anything_happens(
        tmp_path, monkeypatch, case, earlier):
    """The report takes the place of its folder by a rename: a folder that must stay where it
    is (a mount point, one read-only for the user, the shell's current folder or one above it)
    is an input error before anything is computed, and is left exactly as it was."""
    out = tmp_path / "report"
    if earlier:
        write_outputs(OLD, out)
    else:
        out.mkdir()
    before = (out.stat().st_ino, files_of(out))
    real_ismount, real_access = os.path.ismount, os.access
    if case == "mount point":
        monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out or real_ismount(p))
    elif case == "bind mount":  # a folder of the same file system: os.path.ismount sees none
        monkeypatch.setattr(output, "mount_points", lambda: {str(out)})
    elif case == "read-only":  # the tests may run as root, whom permissions do not stop
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: (
            Path(p) != out and real_access(p, mode, **kw)))
    else:
        (out / "tables").mkdir(exist_ok=True)
        monkeypatch.chdir(out if case == "current folder" else out / "tables")
    with pytest.raises(InputError) as err:
        check_output_folder(out)
    expected = {"mount point": "not a mount point", "bind mount": "not a mount point",
                "read-only": "read-only for you",
                "current folder": "other than the current one",
                "above the current folder": "other than the current one"}[case]
    assert expected in str(err.value)
    with pytest.raises(InputError):
        write_outputs(NEW, out)
    if case in ("current folder", "above the current folder") and not earlier:
        (out / "tables").rmdir()
    elif case in ("current folder", "above the current folder"):
        assert (out / "tables" / "table1.csv").read_bytes() == OLD.files["tables/table1.csv"]
    assert (out.stat().st_ino, files_of(out)) == before
    assert siblings(out) == []


def test_a_new_folder_below_the_current_one_is_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_outputs(NEW, Path("report"))
    write_outputs(NEW, Path("report"))
    assert files_of(tmp_path / "report") == NEW.files


def test_the_mount_table_is_read_with_its_escapes(tmp_path):
    table = tmp_path / "mountinfo"
    table.write_text("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
                     "40 22 8:1 /home/u/data /mnt/my\\040drive rw - ext4 /dev/sda1 rw\n",
                     encoding="utf-8")
    assert output.mount_points(str(table)) == {"/", "/mnt/my drive"}
    assert output.mount_points(str(tmp_path / "absent")) == set()
