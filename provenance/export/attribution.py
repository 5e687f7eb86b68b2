"""ATTRIBUTION.md: title, author, source and license of every exported work that requires it.

Streams from the ledger in a fixed order (domain, URL, doc_id), so it is deterministic and does not
hold a large export in memory.
"""

from __future__ import annotations

from pathlib import Path

from provenance.export.escape import md_link, md_text
from provenance.ledger import LedgerView
from provenance.policies import Policy

BATCH = 10_000


def line(title: str | None, author: str | None, url: str | None, license: str | None,
         license_name: str | None, license_url: str | None, source_type: str) -> str:
    """One work: “Title” by Author, source URL, license (the TASL of Creative Commons).

    Every value is escaped (:func:`md_text`); only http(s) URLs become links."""
    what = f"“{md_text(title)}”" if title else "Untitled"
    by = f" by {md_text(author)}" if author else " (author not stated)"
    source = f", {md_link(md_text(url), url)}" if url else ""
    kind = " (transcript)" if source_type == "transcript" else ""
    name = md_text(license_name or license or "")
    lic = md_link(md_text(license), license_url)
    lic_text = f"{lic} ({name})" if name and name != md_text(license) else lic
    return f"- {what}{kind}{by}{source}, licensed under {lic_text}"


def write(writer: LedgerView, cleared: str, path: Path, policy: Policy) -> int:
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
                    out.write(f"\n## {md_text(domain)}\n\n")
                out.write(line(row["title"], row["author"], row["url"], row["license"],
                               row["license_name"], row["license_url"], row["source_type"]) + "\n")
                n += 1
        if n == 0:
            out.write("\nNo document of this export is under a license that requires attribution.\n")
    return n
