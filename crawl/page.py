"""One fetched HTML page -> the document to store, with every signal, license finding and media
reference, and the consent and license decided the one way the project decides them.

Used by the crawler's pipeline and by the WARC importer alike, so a page gets the same answer
whether it was crawled or read from an archive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from crawl.analysis import PageAnalysis
from crawl.domainfiles import DomainPolicy
from crawl.licensing import decide, header_licenses
from crawl.signals import SIGNAL_HEADERS, header_signals, meta_signals
from provenance import consent as consent_mod
from provenance import licenses
from provenance.ids import doc_id_for_url, domain_of, text_sha256
from provenance.records import ConsentSignal, Document, FetchRecord, LicenseFinding, MediaRef
from provenance.store import PendingDocument

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Response headers kept with a page: the signal headers and what decoding needs.
KEPT_HEADERS = (*SIGNAL_HEADERS, "content-type", "content-language", "link")


def content_type_of(value: bytes | str | None) -> str | None:
    """The media type of a Content-Type header value, lower-case, without parameters."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return text.split(";", 1)[0].strip().lower() or None


def looks_like_html(body: bytes) -> bool:
    return body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """The HTTP facts of a fetched page (headers: lower-case name -> values)."""

    url: str
    status: int
    fetched_at: datetime
    headers: Mapping[str, Sequence[str]]
    content_type: str | None
    n_bytes: int


def agent_key(name: str) -> str:
    """An agent name as the consent resolver compares it: product token, case-folded."""
    return name.split("/", 1)[0].strip().casefold()


@dataclass(frozen=True, slots=True)
class AgentLists:
    """Who counts: training agents decide consent; every known agent name is read in <meta>."""

    training: frozenset[str]
    meta_names: frozenset[str]  # lower-case agent names read as <meta name=AGENT>
    training_keys: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: str | None = None) -> AgentLists:
        from provenance.agents import load_agents, training_agents

        agents = load_agents(path)
        training = training_agents(agents)
        return cls(training, frozenset(a.name.casefold() for a in agents),
                   frozenset(agent_key(a) for a in training))

    def training_among(self, signals: list[ConsentSignal]) -> frozenset[str]:
        """The training agents the signals name: all the resolver needs to see, and much
        cheaper for it than the whole list (same decision either way)."""
        return frozenset(s.agent for s in signals if s.agent and agent_key(s.agent) in self.training_keys)


def page_signals(page: FetchedPage, analysis: PageAnalysis, policy: DomainPolicy | None,
                 agents: AgentLists, doc_id: str | None) -> list[ConsentSignal]:
    signals = header_signals(page.url, page.headers, page.fetched_at, doc_id)
    signals += meta_signals(page.url, analysis.metas, agents.meta_names, page.fetched_at, doc_id)
    if policy is not None:
        signals += policy.signals_for(page.url, page.fetched_at, doc_id)
    return signals


def build_document(page: FetchedPage, analysis: PageAnalysis, policy: DomainPolicy | None,
                   agents: AgentLists, *, source_type: str = "web", doc_id: str | None = None) -> PendingDocument:
    """The document of a page whose analysis produced text (``analysis.text`` must be set).
    ``doc_id``: :func:`provenance.ids.doc_id_for_url` of the page's URL, when the caller has it."""
    if not analysis.text:
        raise ValueError(f"{page.url}: no text to store ({analysis.error})")
    doc_id = doc_id or doc_id_for_url(page.url)
    when = page.fetched_at
    signals = page_signals(page, analysis, policy, agents, doc_id)
    findings = [LicenseFinding(url=page.url, source=h.source, raw_value=h.raw_value, license=h.license,
                               observed_at=when, doc_id=doc_id, in_body=h.in_body, scope=h.scope)
                for h in (*header_licenses(page.headers.get("link", ()), page.url), *analysis.licenses)]
    license_decision = licenses.noted(decide(findings))  # the evidence names the vocabulary
    consent = consent_mod.resolve_consent(signals, license=license_decision.license,
                                          training_agents=agents.training_among(signals))
    media = [MediaRef(media_url=m.url, page_doc_id=doc_id, page_url=page.url, discovered_at=when,
                      kind=m.kind, mime_type=m.mime_type, license=m.license,
                      license_evidence=m.license_evidence)
             for m in analysis.media]
    text = analysis.text
    doc = Document(
        doc_id=doc_id, url=page.url, domain=domain_of(page.url), source_type=source_type,  # type: ignore[arg-type]
        fetched_at=when, text_sha256=text_sha256(text), n_chars=len(text), shard="",
        license=license_decision.license, license_evidence=license_decision.evidence,
        consent=consent.consent, consent_evidence=consent_mod.format_evidence(consent) or None,
        title=analysis.title, author=analysis.author, published=analysis.published,
        language=analysis.language,
    )
    fetch = FetchRecord(url=page.url, outcome="document", fetched_at=when, status=page.status,
                        content_type=page.content_type, n_bytes=page.n_bytes, doc_id=doc_id)
    return PendingDocument(doc=doc, text=text, signals=tuple(signals), licenses=tuple(findings),
                           media=tuple(media), fetch=fetch)


def failed_fetch(page: FetchedPage, outcome: str, reason: str) -> FetchRecord:
    """The fetch row of a page that was fetched but not stored (extraction failed, too large, ...)."""
    return FetchRecord(url=page.url, outcome=outcome, fetched_at=page.fetched_at,  # type: ignore[arg-type]
                       status=page.status, reason=reason[:500], content_type=page.content_type,
                       n_bytes=page.n_bytes)
