"""provenance relicense: stored evidence re-read with the current vocabulary (issue 13, item 3).

A real ledger holds documents whose statements an older vocabulary read wrongly (values written
as that vocabulary wrote them, marked with its version); relicense must append new readings,
keep the old rows, change the documents' licenses and be idempotent.
"""

from __future__ import annotations

from datetime import datetime, UTC

from provenance import licenses
from provenance.ids import doc_id_for_url, text_sha256
from provenance.ledger import Ledger
from provenance.records import Document, LicenseFinding
from provenance.store import DocumentStore, PendingDocument

T0 = datetime(2024, 5, 1, tzinfo=UTC)
OLD = "1+old-vocabulary"
PAGES = {
    # url -> (raw statement, what the old vocabulary said, consent and its evidence then)
    "https://data.example.de/a": ("Datenlizenz Deutschland – Namensnennung – Version 2.0", "CC-BY-2.0",
                                  "granted", "license=CC-BY-2.0"),
    "https://example.es/b": ("Atribución-SinDerivadas 4.0", "CC-BY-4.0", "granted", "license=CC-BY-4.0"),
    "https://example.org/c": ("Public Domain", "CC-PDM-1.0", "granted", "license=CC-PDM-1.0"),
    "https://example.org/d": ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", "granted",
                              "license=CC-BY-4.0"),
}


def _build(ledger: Ledger) -> None:
    batch = []
    for url, (raw, old, consent, evidence) in PAGES.items():
        doc_id = doc_id_for_url(url)
        text = f"text of {url}"
        finding = LicenseFinding(url=url, source="rel_license", raw_value=raw, license=old, observed_at=T0,
                                 doc_id=doc_id, vocabulary=OLD)
        doc = Document(doc_id=doc_id, url=url, domain=url.split("/")[2], source_type="web", fetched_at=T0,
                       text_sha256=text_sha256(text), n_chars=len(text), shard="", license=old,
                       license_evidence=f"rel_license: {raw} (vocabulary {OLD})", consent=consent,
                       consent_evidence=evidence)
        batch.append(PendingDocument(doc=doc, text=text, licenses=(finding,)))
    with ledger.writer() as w:
        run = w.start_run("crawl")
        DocumentStore(w, run.run_id, "web").write_batch(batch)
        w.finish_run(run)


def _docs(ledger: Ledger) -> dict[str, tuple]:
    rows = ledger.query("SELECT url, license, license_evidence, consent FROM documents").to_pylist()
    return {r["url"]: (r["license"], r["license_evidence"], r["consent"]) for r in rows}


def test_relicense_appends_new_readings_and_is_idempotent(workspace, cli):
    ledger = Ledger(workspace)
    _build(ledger)
    before = ledger.query("SELECT * FROM license_findings ORDER BY url").to_pylist()
    n_doc_rows = ledger.query("SELECT count(*) AS n FROM document_log").column("n")[0].as_py()

    result = cli("-w", str(workspace.root), "relicense", "--json")
    assert result.code == 0, result.err
    out = result.json()
    assert out["vocabulary"] == licenses.vocabulary_version()
    # d reads as before: its decision stays the old vocabulary's (no new observation for a re-stamp)
    assert out["findings_changed"] == 3 and out["documents_changed"] == 3

    docs = _docs(ledger)
    assert docs["https://data.example.de/a"][0] == "DL-DE-BY-2.0"
    assert docs["https://example.es/b"][0] == "CC-BY-ND-4.0"
    assert docs["https://example.org/c"][0] == licenses.PUBLIC_DOMAIN_CLAIM
    assert docs["https://example.org/d"][0] == "CC-BY-4.0"
    assert all(f"(vocabulary {licenses.vocabulary_version()})" in d[1] for u, d in docs.items() if "/d" not in u)
    assert docs["https://example.org/d"][1].endswith(f"(vocabulary {OLD})")
    # consent rested on the old license alone: the public-domain text grants nothing
    assert docs["https://example.org/c"][2] == "unspecified"
    assert docs["https://example.es/b"][2] == "granted"  # CC BY-ND is still an explicit permission

    after = ledger.query("SELECT * FROM license_findings ORDER BY url, observed_at").to_pylist()
    for old in before:  # history is kept as it was
        assert old in after
    new = [r for r in after if r not in before]
    assert len(new) == 3 and all(r["vocabulary"] == licenses.vocabulary_version() for r in new)
    assert ledger.query("SELECT count(*) AS n FROM document_log").column("n")[0].as_py() == n_doc_rows + 3
    as_of = ledger.query("SELECT license FROM document_log WHERE url = 'https://example.es/b' ORDER BY seq"
                         ).column("license").to_pylist()
    assert as_of == ["CC-BY-4.0", "CC-BY-ND-4.0"]

    again = cli("-w", str(workspace.root), "relicense", "--json")
    assert again.code == 0, again.err
    assert (again.json()["findings_changed"], again.json()["documents_changed"]) == (0, 0)
    assert ledger.query("SELECT * FROM license_findings ORDER BY url, observed_at").to_pylist() == after
    assert _docs(ledger) == docs


def test_new_findings_record_the_vocabulary(workspace):
    ledger = Ledger(workspace)
    url = "https://example.org/e"
    text = "e"
    finding = LicenseFinding(url=url, source="rel_license", raw_value="CC BY 4.0", license="CC-BY-4.0",
                             observed_at=T0, doc_id=doc_id_for_url(url))
    assert finding.vocabulary == licenses.vocabulary_version()
    doc = Document(doc_id=doc_id_for_url(url), url=url, domain="example.org", source_type="web",
                   fetched_at=T0, text_sha256=text_sha256(text), n_chars=1, shard="")
    with ledger.writer() as w:
        run = w.start_run("crawl")
        DocumentStore(w, run.run_id, "web").write_batch([PendingDocument(doc=doc, text=text, licenses=(finding,))])
        w.finish_run(run)
    rows = ledger.query("SELECT vocabulary FROM license_findings").to_pylist()
    assert rows == [{"vocabulary": licenses.vocabulary_version()}]


def test_expressions_get_their_class_in_the_ledger(workspace):
    """An OR the licensee may choose is as open as its most open branch; an AND is not open when
    a part is not: document_rights (what policies select from) says so once export/audit synced."""
    from provenance.policies import sync_license_classes

    ledger = Ledger(workspace)
    batch = []
    for url, value in (("https://example.org/or", "MIT OR CC-BY-NC-4.0"),
                       ("https://example.org/and", "MIT AND CC-BY-NC-4.0")):
        text = url
        doc = Document(doc_id=doc_id_for_url(url), url=url, domain="example.org", source_type="web",
                       fetched_at=T0, text_sha256=text_sha256(text), n_chars=len(text), shard="",
                       license=value, license_evidence=f"rel_license: {value}")
        batch.append(PendingDocument(doc=doc, text=text))
    with ledger.writer() as w:
        run = w.start_run("crawl")
        DocumentStore(w, run.run_id, "web").write_batch(batch)
        w.finish_run(run)
        assert sync_license_classes(w, from_documents=True) > 0
    with ledger.writer():
        pass  # a later sync (every writer runs one) keeps the expressions' rows
    rows = ledger.query("SELECT url, license_open, license_commercial FROM document_rights ORDER BY url").to_pylist()
    assert rows == [
        {"url": "https://example.org/and", "license_open": False, "license_commercial": False},
        {"url": "https://example.org/or", "license_open": True, "license_commercial": True},
    ]
