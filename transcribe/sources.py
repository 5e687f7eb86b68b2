"""What to transcribe: media URLs the crawl discovered (the ``media`` view), local files, URLs.

Each input becomes a :class:`MediaItem` with its lineage resolved from the ledger: a URL that a
crawled page embedded inherits that page's license and consent whether it came from
``--from-ledger`` or from the command line. One media URL embedded on several pages is one
transcript; its parent is the page that gave the media a license of its own, else the page
where it was discovered first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from provenance.errors import InputError
from provenance.ids import canonical_url
from provenance.ledger import Ledger
from transcribe.lineage import Lineage, OwnLicense, inherit, parents_by_id, signals_from_rows

URL_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One media file to transcribe."""

    media_url: str  # http(s) URL, or the file:// URI of a local file
    local_path: Path | None  # set for local files
    lineage: Lineage
    kind: str | None = None
    mime_type: str | None = None

    @property
    def name(self) -> str:
        if self.local_path is not None:
            return self.local_path.name
        path = urlsplit(self.media_url).path.rstrip("/")
        return unquote(path.rsplit("/", 1)[-1]) or self.media_url


@dataclass(frozen=True, slots=True)
class MediaRow:
    media_url: str
    page_doc_id: str | None
    page_url: str | None
    kind: str | None
    mime_type: str | None
    license: str | None
    license_evidence: str | None


def is_url(value: str) -> bool:
    return urlsplit(value).scheme.lower() in URL_SCHEMES


def local_path_of(value: str) -> Path:
    """A command-line argument or file:// URI as an absolute path (the file must exist)."""
    parts = urlsplit(value)
    path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(value).expanduser()
    if not path.exists():
        raise InputError(f"{value}: no such file. Give an existing audio/video file or an http(s) URL.")
    if path.is_dir():
        raise InputError(f"{value} is a directory; give the media files in it (e.g. {value}/*.mp3).")
    return path.resolve()


def media_rows(ledger: Ledger, urls: Sequence[str] | None = None) -> list[MediaRow]:
    """Media rows of the ledger (all, or those of ``urls``), one per normalised URL."""
    sql = ("SELECT media_url, page_doc_id, page_url, kind, mime_type, license, license_evidence "
           "FROM media {where} ORDER BY media_url, (license IS NULL), discovered_at, page_url")
    if urls is None:
        rows = ledger.query(sql.format(where="")).to_pylist()
    else:
        if not urls:
            return []
        rows = ledger.query(sql.format(where="WHERE list_contains(?, media_url)"), [list(urls)]).to_pylist()
    chosen: dict[str, MediaRow] = {}
    for r in rows:
        key = canonical_url(r["media_url"])
        if key not in chosen:
            chosen[key] = MediaRow(**r)
    return list(chosen.values())


def _parents(ledger: Ledger, rows: Iterable[MediaRow]) -> tuple[dict, dict]:
    """The parent documents of the rows, and the consent signals of those whose media has a license."""
    ids = sorted({r.page_doc_id for r in rows if r.page_doc_id})
    parents = parents_by_id(ledger.query(
        "SELECT doc_id, url, license, license_evidence, consent, consent_evidence FROM documents "
        "WHERE list_contains(?, doc_id)", [ids]).to_pylist()) if ids else {}
    licensed = [r for r in rows if r.license and r.page_doc_id]
    signals: dict[str, list] = {}
    if licensed:
        sig_ids = sorted({r.page_doc_id for r in licensed if r.page_doc_id})
        sig_urls = sorted({p.url for i in sig_ids if (p := parents.get(i)) and p.url}
                          | {r.page_url for r in licensed if r.page_url})
        found = ledger.query(
            "SELECT url, domain, signal, agent, value, evidence, observed_at, doc_id FROM consent_signals "
            "WHERE list_contains(?, doc_id) OR (doc_id IS NULL AND list_contains(?, url))",
            [sig_ids, sig_urls]).to_pylist()
        url_to_id = {p.url: i for i, p in parents.items() if p.url}
        url_to_id.update({r.page_url: r.page_doc_id for r in licensed if r.page_url and r.page_doc_id})
        for row in found:
            owner = row["doc_id"] or url_to_id.get(row["url"])
            if owner:
                signals.setdefault(owner, []).append(row)
    return parents, signals


def items_from_rows(ledger: Ledger, rows: Sequence[MediaRow], *,
                    training_agents: frozenset[str] | None) -> list[MediaItem]:
    parents, signals = _parents(ledger, rows)
    items = []
    for r in rows:
        own = OwnLicense(r.license, r.license_evidence or r.license) if r.license else None
        lineage = inherit(parents.get(r.page_doc_id) if r.page_doc_id else None, parent_doc_id=r.page_doc_id,
                          page_url=r.page_url, own_license=own,
                          page_signals=signals_from_rows(signals.get(r.page_doc_id or "", [])),
                          training_agents=training_agents)
        items.append(MediaItem(r.media_url, None, lineage, r.kind, r.mime_type))
    return items


def items_from_ledger(ledger: Ledger, *, training_agents: frozenset[str] | None) -> list[MediaItem]:
    """Every media URL the crawl discovered (http(s) only), with its lineage."""
    rows = [r for r in media_rows(ledger) if is_url(r.media_url)]
    return items_from_rows(ledger, rows, training_agents=training_agents)


def items_from_args(ledger: Ledger, args: Sequence[str], *, user_license: str | None,
                    training_agents: frozenset[str] | None) -> list[MediaItem]:
    """Files and URLs named on the command line. A URL the crawl discovered keeps its page's lineage;
    ``user_license`` (--license) is the license the given media carries."""
    own = OwnLicense(user_license, f"--license {user_license} (given by the user)") if user_license else None
    urls = [a for a in args if is_url(a)]
    known = {canonical_url(r.media_url): r for r in media_rows(ledger, urls)} if urls else {}
    items: list[MediaItem] = []
    for arg in args:
        if is_url(arg):
            row = known.get(canonical_url(arg))
            if row is not None:
                if own is not None:
                    row = MediaRow(row.media_url, row.page_doc_id, row.page_url, row.kind, row.mime_type,
                                   own.raw, own.evidence)
                items.extend(items_from_rows(ledger, [row], training_agents=training_agents))
                continue
            items.append(MediaItem(arg, None, inherit(None, parent_doc_id=None, page_url=None, own_license=own,
                                                      training_agents=training_agents)))
        else:
            path = local_path_of(arg)
            items.append(MediaItem(path.as_uri(), path, inherit(None, parent_doc_id=None, page_url=None,
                                                                 own_license=own, training_agents=training_agents)))
    return items
