"""``provenance verify``: check an export against its own manifest and marker, without a workspace."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

SHOWN_PER_KIND = 20
EXIT_CHANGED = 1


def _sha256_hex(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise click.BadParameter("give the 64 hex digits of a SHA-256 (the root hash the export recorded)")
    return value


@click.command()
@click.argument("export_dir", type=click.Path(path_type=Path))
@click.option("--root", "expected_root", default=None, metavar="SHA256", callback=_sha256_hex,
              help="The root hash the export must have, from a place you trust (what you published, "
                   "or the ledger: runs.counts of the export run); without it the export is checked "
                   "against itself.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (ok, root hashes, counts and findings) on stdout.")
def verify(export_dir: Path, expected_root: str | None, as_json: bool) -> None:
    """Verify an export: every file against the SHA-256 in its provenance-export.json, the
    manifest against the root hash, every document's text against its text_sha256.

    Needs no workspace. Says exactly what changed (files modified, added or removed; doc_ids whose
    text changed, added, removed; a tampered manifest) and exits 1 when anything did, 0 when the
    export is intact. The root hash is SHA-256 over the lines "doc_id TAB text_sha256 LF" of every
    document in ascending doc_id order.
    """
    from provenance.export.verify import verify_export

    result = verify_export(export_dir, expected_root=expected_root)
    if as_json:
        click.echo(json.dumps({
            "ok": result.ok, "directory": str(result.directory), "root_sha256": result.root_sha256,
            "recomputed_root_sha256": result.recomputed_root, "n_documents": result.n_documents,
            "counts": result.counts,
            "findings": [{"kind": f.kind, "subject": f.subject, "detail": f.detail} for f in result.findings],
        }, indent=2))
    else:
        _print(result)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_CHANGED)


def _print(result) -> None:
    if result.ok:
        click.echo(f"OK: {result.directory} is intact: {result.n_files} files, {result.n_documents:,} "
                   f"documents, root sha256 {result.root_sha256}")
        return
    total = sum(result.counts.values())
    click.echo(f"CHANGED: {result.directory} differs from what was exported ({total} finding"
               f"{'s' if total != 1 else ''}): " + ", ".join(f"{n} {k.replace('_', ' ')}"
                                                       for k, n in sorted(result.counts.items())))
    shown: dict[str, int] = {}
    for f in result.findings:
        shown[f.kind] = shown.get(f.kind, 0) + 1
        if shown[f.kind] <= SHOWN_PER_KIND:
            click.echo(f"{f.kind}\t{f.subject}\t{f.detail}")
    for kind, n in sorted(result.counts.items()):
        if n > SHOWN_PER_KIND:
            click.echo(f"... and {n - SHOWN_PER_KIND} more {kind.replace('_', ' ')} (--json lists up to 1000)")
