"""croissant.json: MLCommons Croissant 1.1 metadata, with RAI and PROV-O provenance, from the ledger.

Conforms to http://mlcommons.org/croissant/1.1 and declares the Responsible AI vocabulary
(http://mlcommons.org/croissant/RAI/1.0). Provenance uses W3C PROV-O, as Croissant 1.1 recommends:
the dataset ``prov:wasDerivedFrom`` its source domains, ``prov:wasGeneratedBy`` the runs recorded in
the ledger (crawl, import, transcribe, dedup) and the export itself, ``prov:wasAttributedTo`` the
software. Nothing in it depends on the time of the export.
"""

from __future__ import annotations

import json
from typing import Any

from provenance.export.escape import hostname, json_for_html, web_url
from provenance.export.summary import ExportSummary

# The Croissant 1.1 JSON-LD context (as the specification and mlcroissant write it: schema.org over
# https), plus the W3C PROV-O prefix for the provenance properties.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "prov": "http://www.w3.org/ns/prov#",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "sdVersion": "cr:sdVersion",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# (column, Croissant data type, description) of the data files and of the manifest.
DATA_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("id", "sc:Text", "Stable document id (96-bit hex): the provenance ledger's doc_id."),
    ("url", "sc:URL", "Where the document was fetched (NULL for imported rows without one)."),
    ("domain", "sc:Text", "Host of the URL, without www."),
    ("title", "sc:Text", "Title of the work, as the source gave it."),
    ("author", "sc:Text", "Author of the work, where the source stated one."),
    ("language", "sc:Text", "Language code, where known."),
    ("source_type", "sc:Text", "'web', 'transcript' (speech transcribed with Whisper) or 'import'."),
    ("text", "sc:Text", "The text of the document."),
    ("n_chars", "sc:Integer", "Length of the text in characters."),
    ("text_sha256", "sc:Text", "SHA-256 of the text (UTF-8)."),
    ("license", "sc:Text", "SPDX id of the license (LicenseRef-* where SPDX has none)."),
    ("license_url", "sc:URL", "Where the license text is."),
    ("license_evidence", "sc:Text", "Which statement of the source named the license."),
    ("consent", "sc:Text", "Consent to AI training: 'granted' or 'unspecified' (never 'opted_out' under the built-in policies)."),
    ("consent_evidence", "sc:Text", "The machine-readable signals (or license) consent was decided from."),
    ("cluster", "sc:Text", "Near-duplicate cluster the document stands for (NULL: none)."),
    ("fetched_at", "sc:DateTime", "When the document was fetched (UTC)."),
)
MANIFEST_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("doc_id", "sc:Text", "Document id (joins the data files)."),
    ("url", "sc:URL", "Source URL."),
    ("license", "sc:Text", "SPDX id of the license."),
    ("consent", "sc:Text", "Consent to AI training."),
    ("evidence", "sc:Text", "License and consent evidence in one line."),
    ("cluster", "sc:Text", "Near-duplicate cluster."),
    ("file", "sc:Text", "The data file holding the text."),
)


