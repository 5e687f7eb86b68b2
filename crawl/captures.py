"""Archived captures of per-origin files (robots.txt, ai.txt, tdmrep.json) applied at fetch time.

A web archive holds the policy files of a site as captures with their own capture time, often in
another file than the pages they govern (Common Crawl publishes its robots.txt responses as a
separate ``robotstxt`` subset). Every capture an import meets is kept in ``domain_files``; a page
is answered by the capture of its origin that applied at its fetch time: the latest capture at or
before it, else the earliest after it. The evidence of each signal says which (the ``applied``
note of :class:`~crawl.domainfiles.DomainFile`).

Because the answer depends only on the set of captures stored, not on when each was imported,
:func:`reresolve` brings the documents already stored up to date when new captures of their
origin arrive: it re-decides their consent from their own page signals plus the policy signals of
the capture that now applies, and appends a new observation only where the decision changed
(history is never rewritten). Page signals are those the ledger holds for the document up to
its fetch time; where several captures of one URL carried different page signals, all of them
count (never fail open).
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from crawl.domainfiles import FILE_PATHS, DomainFile, DomainPolicy, origin_of
from crawl.page import AgentLists
from crawl.sink import DOMAIN_FILES_TABLE
from provenance import consent as consent_mod
from provenance.ids import domain_of
from provenance.ledger import LedgerWriter
from provenance.records import DOCUMENT_COLUMNS, ConsentSignal, Document

# A capture is the same capture whoever stored it and in which run: importing it again adds nothing.
CAPTURE_KEY = ("url", "fetched_at", "state", "body_sha256")
REREAD_BATCH = 2000


def as_stored(f: DomainFile) -> DomainFile:
    """A capture exactly as the ledger gives it back (the body is kept as UTF-8 text), so a page
    answered from the archive in hand and one answered later from the ledger get the same words."""
    body = f.body.decode("utf-8", "replace").encode("utf-8") if f.body is not None else None
    return dataclasses.replace(f, body=body, size=f.n_bytes, body_sha256=f.sha256)


def _order(f: DomainFile) -> tuple:
    return (f.fetched_at, f.state, f.status if f.status is not None else -1, f.sha256 or "", f.url)


def choose(captures: Sequence[DomainFile], at: datetime) -> DomainFile | None:
    """The capture that applied at ``at`` (latest at or before it, else earliest after), noted."""
    if not captures:
        return None
    before = [c for c in captures if c.fetched_at <= at]
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    if before:
        chosen = max(before, key=_order)
        note = f"captured {chosen.fetched_at.strftime(stamp)}, the latest capture at or before the fetch"
    else:
        chosen = min(captures, key=_order)
        note = (f"captured {chosen.fetched_at.strftime(stamp)}, after the fetch: the earliest capture, "
                f"none was made before it")
    return dataclasses.replace(chosen, applied=note)


class Queryable(Protocol):
    """What the index reads the ledger through: a :class:`Ledger` (a short read per look-up) or a writer."""

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> pa.Table: ...


class CaptureIndex:
    """The captures of each origin: those of the archive in hand plus those the ledger holds."""

    def __init__(self, writer: Queryable, agents: AgentLists, new: Iterable[DomainFile] = ()):
        self.writer = writer
        self.agents = agents
        self._captures: dict[str, list[DomainFile]] = {}
        for f in new:
            self._captures.setdefault(f.origin, []).append(as_stored(f))
        stored = writer.query(f"SELECT DISTINCT origin FROM {DOMAIN_FILES_TABLE}").column("origin").to_pylist()
        self._stored_origins = set(stored)
        self._loaded: set[str] = set()
        self._policies: dict[tuple, DomainPolicy] = {}
        # (origin, kind, captures known) -> (its captures, their sorted times, choices made);
        # what :func:`choose` returns depends only on how many captures precede the fetch
        self._choices: dict[tuple, tuple[list[DomainFile], list[datetime], dict[int, DomainFile | None]]] = {}

    @property
    def new_origins(self) -> frozenset[str]:
        return frozenset(self._captures)

    def prefetch(self, origins: Iterable[str]) -> None:
        """Load the stored captures of the ``origins`` not loaded yet, in one query."""
        wanted = sorted({o for o in origins if o not in self._loaded})
        self._loaded.update(wanted)
        stored = [o for o in wanted if o in self._stored_origins]
        if not stored:
            return
        seen = {o: {_identity(f) for f in self._captures.get(o, [])} for o in stored}
        for f in _stored_captures(self.writer, stored):
            if _identity(f) not in seen[f.origin]:
                seen[f.origin].add(_identity(f))
                self._captures.setdefault(f.origin, []).append(f)

    def captures(self, origin: str) -> list[DomainFile]:
        if origin not in self._loaded:
            self.prefetch([origin])
        return self._captures.get(origin, [])

    def policy_at(self, url: str, when: datetime) -> DomainPolicy | None:
        """The policy of ``url``'s origin as its captures stood at ``when`` (None: no capture)."""
        origin = origin_of(url)
        captures = self.captures(origin)
        if not captures:
            return None
        chosen = []
        for kind in FILE_PATHS:
            f = self._choose(origin, kind, captures, when)
            if f is not None:
                chosen.append(f)
        key = (origin, *(f.description for f in chosen))
        policy = self._policies.get(key)
        if policy is None:
            if len(self._policies) > 10_000:
                self._policies.clear()
            policy = self._policies[key] = DomainPolicy(origin, chosen, self.agents.training)
        return policy


    def _choose(self, origin: str, kind: str, captures: list[DomainFile], when: datetime) -> DomainFile | None:
        """:func:`choose` among the captures of one kind, made once per number of captures at or
        before ``when`` (the same answer for every page fetched between two captures)."""
        key = (origin, kind, len(captures))  # captures of an origin are only ever added
        known = self._choices.get(key)
        if known is None:
            if len(self._choices) > 10_000:
                self._choices.clear()
            of_kind = [c for c in captures if c.kind == kind]
            known = self._choices[key] = (of_kind, sorted(c.fetched_at for c in of_kind), {})
        of_kind, times, made = known
        before = bisect_right(times, when)
        if before not in made:
            made[before] = choose(of_kind, when)
        return made[before]


