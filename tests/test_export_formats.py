"""What export writes is read as is by the ecosystem (Hugging Face ``datasets``, ``mlcroissant``,
YAML readers) and is safe to open: hostile titles, authors and URLs stay text.

The real libraries run offline (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE, caches under tmp_path).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from test_audit_fixture import T0, Spec, _pending, _store, build_fixture

from provenance.export import export_policy
from provenance.export.escape import md_code, md_link, md_text
from provenance.ledger import Ledger
from provenance.policies import builtin
from provenance.workspace import Workspace

HOSTILE = (
    # key, url, title, author
    ("H1", "javascript:alert(1)", "x", None),
    ("H2", "https://evil.example/a?q=<script>", '<script>alert("t")</script> [click](javascript:alert(1)) '
     "![pixel](https://evil.example/p.png)\n---\nlicense: mit\n# heading | cell", "no"),
    ("H3", "file:///etc/passwd", "no", "<img src=x onerror=alert(1)>"),
    ("H4", "data:text/html,<b>x</b>", "$\\begin{x}$ **bold** `code` <a href='javascript:x'>a</a>", "Ada &amp; Bo"),
)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    ledger = Ledger(Workspace(root / "ws"))
    pending = []
    for key, url, title, author in HOSTILE:
        p = _pending(Spec(key, url, "CC-BY-4.0", 20, title=title, author=author), T0)
        pending.append(dataclasses.replace(p, doc=dataclasses.replace(p.doc, language="no")))  # Norwegian
    _store(ledger, "import", "import", pending)
    return export_policy(ledger, builtin("open"), root / "out")


@pytest.fixture(scope="module")
def regular(tmp_path_factory):
    root = tmp_path_factory.mktemp("regular")
    fx = build_fixture(root / "ws")
    return export_policy(fx.ledger, builtin("research"), root / "out", url="https://data.example/research")


def _links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)]*)\)", markdown)


def test_only_web_urls_become_links(hostile):
    text = (hostile.out_dir / "ATTRIBUTION.md").read_text()
    assert hostile.n_attribution == len(HOSTILE)
    assert all(t.startswith(("https://", "http://")) for t in _links(text)), _links(text)
    assert "https://evil.example/a?q=%3Cscript%3E" in _links(text)
    for scheme in ("javascript:", "file:", "data:"):
        assert not any(t.startswith(scheme) for t in _links(text))
    card = (hostile.out_dir / "README.md").read_text()
    assert all(t.startswith(("https://", "http://")) for t in _links(card))


def test_titles_and_authors_are_text_in_markdown_and_html(hostile):
    text = (hostile.out_dir / "ATTRIBUTION.md").read_text()
    for raw in ("<script", "<img", "<a href", "<b>"):
        assert raw not in text
    assert "&lt;script&gt;" in text and "&lt;img src=x onerror=alert\\(1\\)&gt;" in text
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in text and "\\!\\[pixel\\]" in text
    assert "Ada &amp;amp; Bo" in text and "\\$" in text and "\\*\\*bold\\*\\*" in text
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == len(HOSTILE)  # a title's newlines cannot start a line (heading, list, ---)
    assert not any(line.startswith(("# heading", "---", "license:")) for line in text.splitlines())
    assert all(line.count(" | ") == 0 or "\\|" in line for line in items)


def test_the_card_yaml_reads_back_exactly(hostile):
    card = (hostile.out_dir / "README.md").read_text()
    assert card.startswith("---\n")
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["language"] == ["no"]  # not False
    assert front["license"] == ["cc-by-4.0"]
    assert front["configs"] == [{"config_name": "default",
                                 "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}]
    assert front["dataset_info"]["splits"][0]["num_examples"] == len(HOSTILE)


def test_croissant_json_is_inert_inside_html(hostile):
    raw = (hostile.out_dir / "croissant.json").read_text()
    assert "<" not in raw and ">" not in raw
    meta = json.loads(raw)
    assert {e["@id"] for e in meta["prov:wasDerivedFrom"]} == {"https://evil.example/"}


def test_escape_helpers():
    assert md_text("a\n\n# b") == "a # b"
    assert md_link("t", "javascript:alert(1)") == "t"
    assert md_link("t", "https://x.example/a(b)\"") == "[t](https://x.example/a%28b%29%22)"
    assert md_link("t", "https://x.example/a b") == "t"  # not a URL
    assert md_link("t", "http://") == "t" and md_link("t", None) == "t" and md_link("t", "//x.example") == "t"
    assert md_code("a`b") == "``a`b``" and md_code("`") == "`` ` ``"


def test_licenses_outside_hugging_face_list_are_other_with_name_and_link(regular):
    front = yaml.safe_load((regular.out_dir / "README.md").read_text().split("---\n")[1])
    # research clears CC-BY-ND (on the list), MIT, and documents without a license (unknown)
    assert "cc-by-nd-4.0" in front["license"] and "mit" in front["license"] and "unknown" in front["license"]
    assert all(re.fullmatch(r"[a-z0-9.+-]+", x) for x in front["license"])


def test_datasets_loads_the_export_with_id_and_text(regular, tmp_path):
    import datasets

    loaded = datasets.load_dataset(str(regular.out_dir), cache_dir=str(tmp_path / "cache"))
    train = loaded["train"]
    manifest = pq.read_table(regular.out_dir / "manifest.parquet")
    assert list(loaded) == ["train"]
    assert train.num_rows == manifest.num_rows == regular.n_documents
    assert {"id", "text"} <= set(train.column_names)
    assert sorted(train["id"]) == sorted(manifest.column("doc_id").to_pylist())
    assert str(train.features["fetched_at"].pa_type) == "timestamp[us, tz=UTC]"


def test_mlcroissant_validates_and_iterates_the_records(regular):
    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=str(regular.out_dir / "croissant.json"))
    assert not dataset.metadata.issues.errors
    assert dataset.metadata.url == "https://data.example/research"
    documents = list(dataset.records("documents"))
    manifest = list(dataset.records("manifest"))
    assert len(documents) == len(manifest) == regular.n_documents
    ids = {r["documents/id"].decode() for r in documents}
    assert ids == {r["manifest/doc_id"].decode() for r in manifest}
    assert all(r["documents/fetched_at"].tzname() == "UTC" for r in documents)


def test_export_is_unchanged_by_the_ecosystem_reading_it(regular, tmp_path):
    from provenance.export.verify import verify_export

    assert verify_export(Path(regular.out_dir)).ok


def test_croissant_version_follows_the_content(tmp_path):
    from provenance.revoke import revoke

    fx = build_fixture(tmp_path / "ws")

    def version(out: str) -> str:
        result = export_policy(fx.ledger, builtin("open"), tmp_path / out)
        return json.loads((result.out_dir / "croissant.json").read_text())["version"]

    assert version("a") == "1.0.0"
    assert version("b") == "1.0.0"  # the same content keeps its version wherever it is written
    revoke(fx.ledger, url="https://open.example/a1", reason="owner request")
    assert version("c") == "1.1.0"  # new content, next version
    assert version("d") == "1.1.0"


def test_card_license_never_maps_to_a_more_open_license():
    from provenance.export.hf_licenses import card_license

    assert card_license(["CC-BY-4.0", "CC0-1.0", "CC-BY-4.0"]).ids == ["cc-by-4.0", "cc0-1.0"]
    mixed = card_license(["MIT", "LicenseRef-all-rights-reserved", "MIT OR Apache-2.0", None])
    assert mixed.ids == ["mit", "other", "unknown"]
    assert mixed.name == "per-document-licenses" and mixed.link == "ATTRIBUTION.md"
    assert card_license(["GPL-2.0-or-later"]).ids == ["other"]  # "or later" is not HF's gpl-2.0
    assert card_license([]).ids == ["unknown"] and card_license([]).name is None
