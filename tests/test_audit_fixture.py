"""A small fixture ledger for the audit, export and revoke tests, built through the real ledger API.

Documents and their text go through ``DocumentStore`` (real Parquet shards), signals and license
findings through ``LedgerWriter.write``, near-duplicate clusters through ``append_rows`` into
``cluster_log``, and transcription rows through ``append_rows`` into ``transcription_log`` when the
transcribe migration is installed. Consent is decided by the real resolver from the signals.

Every expected number the tests compare against is written out by hand in ``EXPECTED`` (and in
the comments of ``SPECS``), not computed by the code under test.

The corpus (14 documents, 6 domains and one import without a domain):

- open.example: A1 CC-BY-4.0, A2 CC0-1.0, A3 CC-BY-SA-4.0 (canonical of cluster K1), A4 CC-BY-ND-4.0;
  all granted by their license.
- granted.example: G1, no license, granted by TDMRep ``tdm-reservation: 0``.
- mirror.example: M1, a near-copy of A3 without a license, unspecified (K1, not canonical).
- news.example: robots.txt disallows GPTBot and CCBot. N1 all-rights-reserved, N2 CC-BY-4.0 (also
  ``noai``: open license but opted out), N3 CC-BY-NC-4.0 (cluster K2, not canonical).
- blog.example: P1 CC-BY-4.0 granted (canonical of K2, whose other member N3 opted out), P2 no page
  license but a CC BY link in its body (unspecified), P3 CC-BY-NC-4.0, granted at T0, opted out
  at T1 by ``Content-Signal: ai-train=no`` (consent drift).
- import I1 (no URL): MIT, consent column 'granted'.
- transcript T1 of audio embedded in P1 (blog.example), CC-BY-4.0 inherited, granted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from provenance.consent import format_evidence, resolve_consent
from provenance.ids import doc_id_for_key, doc_id_for_url, domain_of, text_sha256
from provenance.ledger import Ledger
from provenance.records import ConsentSignal, Document, LicenseFinding
from provenance.store import DocumentStore, PendingDocument
from provenance.workspace import Workspace

T0 = datetime(2026, 3, 1, 12, 0, 0)
T1 = T0 + timedelta(days=30)


@dataclass(frozen=True)
class Spec:
    key: str
    url: str | None
    license: str | None
    words: int  # the text is this many words
    signals: tuple[tuple[str, str | None, str, str], ...] = ()  # (signal, agent, value, evidence)
    source_type: str = "web"
    title: str | None = None
    author: str | None = None
    body_license: str | None = None  # a license link inside the article body
    text_seed: str | None = None  # documents with the same seed get near-identical text


ROBOTS_NEWS = (("robots_txt", "GPTBot", "disallowed", "User-agent: GPTBot / Disallow: /"),
               ("robots_txt", "CCBot", "disallowed", "User-agent: CCBot / Disallow: /"))

SPECS: tuple[Spec, ...] = (
    Spec("A1", "https://open.example/a1", "CC-BY-4.0", 120, title="Open one", author="Ada",
         signals=(("robots_txt", "GPTBot", "allowed", "User-agent: * / Allow: /"),)),
    Spec("A2", "https://open.example/a2", "CC0-1.0", 80, title="Open two", author="Bo",
         signals=(("robots_txt", "GPTBot", "allowed", "User-agent: * / Allow: /"),)),
    Spec("A3", "https://open.example/a3", "CC-BY-SA-4.0", 200, title="Shared article", author="Cy",
         text_seed="k1", signals=(("robots_txt", "GPTBot", "allowed", "User-agent: * / Allow: /"),)),
    Spec("A4", "https://open.example/a4", "CC-BY-ND-4.0", 60, title="No derivatives", author="Di",
         signals=(("robots_txt", "GPTBot", "allowed", "User-agent: * / Allow: /"),)),
    Spec("G1", "https://granted.example/g1", None, 90, title="Explicit grant",
         signals=(("tdmrep", None, "tdm-reservation=0", "tdm-reservation: 0"),)),
    Spec("M1", "https://mirror.example/m1", None, 201, title="Shared article (mirror)", text_seed="k1"),
    Spec("N1", "https://news.example/n1", "LicenseRef-all-rights-reserved", 300, title="News one",
         author="Newsroom", signals=ROBOTS_NEWS),
    Spec("N2", "https://news.example/n2", "CC-BY-4.0", 150, title="News two", author="Newsroom",
         signals=(*ROBOTS_NEWS, ("meta_robots", None, "noai", '<meta name="robots" content="noai">'))),
    Spec("N3", "https://news.example/n3", "CC-BY-NC-4.0", 100, title="Syndicated", author="Newsroom",
         text_seed="k2", signals=ROBOTS_NEWS),
    Spec("P1", "https://blog.example/p1", "CC-BY-4.0", 101, title="Blog original", author="Eve",
         text_seed="k2"),
    Spec("P2", "https://blog.example/p2", None, 70, title="About licenses", author="Eve",
         body_license="CC-BY-4.0"),
    Spec("P3", "https://blog.example/p3", "CC-BY-NC-4.0", 50, title="Changed mind", author="Eve"),
    Spec("I1", None, "MIT", 40, source_type="import", title="Imported",
         signals=(("import_column", None, "granted", "consent column: granted"),)),
    Spec("T1", "https://blog.example/audio/p1.mp3", "CC-BY-4.0", 30, source_type="transcript",
         title="Podcast"),
)

# K1: A3 (canonical) + M1; K2: P1 (canonical, granted beats opted_out) + N3.
CLUSTERS = {"K1": ("A3", "M1"), "K2": ("P1", "N3")}

EXPECTED = {
    "documents": 14,
    "domains": 5,  # open, granted, mirror, news, blog (the import has none)
    "consent": {"granted": 8, "unspecified": 2, "opted_out": 4},  # A1-4 G1 P1 I1 T1 / M1 P2 / N1-3 P3
    "policies": {
        "open": {"A1", "A2", "A3", "I1", "T1"},
        "research": {"A1", "A2", "A3", "A4", "G1", "P2", "I1", "T1"},
        "strict": {"A1", "A2", "A3", "A4", "I1", "T1"},
    },
    "open_but_opted_out": {"N2"},
    "body_license_only": {"P2"},
    "clusters": 2,
    "clusters_with_mixed_licenses": 2,
    "attribution": {"A1", "A3", "I1", "T1"},  # of `open`: CC BY, CC BY-SA, MIT, CC BY (CC0 needs none)
    "consent_changes": {"P3": ("granted", "opted_out")},
}


def text_for(spec: Spec) -> str:
    base = spec.text_seed or spec.key
    words = [f"{base.lower()}word{i % 17}" for i in range(spec.words)]
    if spec.text_seed and spec.words % 2:  # the near-copy differs by one trailing word
        words[-1] = "different"
    return " ".join(words)


def n_chars(key: str) -> int:
    return len(text_for(spec_of(key)))


def spec_of(key: str) -> Spec:
    return next(s for s in SPECS if s.key == key)


@dataclass
class FixtureLedger:
    ledger: Ledger
    ids: dict[str, str] = field(default_factory=dict)  # key -> doc_id

    @property
    def workspace(self) -> Workspace:
        return self.ledger.workspace

    def keys(self, doc_ids) -> set[str]:
        back = {v: k for k, v in self.ids.items()}
        return {back[d] for d in doc_ids}


def _doc_id(spec: Spec) -> str:
    return doc_id_for_url(spec.url) if spec.url else doc_id_for_key("fixture", spec.key)


def _pending(spec: Spec, when: datetime, extra_signals=(), parent: str | None = None) -> PendingDocument:
    doc_id = _doc_id(spec)
    domain = domain_of(spec.url)
    signals = tuple(ConsentSignal(url=spec.url or f"import:{spec.key}", domain=domain, signal=s,  # type: ignore[arg-type]
                                  agent=a, value=v, evidence=e, observed_at=when, doc_id=doc_id)
                    for s, a, v, e in (*spec.signals, *extra_signals))
    decision = resolve_consent(signals, license=spec.license)
    text = text_for(spec)
    findings = []
    if spec.license and spec.url:
        findings.append(LicenseFinding(url=spec.url, source="rel_license", raw_value=spec.license,
                                       license=spec.license, observed_at=when, doc_id=doc_id))
    if spec.body_license:
        findings.append(LicenseFinding(url=spec.url, source="body_link",
                                       raw_value="https://creativecommons.org/licenses/by/4.0/",
                                       license=spec.body_license, observed_at=when, doc_id=doc_id,
                                       in_body=True))
    doc = Document(doc_id=doc_id, url=spec.url, domain=domain, source_type=spec.source_type,
                   fetched_at=when, text_sha256=text_sha256(text), n_chars=len(text), shard="",
                   license=spec.license,
                   license_evidence=f"rel_license: {spec.license}" if spec.license else None,
                   consent=decision.consent, consent_evidence=format_evidence(decision) or None,
                   title=spec.title, author=spec.author, language="en", parent_doc_id=parent)
    return PendingDocument(doc=doc, text=text, signals=signals, licenses=tuple(findings))


def _store(ledger: Ledger, command: str, source_type: str, batch: list[PendingDocument]) -> str:
    with ledger.writer() as w:
        run = w.start_run(command, {"fixture": True})
        DocumentStore(w, run.run_id, source_type).write_batch(batch)
        w.finish_run(run, {"documents": len(batch)})
    return run.run_id


def build_fixture(root: Path) -> FixtureLedger:
    """The fixture workspace under ``root`` (see the module docstring)."""
    ledger = Ledger(Workspace(root))
    fx = FixtureLedger(ledger, {s.key: _doc_id(s) for s in SPECS})
    web = [s for s in SPECS if s.source_type == "web"]
    _store(ledger, "crawl", "web", [_pending(s, T0 + timedelta(minutes=i)) for i, s in enumerate(web)])
    # The re-crawl of P3: its site now says Content-Signal: ai-train=no.
    p3 = spec_of("P3")
    _store(ledger, "crawl", "web", [_pending(p3, T1, extra_signals=(
        ("content_signal", None, "ai-train=no", "Content-Signal: ai-train=no, search=yes"),))])
    _store(ledger, "import", "import", [_pending(spec_of("I1"), T0)])
    t1 = spec_of("T1")
    transcript = _pending(t1, T0 + timedelta(hours=1), parent=fx.ids["P1"])
    transcript = dataclasses.replace(transcript, licenses=(), signals=())
    run_id = _store(ledger, "transcribe", "transcript", [transcript])
    with ledger.writer() as w:
        if w.query("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'transcription_log'"
                   ).column("n")[0].as_py():
            w.append_rows("transcription_log", pa.Table.from_pylist([{
                "transcription_id": f"{run_id}/{fx.ids['T1']}", "doc_id": fx.ids["T1"],
                "media_url": t1.url, "parent_doc_id": fx.ids["P1"], "page_url": spec_of("P1").url,
                "status": "done", "duration_s": 42.0, "model": "tiny.en", "language": "en",
                "n_segments": 3, "n_suspect_segments": 1, "mean_avg_logprob": -0.4,
                "max_compression_ratio": 1.7, "max_no_speech_prob": 0.7, "flags": ["suspect_segments"],
                "text_sha256": transcript.doc.text_sha256, "n_chars": transcript.doc.n_chars,
                "transcribed_at": T0 + timedelta(hours=1), "run_id": run_id}]))
        run = w.start_run("dedup", {"fixture": True})
        rows = []
        for cluster, members in CLUSTERS.items():
            for i, key in enumerate(members):
                rows.append({"seq": 1, "doc_id": fx.ids[key], "dup_cluster": cluster, "is_canonical": i == 0,
                             "similarity": 1.0 if i == 0 else 0.95, "reason": "fixture",
                             "assigned_at": T0 + timedelta(hours=2), "run_id": run.run_id})
        w.append_rows("cluster_log", pa.Table.from_pylist(rows))
        w.finish_run(run, {"clusters": len(CLUSTERS)})
    return fx


@pytest.fixture(scope="module")
def fixture_ledger(tmp_path_factory) -> FixtureLedger:
    return build_fixture(tmp_path_factory.mktemp("fixture") / "ws")


def test_fixture_documents_have_the_states_the_tests_assume(fixture_ledger):
    rows = fixture_ledger.ledger.query(
        "SELECT doc_id, consent, license, dup_cluster, is_canonical, revoked FROM documents").to_pylist()
    assert len(rows) == EXPECTED["documents"]
    by_consent: dict[str, set[str]] = {}
    for r in rows:
        by_consent.setdefault(r["consent"], set()).add(r["doc_id"])
    assert {k: len(v) for k, v in by_consent.items()} == EXPECTED["consent"]
    assert fixture_ledger.keys(by_consent["opted_out"]) == {"N1", "N2", "N3", "P3"}
    assert not any(r["revoked"] for r in rows)
    canon = {r["doc_id"] for r in rows if not r["is_canonical"]}
    assert fixture_ledger.keys(canon) == {"M1", "N3"}