def _identity(f: DomainFile) -> tuple:
    return (f.kind, f.url, f.fetched_at, f.state, f.sha256)


def _stored_captures(writer: Queryable, origins: list[str]) -> list[DomainFile]:
    rows = writer.query(
        f"SELECT DISTINCT origin, kind, url, state, status, reason, content_type, body_sha256, n_bytes, body, "
        f"fetched_at FROM {DOMAIN_FILES_TABLE} WHERE origin IN (SELECT unnest(?))", [origins]).to_pylist()
    return [DomainFile(origin=r["origin"], kind=r["kind"], url=r["url"], state=r["state"],
                       fetched_at=r["fetched_at"], status=r["status"], reason=r["reason"],
                       body=r["body"].encode("utf-8") if r["body"] is not None else None,
                       content_type=r["content_type"], size=r["n_bytes"], body_sha256=r["body_sha256"])
            for r in rows]


def from_domain_file(signal: ConsentSignal) -> bool:
    """Whether a page's signal came from a per-origin file (its evidence cites the file's URL)."""
    origin = origin_of(signal.url)
    evidence = signal.evidence or ""
    return any(evidence.startswith(f"{origin}{path} (") for path in FILE_PATHS.values())




def reresolve(writer: LedgerWriter, run_id: str, index: CaptureIndex, origins: Iterable[str]) -> int:
    """Re-decide the consent of the stored web documents of ``origins`` against the captures
    that apply at their fetch time; append an observation where it changed. Returns how many."""
    origins = set(origins)
    domains = sorted({d for d in (domain_of(o + "/") for o in origins) if d})
    if not domains:
        return 0
    rows = writer.query(
        f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM document_state "
        f"WHERE source_type = 'web' AND domain IN (SELECT unnest(?)) ORDER BY doc_id", [domains]).to_pylist()
    docs = [Document(**r) for r in rows if r["url"] and origin_of(r["url"]) in origins]
    changed = 0
    for start in range(0, len(docs), REREAD_BATCH):
        batch = docs[start:start + REREAD_BATCH]
        index.prefetch(origin_of(d.url or "") for d in batch)
        own = _page_signals(writer, batch)
        new_docs: list[Document] = []
        new_signals: list[ConsentSignal] = []
        for doc in batch:
            policy = index.policy_at(doc.url or "", doc.fetched_at)
            if policy is None:
                continue
            policy_signals = policy.signals_for(doc.url or "", doc.fetched_at, doc.doc_id)
            signals = [*own.get(doc.doc_id, []), *policy_signals]
            decision = consent_mod.resolve_consent(signals, license=doc.license,
                                                   training_agents=index.agents.training_among(signals))
            evidence = consent_mod.format_evidence(decision) or None
            new_signals.extend(policy_signals)  # the evidence, whether or not the decision changed
            if decision.consent != doc.consent or evidence != doc.consent_evidence:
                new_docs.append(dataclasses.replace(doc, consent=decision.consent, consent_evidence=evidence))
        if new_docs or new_signals:
            changed += writer.write(run_id, documents=new_docs, signals=new_signals).documents
    return changed


def _page_signals(writer: LedgerWriter, docs: Sequence[Document]) -> dict[str, list[ConsentSignal]]:
    """Per document, the signals its page itself carried (headers, meta tags) up to its fetch."""
    fetched = {d.doc_id: d.fetched_at for d in docs}
    rows = writer.query(
        "SELECT url, domain, signal, value, evidence, observed_at, agent, doc_id FROM signal_log "
        "WHERE doc_id IN (SELECT unnest(?))", [list(fetched)]).to_pylist()
    out: dict[str, list[ConsentSignal]] = {}
    for r in rows:
        if r["observed_at"] > fetched[r["doc_id"]]:
            continue
        signal = ConsentSignal(**r)
        if not from_domain_file(signal):
            out.setdefault(r["doc_id"], []).append(signal)
    return out
