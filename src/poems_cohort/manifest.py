"""The record of what poems-cohort wrote into a folder: ``.poems-cohort-manifest.json``.

Every command that writes into a folder (``run``, ``reproduce``, ``derive``, ``synthesize``)
lists there each file it wrote, with its SHA-256 and its role (``report``, ``analysis-dataset``,
``synthetic-cohort``). The tool replaces or removes a file only when the manifest lists it AND
the file still has the listed hash: a file the user added, or edited after the run, is the
user's and is never touched. The same record tells a synthetic cohort (files that still match
what ``synthesize`` wrote) from a folder that merely holds a file named ``SYNTHETIC.txt``.

Paths are relative, ``/``-separated, and never leave the folder; the tool never follows a
symbolic link below the folder (a link where a listed file or folder should be makes that file
"not ours").
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import BinaryIO

MANIFEST_NAME = ".poems-cohort-manifest.json"
WRITER = "poems-cohort"
FORMAT = 1

REPORT = "report"
ANALYSIS_DATASET = "analysis-dataset"
SYNTHETIC_COHORT = "synthetic-cohort"
ROLES = (REPORT, ANALYSIS_DATASET, SYNTHETIC_COHORT)


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 hexadecimal digits."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of the file at ``path`` (read in blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """One file the tool wrote: its SHA-256 and its role."""

    sha256: str
    role: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """The files of a folder that poems-cohort wrote (relative path → :class:`Entry`)."""

    files: Mapping[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(sorted(self.files.items()))))

    def with_files(self, files: Mapping[str, Entry]) -> Manifest:
        """This manifest with ``files`` added or replaced."""
        return Manifest({**self.files, **files})

    def of_role(self, role: str) -> dict[str, Entry]:
        """The entries of one role."""
        return {rel: e for rel, e in self.files.items() if e.role == role}

    def to_bytes(self) -> bytes:
        """The JSON document (sorted, UTF-8, one trailing newline)."""
        doc = {"written_by": WRITER, "format": FORMAT,
               "files": {rel: {"sha256": e.sha256, "role": e.role}
                         for rel, e in self.files.items()}}
        return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")

    def __repr__(self) -> str:
        roles = sorted({e.role for e in self.files.values()})
        return f"Manifest({len(self.files)} file(s); roles {', '.join(roles) or 'none'})"


def manifest_for(files: Mapping[str, bytes], role: str) -> Manifest:
    """The manifest of ``files`` (relative path → content), all of one role."""
    return Manifest({rel: Entry(sha256_bytes(data), role) for rel, data in files.items()})


def safe_relative(rel: str) -> bool:
    """Whether ``rel`` is a relative path that stays inside its folder."""
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel \
        and p.parts[:1] != ("",) and rel != MANIFEST_NAME


def read_manifest(folder: str | Path) -> Manifest | None:
    """The manifest of ``folder``, or ``None`` when there is none, or when it is a link, is not
    one the tool wrote, or cannot be read (a folder without a readable manifest holds no file
    of the tool)."""
    path = Path(folder) / MANIFEST_NAME
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("written_by") != WRITER \
            or not isinstance(doc.get("files"), dict):
        return None
    files: dict[str, Entry] = {}
    for rel, e in doc["files"].items():
        if (not isinstance(rel, str) or not safe_relative(rel) or not isinstance(e, dict)
                or not isinstance(e.get("sha256"), str) or e.get("role") not in ROLES):
            return None
        files[rel] = Entry(e["sha256"], e["role"])
    return Manifest(files)


def default_mode(folder: bool = False) -> int:
    """The permissions a new file (or folder) gets from the process's umask; temporary files
    and folders are made private and then given these before they take their final name."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write that takes the name ``path`` only when the ``with`` block ends
    normally: it is a temporary file beside ``path``, synced, given the default mode and renamed
    over ``path``; on any error it is removed. A crash leaves the old file or the new one, and
    at worst a ``.<name>.*.tmp`` beside it."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w+b") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_file_atomically(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_file`)."""
    with atomic_file(path) as fh:
        fh.write(data)


def foreign_manifest(folder: str | Path) -> bool:
    """Whether ``folder`` holds something named like the manifest that is not one the tool
    wrote (then the tool must not replace it)."""
    path = Path(folder) / MANIFEST_NAME
    return os.path.lexists(path) and read_manifest(folder) is None


def write_manifest(folder: str | Path, manifest: Manifest) -> None:
    """Write (or replace) the manifest of ``folder``, atomically."""
    write_file_atomically(Path(folder) / MANIFEST_NAME, manifest.to_bytes())


def plain_file(folder: str | Path, rel: str) -> Path | None:
    """The path of ``rel`` below ``folder`` when it is a regular file reached through real
    folders only (no symbolic link on the way), else ``None``."""
    if not safe_relative(rel):
        return None
    path = Path(folder)
    parts = PurePosixPath(rel).parts
    try:
        for k, part in enumerate(parts):
            path = path / part
            mode = os.lstat(path).st_mode
            if k < len(parts) - 1 and not stat.S_ISDIR(mode):
                return None
        return path if stat.S_ISREG(mode) else None
    except OSError:
        return None


def unchanged(folder: str | Path, rel: str, entry: Entry) -> bool:
    """Whether ``rel`` is still the file the tool wrote (a plain file with the listed hash)."""
    path = plain_file(folder, rel)
    if path is None:
        return False
    try:
        return sha256_file(path) == entry.sha256
    except OSError:
        return False


def remove_listed(folder: str | Path, manifest: Manifest) -> list[str]:
    """Remove from ``folder`` the files the manifest lists (links are removed as links, never
    followed), then the folders they leave empty, then the manifest and ``folder`` itself when
    it is empty. Used only on folders the tool made itself (a report moved aside, a staging
    folder left by a crash). Returns what was left because the tool did not write it."""
    root = Path(folder)
    dirs: set[Path] = set()
    for rel in manifest.files:
        path = plain_file(root, rel)
        if path is not None:
            path.unlink()
        parents = PurePosixPath(rel).parents
        dirs.update(root / p for p in parents if str(p) != ".")
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        try:
            if stat.S_ISDIR(os.lstat(d).st_mode):
                d.rmdir()
        except OSError:
            pass
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    try:
        left = sorted(os.listdir(root))
    except OSError:
        left = []
    if not left:
        try:
            root.rmdir()
        except OSError:
            pass
    return left
