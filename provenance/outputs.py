"""Where a command may write: every ``--out`` (export, audit, any report) goes through this module.

An output never harms what this tool did not write:

- it refuses the workspace, every directory above it (so ``/`` and the home directory holding
  it), and anything inside it except under its own output folders ``reports/`` and ``exports/``;
- it writes into a temporary sibling of the destination and renames it into place, so a reader
  never sees half an output and an error leaves the destination as it was;
- it replaces an existing directory only when that directory carries this tool's marker of an
  earlier export (:data:`EXPORT_MARKER`) and holds nothing but the files that marker lists; an
  existing file only when it is a report this tool wrote (it carries the caller's ``own_mark``);
  an empty directory may be filled. Anything else is refused with a message that says what to do.

Nothing here deletes a file that an earlier output of this tool did not list.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from provenance.errors import ProvenanceError
from provenance.workspace import Workspace

EXPORT_MARKER = "provenance-export.json"  # written last into every export; lists its files
MARKER_GENERATOR = "provenance export"
OWN_FOLDERS = ("reports", "exports")
MARK_BYTES = 4096  # an own report carries its mark in this many leading bytes


class OutputError(ProvenanceError):
    """A destination this tool must not (or cannot) write; the message says what to do."""


def _real(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_place(out: Path, workspace: Workspace | None, what: str) -> Path:
    """``out`` resolved, or :class:`OutputError` when it is the workspace, a parent of it, or inside
    it outside ``reports/`` and ``exports/`` (the folders themselves are refused too)."""
    path = _real(out)
    if workspace is None:
        return path
    root = _real(workspace.root)
    own = [root / name for name in OWN_FOLDERS]
    suggestion = f"choose a new directory, e.g. {root / 'exports' / 'my-export'}" if what == "export" else \
        f"choose a file such as {root / 'reports' / 'audit.html'}"
    if path == root or path in root.parents:
        raise OutputError(f"{path} is the workspace or a directory that holds it: an {what} there could "
                          f"destroy the ledger and shards; {suggestion}")
    if _inside(path, root) and not any(path != folder and _inside(path, folder) for folder in own):
        raise OutputError(f"{path} is inside the workspace but not under its reports/ or exports/ folder: "
                          f"the workspace's own files are never overwritten; {suggestion}")
    return path


# -- directories (exports) ----------------------------------------------------------------------------


def marker_files(directory: Path) -> set[str] | None:
    """The files an earlier export in ``directory`` wrote, from its marker; None when not an export."""
    marker = directory / EXPORT_MARKER
    try:
        if not stat.S_ISREG(marker.lstat().st_mode):
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != MARKER_GENERATOR:
        return None
    files = data.get("files")
    if not isinstance(files, dict) or not all(isinstance(k, str) for k in files):
        return None
    return {*files, EXPORT_MARKER}


def _foreign_entries(directory: Path, own: set[str]) -> list[str]:
    """Entries under ``directory`` that ``own`` does not list (links and special files always count)."""
    foreign = []
    for dirpath, dirnames, filenames in os.walk(directory):
        base = Path(dirpath)
        for name in dirnames + filenames:
            entry = base / name
            rel = entry.relative_to(directory).as_posix()
            mode = entry.lstat().st_mode
            if stat.S_ISDIR(mode):
                if not any(f.startswith(rel + "/") for f in own):
                    foreign.append(rel + "/")
            elif not stat.S_ISREG(mode) or rel not in own:
                foreign.append(rel)
    return sorted(foreign)


def check_directory(out: Path, workspace: Workspace | None) -> Path:
    """The resolved export directory, or :class:`OutputError` when writing there could harm anything."""
    path = check_place(out, workspace, "export")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror}; choose a directory you can write to") from None
    if not stat.S_ISDIR(mode):
        raise OutputError(f"{path} exists and is not a directory: choose a new directory for the export")
    if not any(path.iterdir()):
        return path
    own = marker_files(path)
    if own is None:
        raise OutputError(f"{path} is not empty and is not an earlier export of this tool (it has no "
                          f"{EXPORT_MARKER}): nothing there is touched; choose a new or empty directory")
    foreign = _foreign_entries(path, own)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputError(f"{path} holds an earlier export plus files it did not write ({shown}): nothing "
                          f"there is touched; move those files away or choose a new directory")
    return path


def _temp_sibling(path: Path, suffix: str, *, directory: bool) -> Path:
    """A new, empty sibling of ``path`` with a random name (created here, so never someone else's)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}{suffix}")
        if directory:
            tmp.mkdir()
        else:
            with open(tmp, "x", encoding="utf-8"):
                pass
        return tmp
    except OSError as exc:
        raise OutputError(f"cannot write to {path.parent}: {exc.strerror or exc}; choose a place you can "
                          f"write to") from None


def _remove_own(directory: Path, own: set[str]) -> None:
    """Delete the regular files under ``directory`` that ``own`` lists, then the folders left empty;
    anything else stays where it is."""
    for dirpath, _dirs, filenames in os.walk(directory, topdown=False):
        base = Path(dirpath)
        for name in filenames:
            entry = base / name
            if entry.relative_to(directory).as_posix() in own and stat.S_ISREG(entry.lstat().st_mode):
                entry.unlink()
        try:
            os.rmdir(base)
        except OSError:  # not empty: something appeared that is not ours, leave it
            pass


@contextmanager
def staged_directory(out: Path, workspace: Workspace | None) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A checked, empty temporary directory beside ``out`` and a ``publish()`` that puts it in place.

    Without ``publish()`` (an error) the temporary directory is removed and ``out`` is untouched.
    ``publish()`` checks ``out`` again, then renames: an earlier export is first moved aside and only
    the files its marker lists are deleted.
    """
    path = check_directory(out, workspace)
    tmp = _temp_sibling(path, ".tmp", directory=True)
    published = False

    def publish() -> None:
        nonlocal published
        check_directory(path, workspace)
        old = None
        try:
            if path.exists():
                own = marker_files(path) or set()
                old = _temp_sibling(path, ".old", directory=True)
                os.replace(path, old)  # an empty directory or an earlier export: replaced below
                _remove_own(old, own)
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"cannot write the export to {path}: {exc.strerror or exc}; choose a "
                              f"place you can write to") from None
        finally:
            if old is not None and old.exists():
                try:
                    old.rmdir()
                except OSError:
                    pass
        published = True

    try:
        yield tmp, publish
    finally:
        if not published:
            _remove_tree(tmp)


def _remove_tree(tmp: Path) -> None:
    """Remove a temporary directory this module created (it holds only what we wrote into it)."""
    shutil.rmtree(tmp, ignore_errors=True)


# -- single files (reports) ------------------------------------------------------------------------------


def _carries_mark(path: Path, own_mark: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(MARK_BYTES)
    except OSError:
        return False
    return own_mark.encode("utf-8") in head


def check_file(out: Path, workspace: Workspace | None, own_mark: str) -> Path:
    """The resolved report path, or :class:`OutputError` when writing it could harm anything.

    An existing file is replaced only when its first bytes carry ``own_mark`` (a report this tool
    wrote); a directory, link target elsewhere or special file is refused.
    """
    path = check_place(out, workspace, "report")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror}; choose a place you can write to") from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a directory: give a file name for the report, e.g. {path / 'audit.html'}")
    if not stat.S_ISREG(mode) or not _carries_mark(path, own_mark):
        raise OutputError(f"{path} exists and is not a report this tool wrote: it is left as it is; "
                          f"choose a new file name (or move that file away)")
    return path


def write_file(out: Path, text: str, workspace: Workspace | None, own_mark: str) -> Path:
    """Write ``text`` to ``out`` through a temporary sibling and an atomic rename; returns the path."""
    if own_mark not in text[:MARK_BYTES]:
        raise ValueError("a report must carry its own mark in its first bytes")
    path = check_file(out, workspace, own_mark)
    tmp = _temp_sibling(path, ".tmp", directory=False)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        check_file(path, workspace, own_mark)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write the report to {path}: {exc.strerror or exc}; choose a place you "
                          f"can write to") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
