"""README.md: the export's data card: Hugging Face front matter (YAML written by PyYAML), then what,
how, and limits. Every value from the ledger goes through :mod:`provenance.export.escape`."""

from __future__ import annotations

import json
import re

import yaml

from provenance.export.escape import md_code, md_link, md_text
from provenance.export.hf_licenses import card_license
from provenance.export.summary import ExportSummary

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
NONE_FOUND = "(none found)"


def _n(value: int) -> str:
    return f"{value:,}"


def _size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < bound:
            return label
    return "n>10M"


def front_matter(summary: ExportSummary) -> dict:
    """The card's metadata (Hugging Face dataset card fields)."""
    p = summary.policy
    lic = card_license([None if x["license"] == NONE_FOUND else x["license"] for x in summary.licenses])
    meta: dict = {"pretty_name": f"provenance export ({p.name})", "license": lic.ids}
    if lic.name:
        meta["license_name"] = lic.name
        meta["license_link"] = lic.link
    languages = [x["language"] for x in summary.languages if LANGUAGE_CODE.match(str(x["language"]))]
    if languages:
        meta["language"] = languages
    meta.update({
        "size_categories": [_size_category(summary.n_documents)],
        "task_categories": ["text-generation"],
        "tags": ["provenance", f"policy-{p.name}"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}],
        "dataset_info": {
            "splits": [{"name": "train", "num_bytes": summary.arrow_bytes, "num_examples": summary.n_documents}],
            "download_size": sum(size for _path, _sha, size in summary.data_files),
            "dataset_size": summary.arrow_bytes,
        },
    })
    return meta


def _yaml(meta: dict) -> str:
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def render(summary: ExportSummary) -> str:
    p = summary.policy
    front = ["---", _yaml(front_matter(summary)).rstrip("\n"), "---"]
    share = summary.n_documents / summary.corpus_documents if summary.corpus_documents else 0.0
    out = [*front, "", f"# provenance export: policy `{p.name}`", "",
           f"{_n(summary.n_documents)} documents ({_n(summary.n_chars)} characters) from "
           f"{_n(summary.n_domains)} domains: {share:.1%} of the {_n(summary.corpus_documents)} documents "
           f"in the ledger they were selected from, as of {summary.ledger_as_of or 'an empty ledger'}.", "",
           f"Root hash (SHA-256 over every document's doc_id and text hash; check it with "
           f"`provenance verify`): `{summary.root_sha256}`.", "",
           "Every document was selected because the ledger proves where it came from, under what license, "
           "and that its owner did not reserve AI training (see *Selection*).", "",
           "## Files", "",
           "| file | what |", "|---|---|",
           "| `data/train-NNNNN.parquet` | the documents: text plus provenance columns (zstd Parquet) |",
           "| `manifest.parquet` | one row per document: doc_id, url, license, consent, evidence, cluster, "
           "text_sha256, file |",
           f"| `ATTRIBUTION.md` | title, author, source and license of the {_n(summary.n_attribution)} works "
           f"whose license requires attribution |",
           "| `croissant.json` | MLCommons Croissant 1.1 metadata with RAI and PROV-O provenance |",
           "| `provenance-export.json` | the SHA-256 of every file and the root hash (`provenance verify`) |", "",
           "## Selection", "",
           f"Policy `{p.name}`: {md_text(p.description or p.describe())}.", "",
           f"- Rule: {md_text(p.describe())}.",
           f"- Definition: {md_code(json.dumps(p.spec(), sort_keys=True))}",
           "- Revoked documents (an owner asked to take their work out) are never exported.", "",
           "In the whole ledger: " + ", ".join(f"{_n(v)} {k}" for k, v in summary.ledger_counts.items()) + ".",
           "", "## Licenses", "", "| license | documents | characters |", "|---|---|---|"]
    for lic in summary.licenses:
        out.append(f"| {md_link(md_text(lic['license']), lic['url'])} | {_n(lic['documents'])} | "
                   f"{_n(lic['characters'])} |")
    out += ["", "## Consent", "", "| consent | documents |", "|---|---|"]
    out += [f"| {md_text(c['consent'])} | {_n(c['documents'])} |" for c in summary.consent]
    out += ["", "## Sources", "", "| source type | documents | characters |", "|---|---|---|"]
    out += [f"| {md_text(s['source_type'])} | {_n(s['documents'])} | {_n(s['characters'])} |"
            for s in summary.source_types]
    out += ["", f"Largest domains (of {_n(summary.n_domains)}):", "", "| domain | documents | characters |",
            "|---|---|---|"]
    out += [f"| {md_text(d['domain'])} | {_n(d['documents'])} | {_n(d['characters'])} |" for d in summary.domains]
    timeframe = f"{summary.first_fetched} to {summary.last_fetched}" if summary.first_fetched else "none"
    out += ["", "## Collection", "", f"Fetched {timeframe} (UTC), by these runs of provenance:", "",
            "| run | command | started | finished |", "|---|---|---|---|"]
    out += [f"| {md_code(r['run_id'])} | {md_text(r['command'])} | {md_text(r['started_at'] or '')} | "
            f"{md_text(r['finished_at'] or '')} |" for r in summary.runs]
    tools = sorted({f"{k} {v}" for r in summary.runs for k, v in r["versions"].items()})
    out += ["", f"Tools: {md_text(', '.join(tools) or 'not recorded')}.", "",
            f"{_n(summary.clusters)} exported documents stand for a near-duplicate cluster (the canonical "
            f"member, chosen for the clearest rights, then the earliest fetch).", "",
            "## Limitations", "",
            "- License and consent are what the source stated in machine-readable form when it was fetched.",
            "- Consent can change after the fetch; an owner's revocation is honoured by later exports "
            "(check the ledger's `revocation_impact` view before reusing this copy).",
            "- The text was not screened for personal data.", "",
            "## Reproduce", "",
            "From the workspace this export was made from:", "",
            "```",
            f"provenance export --policy {p.name if p.source.startswith('built-in') else 'POLICY.toml'} --out DIR",
            f"provenance sql \"SELECT * FROM exports WHERE manifest_sha256 = '{summary.manifest_sha256}'\"",
            "```", "",
            f"The manifest's SHA-256 is `{summary.manifest_sha256}`; the same ledger and policy give the "
            f"same bytes. Anyone can check this copy, without the workspace:", "",
            "```", f"provenance verify DIR --root {summary.root_sha256}", "```", ""]
    return "\n".join(out)