def _fields(record_set: str, source: dict[str, Any], fields: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
    return [{"@type": "cr:Field", "@id": f"{record_set}/{name}", "name": name, "description": desc,
             "dataType": dtype, "source": {**source, "extract": {"column": name}}}
            for name, dtype, desc in fields]


def _timeframe(summary: ExportSummary) -> list[str]:
    return [t for t in (summary.first_fetched, summary.last_fetched) if t]


def metadata(summary: ExportSummary) -> dict[str, Any]:
    policy = summary.policy
    sources = [h for h in (hostname(d["domain"]) for d in summary.domains) if h]
    commands = sorted({r["command"] for r in summary.runs})
    tools = sorted({f"{k} {v}" for r in summary.runs for k, v in r["versions"].items()})
    license_urls = sorted({u for u in (web_url(lic["url"]) for lic in summary.licenses) if u})
    licenses_text = ", ".join(f"{lic['license']} ({lic['documents']})" for lic in summary.licenses)
    distribution: list[dict[str, Any]] = [{
        "@type": "cr:FileObject", "@id": "manifest.parquet", "name": "manifest.parquet",
        "description": "One row per document: doc_id, url, license, consent, evidence, cluster, file.",
        "contentUrl": "manifest.parquet", "encodingFormat": "application/x-parquet",
        "sha256": summary.manifest_sha256,
    }]
    for path, sha, size in summary.data_files:
        distribution.append({"@type": "cr:FileObject", "@id": path, "name": path, "contentUrl": path,
                             "contentSize": f"{size} B", "encodingFormat": "application/x-parquet",
                             "sha256": sha})
    distribution.append({"@type": "cr:FileSet", "@id": "data-files", "name": "data-files",
                         "description": "The documents with their text (zstd Parquet).",
                         "encodingFormat": "application/x-parquet", "includes": "data/*.parquet"})
    activities = [{"@type": "prov:Activity", "@id": f"run:{r['run_id']}", "prov:label": r["command"],
                   "prov:startedAtTime": r["started_at"], "prov:endedAtTime": r["finished_at"]}
                  for r in summary.runs]
    activities.append({"@type": "prov:Activity", "@id": f"export:{policy.name}",
                       "prov:label": f"provenance export --policy {policy.name}",
                       "prov:used": [{"@id": f"run:{r['run_id']}"} for r in summary.runs],
                       "description": policy.describe()})
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"],
        "name": f"provenance-export-{policy.name}",
        "description": (f"{summary.n_documents} documents ({summary.n_chars} characters) from "
                        f"{summary.n_domains} domains, selected from a provenance ledger by the export "
                        f"policy '{policy.name}': {policy.describe()}."),
        **({"url": summary.url} if summary.url else {}),
        "version": summary.version,
        "identifier": f"urn:sha256:{summary.root_sha256}",
        "sha256": summary.root_sha256,
        "license": license_urls or ["https://spdx.org/licenses/"],
        "creator": {"@type": "Person", "name": summary.creator},
        "datePublished": summary.ledger_as_of,
        "dateModified": summary.ledger_as_of,
        "inLanguage": [lang["language"] for lang in summary.languages],
        "keywords": ["provenance", "license", "consent", "AI training data", f"policy:{policy.name}"],
        "isLiveDataset": False,
        "citeAs": (f"provenance export, policy {policy.name}, version {summary.version}, root sha256 "
                   f"{summary.root_sha256}"),
        "usageInfo": [{"@type": "CreativeWork", "name": f"Export policy {policy.name}",
                       "description": policy.describe(), "text": json.dumps(policy.spec(), sort_keys=True)},
                      {"@type": "CreativeWork", "name": "Attribution",
                       "description": f"{summary.n_attribution} works require attribution: see ATTRIBUTION.md.",
                       "url": "ATTRIBUTION.md"}],
        "prov:wasDerivedFrom": [{"@id": f"https://{d}/", "@type": "prov:Entity", "name": d} for d in sources],
        "prov:wasGeneratedBy": activities,
        "prov:wasAttributedTo": {"@type": "prov:SoftwareAgent",
                                 "prov:label": "provenance (github.com provenance project)",
                                 "description": "; ".join(tools)},
        "rai:dataCollection": (
            f"Collected by the provenance tool ({', '.join(commands) or 'no runs recorded'}): web pages "
            f"crawled politely (robots.txt obeyed for the crawler's own user agent), speech transcribed "
            f"with Whisper, and imported corpora; every document's source, license and consent signals "
            f"were recorded in a DuckDB ledger with evidence."),
        "rai:dataCollectionType": sorted({{"crawl": "Web Scraping", "import": "Secondary Data analysis",
                                           "transcribe": "Software Collection", "dedup": "Software Collection"
                                           }.get(c, "Others") for c in commands}),
        "rai:dataCollectionTimeframe": _timeframe(summary),
        "rai:dataCollectionRawData": (
            f"Sources: {summary.n_domains} domains; largest: {', '.join(sources[:10]) or 'none'}. "
            f"Licenses: {licenses_text or 'none'}."),
        "rai:dataPreprocessingProtocol": [
            "Main text extracted from HTML with trafilatura; speech transcribed with faster-whisper.",
            "Licenses normalised to SPDX ids; consent decided from robots.txt (AI agents), noai, TDMRep, "
            "AIPREF Content-Usage, Content-Signal and ai.txt, the most restrictive signal winning.",
            "Near-duplicates clustered with MinHash LSH; one canonical member per cluster kept.",
            f"Selected by the export policy '{policy.name}': {policy.describe()}.",
        ],
        "rai:dataUseCases": [f"Training and evaluation of AI models within the terms of the licenses "
                             f"listed and of the policy '{policy.name}'."],
        "rai:dataLimitations": [
            "License and consent are as machine-readable on the source at fetch time; a license stated "
            "only in prose may be missed, and consent can change after the fetch (revocations are "
            "honoured by later exports).",
            "Transcripts may contain recognition errors (see the ledger's transcriptions view).",
        ],
        "rai:personalSensitiveInformation": [
            "Not screened: web text and speech may contain names and other personal data."],
        "rai:dataReleaseMaintenancePlan": [
            "Re-export from the ledger after revocations or re-crawls; the ledger's revocation_impact "
            "view lists every export holding a revoked document."],
        "distribution": distribution,
        "recordSet": [
            {"@type": "cr:RecordSet", "@id": "documents", "name": "documents",
             "description": "One record per document, with its text and provenance.",
             "key": {"@id": "documents/id"},
             "field": _fields("documents", {"fileSet": {"@id": "data-files"}}, DATA_FIELDS)},
            {"@type": "cr:RecordSet", "@id": "manifest", "name": "manifest",
             "description": "The manifest: license, consent and evidence of every document.",
             "key": {"@id": "manifest/doc_id"},
             "field": _fields("manifest", {"fileObject": {"@id": "manifest.parquet"}}, MANIFEST_FIELDS)},
        ],
    }


def render(summary: ExportSummary) -> str:
    return json_for_html(metadata(summary))
