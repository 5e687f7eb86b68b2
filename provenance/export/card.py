"""README.md: the export's data card (Hugging Face style front matter, then what, how, and limits)."""

from __future__ import annotations

import json

from provenance.export.summary import ExportSummary


def _n(value: int) -> str:
    return f"{value:,}"


def _size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < bound:
            return label
    return "n>10M"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def render(summary: ExportSummary) -> str:
    p = summary.policy
    spdx = [lic["license"] for lic in summary.licenses if not lic["license"].startswith("(")]
    front = [
        "---",
        f"pretty_name: provenance export ({p.name})",
        "license: other",
        f"license_details: {json.dumps(', '.join(spdx) or 'none')}",
        "language:",
        *[f"- {lang['language']}" for lang in summary.languages],
        "size_categories:",
        f"- {_size_category(summary.n_documents)}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- provenance",
        f"- policy-{p.name}",
        "configs:",
        "- config_name: default",
        "  data_files: data/*.parquet",
        "---",
    ]
    share = summary.n_documents / summary.corpus_documents if summary.corpus_documents else 0.0
    out = [*front, "", f"# provenance export: policy `{p.name}`", "",
           f"{_n(summary.n_documents)} documents ({_n(summary.n_chars)} characters) from "
           f"{_n(summary.n_domains)} domains: {share:.1%} of the {_n(summary.corpus_documents)} documents "
           f"in the ledger they were selected from, as of {summary.ledger_as_of or 'an empty ledger'}.", "",
           "Every document was selected because the ledger proves where it came from, under what license, "
           "and that its owner did not reserve AI training (see *Selection*).", "",
           "## Files", "",
           "| file | what |", "|---|---|",
           "| `data/part-NNNNN.parquet` | the documents: text plus provenance columns (zstd Parquet) |",
           "| `manifest.parquet` | one row per document: doc_id, url, license, consent, evidence, cluster, file |",
           f"| `ATTRIBUTION.md` | title, author, source and license of the {_n(summary.n_attribution)} works "
           f"whose license requires attribution |",
           "| `croissant.json` | MLCommons Croissant 1.1 metadata with RAI and PROV-O provenance |", "",
           "## Selection", "",
           f"Policy `{p.name}`: {p.description or p.describe()}.", "",
           f"- Rule: {p.describe()}.",
           f"- Definition: `{json.dumps(p.spec(), sort_keys=True)}`",
           "- Revoked documents (an owner asked to take their work out) are never exported.", "",
           "In the whole ledger: " + ", ".join(f"{_n(v)} {k}" for k, v in summary.ledger_counts.items()) + ".",
           "", "## Licenses", "", "| license | documents | characters |", "|---|---|---|"]
    for lic in summary.licenses:
        name = f"[{lic['license']}]({lic['url']})" if lic["url"] else lic["license"]
        out.append(f"| {_cell(name)} | {_n(lic['documents'])} | {_n(lic['characters'])} |")
    out += ["", "## Consent", "", "| consent | documents |", "|---|---|"]
    out += [f"| {c['consent']} | {_n(c['documents'])} |" for c in summary.consent]
    out += ["", "## Sources", "", "| source type | documents | characters |", "|---|---|---|"]
    out += [f"| {s['source_type']} | {_n(s['documents'])} | {_n(s['characters'])} |" for s in summary.source_types]
    out += ["", f"Largest domains (of {_n(summary.n_domains)}):", "", "| domain | documents | characters |",
            "|---|---|---|"]
    out += [f"| {_cell(d['domain'])} | {_n(d['documents'])} | {_n(d['characters'])} |" for d in summary.domains]
    timeframe = f"{summary.first_fetched} to {summary.last_fetched}" if summary.first_fetched else "none"
    out += ["", "## Collection", "", f"Fetched {timeframe} (UTC), by these runs of provenance:", "",
            "| run | command | started | finished |", "|---|---|---|---|"]
    out += [f"| `{r['run_id']}` | {r['command']} | {r['started_at'] or ''} | {r['finished_at'] or ''} |"
            for r in summary.runs]
    tools = sorted({f"{k} {v}" for r in summary.runs for k, v in r["versions"].items()})
    out += ["", f"Tools: {', '.join(tools) or 'not recorded'}.", "",
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
            f"same bytes.", ""]
    return "\n".join(out)
