"""Every --out goes through provenance.outputs: a destination this tool did not write is never harmed.

Each refused case checks that nothing was touched: the same files with the same bytes and times,
and no temporary sibling left beside the destination.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_audit_fixture import build_fixture

from provenance.export import export_policy
from provenance.outputs import EXPORT_MARKER, OutputError, check_file, write_file
from provenance.policies import builtin


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes | None]]:
    """Every entry under ``root``: kind, mtime and (for files) bytes."""
    out: dict[str, tuple[str, int, bytes | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
            out[p.relative_to(root).as_posix()] = (kind, st.st_mtime_ns,
                                                   p.read_bytes() if kind == "file" else None)
    return out


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return build_fixture(tmp_path_factory.mktemp("outputs") / "ws")


@pytest.fixture(scope="module")
def earlier(fx, tmp_path_factory):
    """A real earlier export (to copy into the cases that start from one)."""
    return export_policy(fx.ledger, builtin("open"), tmp_path_factory.mktemp("earlier") / "open").out_dir


def _copy_tree(src: Path, dst: Path) -> None:
    for p in sorted(src.rglob("*")):
        target = dst / p.relative_to(src)
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())


def _home_like(base: Path) -> Path:
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".bashrc").write_text("export PATH=$HOME/bin:$PATH\n")
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    (home / "thesis.tex").write_text("\\documentclass{article}\n")
    return home


def _looks_like_an_export(base: Path) -> Path:
    d = base / "lookalike"
    (d / "data").mkdir(parents=True)
    for name in ("manifest.parquet", "croissant.json", "README.md", "ATTRIBUTION.md", "data/train-00000.parquet"):
        (d / name).write_text(f"my own {name}\n")
    return d


def _export_plus_foreign(base: Path, earlier: Path) -> Path:
    d = base / "export-plus"
    _copy_tree(earlier, d)
    (d / "data" / "my-notes.txt").write_text("not the tool's\n")
    return d


def _export_with_a_link(base: Path, earlier: Path) -> Path:
    d = base / "export-link"
    _copy_tree(earlier, d)
    (d / "README.md").unlink()
    (base / "precious.md").write_text("precious\n")
    (d / "README.md").symlink_to(base / "precious.md")  # listed name, but a link to something else
    return d


def _forged_marker(base: Path) -> Path:
    d = base / "forged"
    d.mkdir()
    (d / "notes.txt").write_text("mine\n")
    (d / EXPORT_MARKER).write_text('{"generator": "someone else", "files": {"notes.txt": "x"}}')
    return d


def _a_file(base: Path) -> Path:
    f = base / "a-file"
    f.write_text("I am a file\n")
    return f


# Each case: (name, make(base, fx, earlier) -> the --out path, the directory to snapshot, message part)
CASES = [
    ("the workspace", lambda b, fx, e: fx.workspace.root, lambda b, fx: fx.workspace.root, "is the workspace"),
    ("the workspace's parent", lambda b, fx, e: fx.workspace.root.parent, lambda b, fx: fx.workspace.root.parent,
     "directory that holds it"),
    ("the workspace's shards", lambda b, fx, e: fx.workspace.shards_dir, lambda b, fx: fx.workspace.root,
     "inside the workspace"),
    ("a new folder in shards", lambda b, fx, e: fx.workspace.shards_dir / "mine", lambda b, fx: fx.workspace.root,
     "inside the workspace"),
    ("the exports folder itself", lambda b, fx, e: fx.workspace.exports_dir, lambda b, fx: fx.workspace.root,
     "inside the workspace"),
    ("a HOME-like directory", lambda b, fx, e: _home_like(b), lambda b, fx: b, "not an earlier export"),
    ("files named like an export's", lambda b, fx, e: _looks_like_an_export(b), lambda b, fx: b,
     "not an earlier export"),
    ("an earlier export plus a foreign file", lambda b, fx, e: _export_plus_foreign(b, e), lambda b, fx: b,
     "data/my-notes.txt"),
    ("an earlier export with a link", lambda b, fx, e: _export_with_a_link(b, e), lambda b, fx: b, "README.md"),
    ("a marker of another tool", lambda b, fx, e: _forged_marker(b), lambda b, fx: b, "not an earlier export"),
    ("a file", lambda b, fx, e: _a_file(b), lambda b, fx: b, "not a directory"),
    ("below a file (unwritable)", lambda b, fx, e: _a_file(b) / "sub", lambda b, fx: b, "cannot write"),
]


@pytest.mark.parametrize("make,watched,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_export_over_a_foreign_place_is_refused_and_nothing_is_touched(fx, earlier, tmp_path, make, watched,
                                                                       message, cli):
    base = tmp_path / "base"
    base.mkdir()
    out = make(base, fx, earlier)
    watch = watched(base, fx)
    before = snapshot(watch)
    result = cli("-w", str(fx.workspace.root), "export", "--policy", "open", "--out", str(out))
    assert result.code == 1, result.err
    assert message in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1  # one line that says what to do
    assert snapshot(watch) == before


def test_the_root_directory_is_refused(fx, tmp_path):
    before = sorted(os.listdir("/"))
    ws = fx.workspace
    with pytest.raises(OutputError, match="directory that holds it"):
        export_policy(fx.ledger, builtin("open"), Path("/"))
    assert sorted(os.listdir("/")) == before
    assert ws.ledger_path.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_an_unwritable_directory_gives_one_line(fx, tmp_path, cli):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli("-w", str(fx.workspace.root), "export", "--policy", "open", "--out", str(locked / "x"))
    finally:
        locked.chmod(0o700)
    assert result.code == 1 and "cannot write" in result.err and "Traceback" not in result.err
    assert list(locked.iterdir()) == []


def test_an_earlier_export_and_an_empty_directory_are_replaced(fx, earlier, tmp_path):
    target = tmp_path / "again"
    _copy_tree(earlier, target)
    (target / "README.md").write_text("edited by hand\n")  # a file the export wrote may be replaced
    result = export_policy(fx.ledger, builtin("open"), target)
    assert (target / "README.md").read_bytes() == (earlier / "README.md").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no temporary sibling left
    assert result.files[EXPORT_MARKER]
    empty = tmp_path / "empty"
    empty.mkdir()
    export_policy(fx.ledger, builtin("open"), empty)
    assert (empty / EXPORT_MARKER).is_file()


def test_exports_under_the_workspace_exports_folder_are_allowed(fx):
    result = export_policy(fx.ledger, builtin("strict"), fx.workspace.exports_dir / "strict")
    assert result.out_dir == fx.workspace.exports_dir.resolve() / "strict"


# -- reports ------------------------------------------------------------------------------------------


def test_audit_cannot_overwrite_the_ledger(fx, cli):
    ledger = fx.workspace.ledger_path
    before = ledger.read_bytes()
    result = cli("-w", str(fx.workspace.root), "audit", "--out", str(ledger))
    assert result.code == 1 and "inside the workspace" in result.err and "Traceback" not in result.err
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("where", ["workspace", "runs", "parent"])
def test_audit_refuses_the_workspace_and_its_parents(fx, cli, where):
    target = {"workspace": fx.workspace.root, "runs": fx.workspace.runs_dir / "audit.html",
              "parent": fx.workspace.root.parent}[where]
    result = cli("-w", str(fx.workspace.root), "audit", "--format", "html", "--out", str(target))
    assert result.code != 0 and "Traceback" not in result.err
    assert not (fx.workspace.runs_dir / "audit.html").exists()


def test_audit_replaces_only_its_own_report(fx, cli, tmp_path):
    mine = tmp_path / "notes.md"
    mine.write_text("# my notes\n")
    refused = cli("-w", str(fx.workspace.root), "audit", "--out", str(mine))
    assert refused.code == 1 and "not a report this tool wrote" in refused.err
    assert mine.read_text() == "# my notes\n"
    report = tmp_path / "audit.md"
    first = cli("-w", str(fx.workspace.root), "audit", "--out", str(report))
    assert first.code == 0, first.err
    again = cli("-w", str(fx.workspace.root), "audit", "--out", str(report))
    assert again.code == 0, again.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.md", "notes.md"]


def test_audit_into_an_unwritable_place_gives_one_line(fx, cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("-w", str(fx.workspace.root), "audit", "--out", str(blocker / "audit.html"))
    assert result.code == 1 and "cannot write" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_write_file_needs_the_mark_and_checks_again(tmp_path):
    with pytest.raises(ValueError):
        write_file(tmp_path / "r.md", "no mark here", None, "MARK")
    path = write_file(tmp_path / "r.md", "MARK report", None, "MARK")
    assert path.read_text() == "MARK report"
    assert check_file(path, None, "MARK") == path
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "elsewhere.md")  # a dangling link resolves to a new file: fine
    assert check_file(link, None, "MARK") == (tmp_path / "elsewhere.md")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc, where even root cannot create files")
@pytest.mark.parametrize("command", ["export", "audit"])
def test_a_place_even_root_cannot_write_gives_one_line(fx, cli, command):
    target = "/proc/provenance-output-test" + ("/audit.html" if command == "audit" else "")
    args = ["--policy", "open"] if command == "export" else []
    result = cli("-w", str(fx.workspace.root), command, *args, "--out", target)
    assert result.code == 1 and "cannot write" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not Path("/proc/provenance-output-test").exists()
