"""ATTRIBUTION.md: title, author, source and license of every exported work that requires it.

Streams from the ledger in a fixed order (domain, URL, doc_id), so it is deterministic and does not
hold a large export in memory.
"""

from __future__ import annotations

from pathlib import Path

from provenance.ledger import LedgerWriter
from provenance.policies import Policy

BATCH = 10_000


def _md(text: str | None) -> str:
    """Text safe inside a Markdown list item (no markup from the web page survives)."""
    if not text:
        return ""
    text = " ".join(str(text).split())
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def _link(label: str, url: str | None) -> str:
    if not url:
        return label
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[{label}]({safe})"


def line(title: str | None, author: str | None, url: str | None, license: str | None,
         license_name: str | None, license_url: str | None, source_type: str) -> str:
    """One work: “Title” by Author, source URL, license (the TASL of Creative Commons)."""
    what = f"“{_md(title)}”" if title else "Untitled"
    by = f" by {_md(author)}" if author else " (author not stated)"
    source = f", {_link(_md(url), url)}" if url else ""
    kind = " (transcript)" if source_type == "transcript" else ""
    name = _md(license_name or license or "")
    lic = _link(f"{_md(license)}", license_url)
    lic_text = f"{lic} ({name})" if name and name != _md(license) else lic
    return f"- {what}{kind}{by}{source}, licensed under {lic_text}"


def write(writer: LedgerWriter, cleared: str, path: Path, policy: Policy) -> int:
    """Write the attribution file for the cleared documents; returns the works listed."""
    reader = writer.con.sql(f"""
        SELECT coalesce(domain, '(no domain)') AS domain, title, author, url, license, license_name,
               license_url, source_type
        FROM {cleared}
        WHERE license_attribution
        ORDER BY coalesce(domain, '(no domain)'), url NULLS LAST, doc_id
    """).to_arrow_reader(BATCH)
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("# Attribution\n\n")
        out.write(f"This dataset (export policy `{policy.name}`) contains the works listed below, used under "
                  "their licenses, which require attribution. Each entry gives the title, the author "
                  "(where the source stated one), the source URL and the license.\n")
        domain = None
        for batch in reader:
            for row in batch.to_pylist():
                if row["domain"] != domain:
                    domain = row["domain"]
                    out.write(f"\n## {_md(domain)}\n\n")
                out.write(line(row["title"], row["author"], row["url"], row["license"],
                               row["license_name"], row["license_url"], row["source_type"]) + "\n")
                n += 1
        if n == 0:
            out.write("\nNo document of this export is under a license that requires attribution.\n")
    return n
