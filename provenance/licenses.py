"""License vocabulary: what a page says -> an SPDX id, the id's class, and the choice among findings.

``crawl`` gathers raw license statements (``rel="license"`` links, ``<link rel=license>``, JSON-LD
``license``, ``dcterms.license``/``dc.rights``/``og:license`` meta, footer links, copyright notices);
this module names them. Every id it returns is known to :func:`info`.

Ids
    SPDX ids from the SPDX License List (3.27) wherever one exists: ``CC-BY-4.0``, ``CC-BY-SA-3.0-DE``,
    ``CC0-1.0``, ``MIT``, ``GPL-3.0-only``, ``GFDL-1.3-or-later`` ... Where SPDX has none, a
    ``LicenseRef-`` id of this project:

    ``LicenseRef-all-rights-reserved``
        an explicit copyright reservation ("All rights reserved", "Alle Rechte vorbehalten", ...).
        A bare "(c) 2024 Foo" reserves nothing explicitly and normalizes to ``None``.
    ``CC-PDM-1.0``
        the Creative Commons Public Domain Mark 1.0 (``publicdomain/mark/1.0``): SPDX 3.25+ lists
        it; the older ``LicenseRef-PDM`` is read as an alias so that one mark has one id.
    ``LicenseRef-CC-<CODE>-<VERSION>``
        a Creative Commons license SPDX has no id for, neither ported nor unported: the
        historical 1.0 licenses without BY (``nd``, ``nc``, ``nc-sa``, ``nd-nc``; ``sa`` is
        ``CC-SA-1.0``) and the 2.1 licenses, which exist only as ports (e.g. ``by/2.1/es``).
    ``LicenseRef-CC-<CODE>``
        a Creative Commons license named without a version ("CC BY-SA", ``/licenses/by-sa/``).

Rules
    A ported Creative Commons license (``/licenses/by-sa/3.0/de/``, "CC BY 3.0 AT") gets its ported
    SPDX id where SPDX has one, else the unported id of the same license and version. GNU licenses
    become ``-or-later`` when the statement says so ("or any later version", "+", ``-or-later``) and
    ``-only`` otherwise, as SPDX defined the deprecated bare ids (``GPL-2.0`` is ``GPL-2.0-only``).
    SPDX license expressions ("MIT OR Apache-2.0") are not resolved: ``None``.
    :func:`normalize` never raises and looks at the first ``MAX_INPUT_CHARS`` characters only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from provenance.records import LicenseDecision, LicenseFinding

__all__ = [
    "ALL_RIGHTS_RESERVED",
    "MAX_INPUT_CHARS",
    "PUBLIC_DOMAIN_MARK",
    "SOURCE_STRENGTH",
    "LicenseInfo",
    "choose",
    "grants_permission",
    "info",
    "is_open",
    "normalize",
]

Family = Literal["cc", "cc0", "pdm", "osi", "gfdl", "reserved"]

ALL_RIGHTS_RESERVED = "LicenseRef-all-rights-reserved"
PUBLIC_DOMAIN_MARK = "CC-PDM-1.0"
MAX_INPUT_CHARS = 4096  # normalize() reads no further than this
_MAX_EVIDENCE_CHARS = 300
_MAX_URLS = 32  # URLs examined in one raw value

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
    """The class of one license id."""

    spdx: str
    name: str
    family: Family
    version: str | None
    commercial: bool  # commercial use allowed
    attribution: bool  # attribution required
    share_alike: bool
    no_derivatives: bool
    open: bool  # meets the Open Definition


# --------------------------------------------------------------------------------------------------
# Data tables
# --------------------------------------------------------------------------------------------------

# Creative Commons license elements in canonical order, with their English names.
_CC_ELEMENTS: tuple[str, ...] = ("by", "nc", "nd", "sa")
_CC_ELEMENT_NAMES: Mapping[str, str] = {
    "by": "Attribution",
    "nc": "NonCommercial",
    "nd": "NoDerivs",  # 'NoDerivatives' from 4.0 on
    "sa": "ShareAlike",
}
# Valid element combinations: the six BY licenses (every version) and the BY-less 1.0 licenses.
_CC_BY_CODES: tuple[str, ...] = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")
_CC_NOBY_CODES: tuple[str, ...] = ("sa", "nd", "nc", "nc-sa", "nc-nd")
_CC_BY_VERSIONS: tuple[str, ...] = ("1.0", "2.0", "2.1", "2.5", "3.0", "4.0")
_CC_NOBY_VERSIONS: tuple[str, ...] = ("1.0",)
# Unported versions SPDX lists for every BY license, and the lone BY-less one.
_CC_SPDX_UNPORTED_VERSIONS: tuple[str, ...] = ("1.0", "2.0", "2.5", "3.0", "4.0")
_CC_SPDX_NOBY: tuple[str, ...] = ("CC-SA-1.0",)
# Ported licenses SPDX has ids for: (code, version, jurisdiction).
_CC_SPDX_PORTED: tuple[tuple[str, str, str], ...] = (
    ("by", "2.5", "AU"),
    ("by", "3.0", "AT"),
    ("by", "3.0", "AU"),
    ("by", "3.0", "DE"),
    ("by", "3.0", "IGO"),
    ("by", "3.0", "NL"),
    ("by", "3.0", "US"),
    ("by-nc", "3.0", "DE"),
    ("by-nc-nd", "3.0", "DE"),
    ("by-nc-nd", "3.0", "IGO"),
    ("by-nc-sa", "2.0", "DE"),
    ("by-nc-sa", "2.0", "FR"),
    ("by-nc-sa", "2.0", "UK"),
    ("by-nc-sa", "3.0", "DE"),
    ("by-nc-sa", "3.0", "IGO"),
    ("by-nd", "3.0", "DE"),
    ("by-sa", "2.0", "UK"),
    ("by-sa", "2.1", "JP"),
    ("by-sa", "3.0", "AT"),
    ("by-sa", "3.0", "DE"),
    ("by-sa", "3.0", "IGO"),
)
# Jurisdictions of those ports: SPDX suffix -> (display name, words that name it in folded text).
# URL segments are the lowercase suffix ('uk' is CC's England and Wales port).
_CC_JURISDICTIONS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "AT": ("Austria", ("austria", "osterreich")),
    "AU": ("Australia", ("australia", "australien")),
    "DE": ("Germany", ("germany", "deutschland")),
    "FR": ("France", ("france", "frankreich")),
    "IGO": ("IGO", ("intergovernmental organisations", "intergovernmental organizations")),
    "JP": ("Japan", ("japan",)),
    "NL": ("Netherlands", ("netherlands", "nederland", "niederlande")),
    "UK": ("England and Wales", ("england and wales", "england & wales")),
    "US": ("United States", ("united states", "usa")),
}
# How plain text names each element (folded: lowercase, no accents), English and common deeds.
_CC_ELEMENT_WORDS: Mapping[str, tuple[str, ...]] = {
    "by": (
        "attribution", "namensnennung", "paternite", "reconocimiento", "atribucion",
        "attribuzione", "naamsvermelding", "atribuicao", "uznanie autorstwa",
    ),
    "nc": (
        "noncommercial", "non-commercial", "non commercial", "nicht-kommerziell",
        "nicht kommerziell", "nichtkommerziell", "pas d'utilisation commerciale", "no comercial",
        "nocomercial", "non commerciale", "niet-commercieel", "niet commercieel",
        "naocomercial", "nao comercial", "uzycie niekomercyjne",
    ),
    "nd": (
        "noderivatives", "noderivs", "no derivatives", "no derivative works", "no derivs",
        "keine bearbeitungen", "keine bearbeitung", "pas de modification", "sin obras derivadas",
        "sin obra derivada", "sinobraderivada", "geen afgeleide werken", "non opere derivate",
        "sem derivacoes", "bez utworow zaleznych",
    ),
    "sa": (
        "sharealike", "share alike", "share-alike", "weitergabe unter gleichen bedingungen",
        "partage dans les memes conditions", "compartir igual", "compartirigual",
        "gelijk delen", "condividi allo stesso modo", "compartilha igual", "compartilhaigual",
        "na tych samych warunkach",
    ),
}

# GNU licenses (all copyleft): prefix -> (name, family, versions).
_GNU_LICENSES: Mapping[str, tuple[str, Family, tuple[str, ...]]] = {
    "GPL": ("GNU General Public License", "osi", ("2.0", "3.0")),
    "LGPL": ("GNU Lesser General Public License", "osi", ("2.0", "2.1", "3.0")),
    "AGPL": ("GNU Affero General Public License", "osi", ("3.0",)),
    "GFDL": ("GNU Free Documentation License", "gfdl", ("1.1", "1.2", "1.3")),
}
_GNU_SUFFIXES: Mapping[str, tuple[str, ...]] = {
    "GPL": ("-only", "-or-later"),
    "LGPL": ("-only", "-or-later"),
    "AGPL": ("-only", "-or-later"),
    "GFDL": (
        "-only", "-or-later", "-invariants-only", "-invariants-or-later",
        "-no-invariants-only", "-no-invariants-or-later",
    ),
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
    "gpl": "GPL-3.0-only",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl": "LGPL-3.0-only",
    "lgpl-2.0": "LGPL-2.0-only",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "agpl": "AGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only",
    "fdl": "GFDL-1.3-only",
    "fdl-1.1": "GFDL-1.1-only",
    "fdl-1.2": "GFDL-1.2-only",
    "fdl-1.3": "GFDL-1.3-only",
}

# Other OSI-approved licenses: (spdx, name, attribution required, share-alike/copyleft).
_OSI_LICENSES: tuple[tuple[str, str, bool, bool], ...] = (
    ("MIT", "MIT License", True, False),
    ("MIT-0", "MIT No Attribution", False, False),
    ("Apache-1.1", "Apache License 1.1", True, False),
    ("Apache-2.0", "Apache License 2.0", True, False),
    ("BSD-2-Clause", 'BSD 2-Clause "Simplified" License', True, False),
    ("BSD-3-Clause", 'BSD 3-Clause "New" or "Revised" License', True, False),
    ("0BSD", "BSD Zero Clause License", False, False),
    ("ISC", "ISC License", True, False),
    ("Unlicense", "The Unlicense", False, False),
    ("Zlib", "zlib License", True, False),
    ("BSL-1.0", "Boost Software License 1.0", True, False),
    ("MPL-1.1", "Mozilla Public License 1.1", True, True),
    ("MPL-2.0", "Mozilla Public License 2.0", True, True),
    ("EPL-1.0", "Eclipse Public License 1.0", True, True),
    ("EPL-2.0", "Eclipse Public License 2.0", True, True),
    ("CDDL-1.0", "Common Development and Distribution License 1.0", True, True),
    ("EUPL-1.1", "European Union Public License 1.1", True, True),
    ("EUPL-1.2", "European Union Public License 1.2", True, True),
    ("Artistic-2.0", "Artistic License 2.0", True, False),
    ("OFL-1.1", "SIL Open Font License 1.1", True, True),
    ("UPL-1.0", "Universal Permissive License v1.0", True, False),
    ("PostgreSQL", "PostgreSQL License", True, False),
    ("NCSA", "University of Illinois/NCSA Open Source License", True, False),
    ("Python-2.0", "Python License 2.0", True, False),
)

# Extra whole-value names (folded) -> id, beyond ids and registry names.
_ALIASES: Mapping[str, str] = {
    "cc0": "CC0-1.0",
    "cc0 1.0": "CC0-1.0",
    "cc0 1.0 universal": "CC0-1.0",
    "cc-0": "CC0-1.0",
    "cc zero": "CC0-1.0",
    "creative commons zero": "CC0-1.0",
    "public domain": PUBLIC_DOMAIN_MARK,
    "public domain mark": PUBLIC_DOMAIN_MARK,
    "public domain mark 1.0": PUBLIC_DOMAIN_MARK,
    "pdm": PUBLIC_DOMAIN_MARK,
    "mit": "MIT",
    "mit license": "MIT",
    "the mit license": "MIT",
    "expat": "MIT",
    "expat license": "MIT",
    "apache 2": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "isc": "ISC",
    "unlicense": "Unlicense",
    "zlib": "Zlib",
    "postgresql": "PostgreSQL",
    "0bsd": "0BSD",
    "mit-0": "MIT-0",
}
# Ids that are not (or no longer) this module's ids -> its id: the deprecated bare GNU ids meant
# '-only' and '+' meant '-or-later'; LicenseRef-PDM is the pre-SPDX name of CC-PDM-1.0.
_ID_ALIASES: Mapping[str, str] = {
    "LicenseRef-PDM": PUBLIC_DOMAIN_MARK,
    **{f"{p}-{v}": f"{p}-{v}-only" for p, (_, _, vs) in _GNU_LICENSES.items() for v in vs},
    **{f"{p}-{v}+": f"{p}-{v}-or-later" for p, (_, _, vs) in _GNU_LICENSES.items() for v in vs},
}
# opensource.org slugs that are not SPDX ids.
_OSI_URL_SLUGS: Mapping[str, str] = {
    "mit-license": "MIT",
    "bsd-license": "BSD-2-Clause",
    "bsd-2": "BSD-2-Clause",
    "bsd-3": "BSD-3-Clause",
    "apache2.0": "Apache-2.0",
    "apachepl": "Apache-2.0",
    "gpl-license": "GPL-2.0-only",
    "gpl-v2": "GPL-2.0-only",
    "gpl-v3": "GPL-3.0-only",
    "lgpl-license": "LGPL-2.1-only",
    "lgpl-v2": "LGPL-2.1-only",
    "lgpl-v3": "LGPL-3.0-only",
    "agpl-v3": "AGPL-3.0-only",
    "isc-license": "ISC",
    "isc-license-txt": "ISC",
    "mozilla1.1": "MPL-1.1",
    "eclipse-1.0": "EPL-1.0",
    "postgresql": "PostgreSQL",
    "zlib-license": "Zlib",
    "zlib": "Zlib",
    "unlicense": "Unlicense",
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
)
# opensource.org / spdx.org / choosealicense.com: the last path segment names the license.
_SLUG_HOSTS: tuple[str, ...] = ("opensource.org", "spdx.org", "choosealicense.com")
# Hosts that serve Creative Commons license pages and badges ('l' = licenses, 'p' = publicdomain).
_CC_HOSTS: tuple[str, ...] = ("creativecommons.org", "licensebuttons.net")

# Explicit copyright reservations (folded text).
_RESERVATION_PHRASES: tuple[str, ...] = (
    "all rights reserved",
    "alle rechte vorbehalten",
    "tous droits reserves",
    "todos los derechos reservados",
    "tutti i diritti riservati",
    "alle rechten voorbehouden",
    "todos os direitos reservados",
    "wszelkie prawa zastrzezone",
    "alla rattigheter forbehallna",
    "kaikki oikeudet pidatetaan",
    "vsechna prava vyhrazena",
    "все права защищены",
    "版权所有",
    "無断転載を禁じます",
)

# --------------------------------------------------------------------------------------------------
# Registry: every id this module returns, with its class
# --------------------------------------------------------------------------------------------------


def _cc_code(elements: frozenset[str]) -> str:
    return "-".join(e for e in _CC_ELEMENTS if e in elements)


def _cc_info(code: str, version: str | None, jurisdiction: str | None, spdx: str) -> LicenseInfo:
    elements = frozenset(code.split("-"))
    words = [_CC_ELEMENT_NAMES[e] for e in _CC_ELEMENTS if e in elements]
    if version == "4.0":
        words = ["NoDerivatives" if w == "NoDerivs" else w for w in words]
    name = "Creative Commons " + "-".join(words)
    if version is not None:
        name += f" {version}"
        if jurisdiction is not None:
            name += f" {_CC_JURISDICTIONS[jurisdiction][0]}"
        elif version == "4.0":
            name += " International"
        elif version == "3.0":
            name += " Unported"
        elif version != "2.1":
            name += " Generic"
    nc, nd = "nc" in elements, "nd" in elements
    return LicenseInfo(spdx, name, "cc", version, not nc, "by" in elements, "sa" in elements, nd,
                       not (nc or nd))


def _build_registry() -> dict[str, LicenseInfo]:
    reg: dict[str, LicenseInfo] = {}

    def add(i: LicenseInfo) -> None:
        reg[i.spdx] = i

    spdx_cc = {f"CC-{c.upper()}-{v}" for c in _CC_BY_CODES for v in _CC_SPDX_UNPORTED_VERSIONS}
    spdx_cc.update(_CC_SPDX_NOBY)
    for codes, versions in ((_CC_BY_CODES, _CC_BY_VERSIONS), (_CC_NOBY_CODES, _CC_NOBY_VERSIONS)):
        for code in codes:
            for version in versions:
                spdx = f"CC-{code.upper()}-{version}"
                add(_cc_info(code, version, None, spdx if spdx in spdx_cc else "LicenseRef-" + spdx))
    for code in _CC_BY_CODES:
        add(_cc_info(code, None, None, f"LicenseRef-CC-{code.upper()}"))
    for code, version, jur in _CC_SPDX_PORTED:
        add(_cc_info(code, version, jur, f"CC-{code.upper()}-{version}-{jur}"))

    add(LicenseInfo("CC0-1.0", "Creative Commons Zero v1.0 Universal", "cc0", "1.0",
                    True, False, False, False, True))
    add(LicenseInfo("CC-PDDC", "Creative Commons Public Domain Dedication and Certification", "cc0",
                    None, True, False, False, False, True))
    add(LicenseInfo(PUBLIC_DOMAIN_MARK, "Creative Commons Public Domain Mark 1.0", "pdm", "1.0",
                    True, False, False, False, True))

    for prefix, (name, family, versions) in _GNU_LICENSES.items():
        for version in versions:
            for suffix in _GNU_SUFFIXES[prefix]:
                label = suffix.lstrip("-").replace("-", " ")
                add(LicenseInfo(f"{prefix}-{version}{suffix}", f"{name} v{version} {label}", family,
                                version, True, True, True, False, True))

    for spdx, name, attribution, share_alike in _OSI_LICENSES:
        m = re.search(r"-(\d+(?:\.\d+)*)$", spdx)
        add(LicenseInfo(spdx, name, "osi", m.group(1) if m else None, True, attribution,
                        share_alike, False, True))

    add(LicenseInfo(ALL_RIGHTS_RESERVED, "All rights reserved", "reserved", None,
                    False, False, False, True, False))
    return reg


_REGISTRY: dict[str, LicenseInfo] = _build_registry()


def known_ids() -> tuple[str, ...]:
    """Every license id this vocabulary can return, sorted."""
    return tuple(sorted(_REGISTRY))
_SPDX_CC_IDS: frozenset[str] = frozenset(k for k, v in _REGISTRY.items() if v.family == "cc"
                                         and not k.startswith("LicenseRef-"))


_PUNCT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-",
                        "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})


def _fold(text: str) -> str:
    """Lowercase, accent-free, typographic punctuation made plain, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.translate(_PUNCT)
    return " ".join(text.split())


# Id lookup (any case): this module's ids and their aliases.
_ID_LOOKUP: dict[str, str] = {k.casefold(): v for k, v in _ID_ALIASES.items()}
_ID_LOOKUP.update({k.casefold(): k for k in _REGISTRY})
# Whole-value lookup (folded): registry names, name aliases, then ids.
_LOOKUP: dict[str, str] = {_fold(i.name): k for k, i in reversed(_REGISTRY.items())}
_LOOKUP.update({_fold(name): spdx for name, spdx in _ALIASES.items()})
_LOOKUP.update(_ID_LOOKUP)


# --------------------------------------------------------------------------------------------------
# Creative Commons
# --------------------------------------------------------------------------------------------------


def _cc_id(elements: frozenset[str], version: str | None, jurisdiction: str | None) -> str | None:
    """SPDX id of a CC license: ported where SPDX has it, else unported, else LicenseRef-CC-*."""
    if not elements or ("nd" in elements and "sa" in elements):
        return None
    code = _cc_code(elements).upper()
    if version is None:
        spdx = f"LicenseRef-CC-{code}"
        return spdx if spdx in _REGISTRY else None
    if jurisdiction is not None and f"CC-{code}-{version}-{jurisdiction}" in _SPDX_CC_IDS:
        return f"CC-{code}-{version}-{jurisdiction}"
    for spdx in (f"CC-{code}-{version}", f"LicenseRef-CC-{code}-{version}"):
        if spdx in _REGISTRY:
            return spdx
    return None


def _cc_version(raw: str) -> str:
    return raw if "." in raw else raw + ".0"


def _cc_from_url_path(segments: list[str]) -> str | None:
    if not segments:
        return None
    head = {"l": "licenses", "p": "publicdomain"}.get(segments[0], segments[0])
    if head == "publicdomain" and len(segments) >= 2:
        if segments[1] == "zero":
            return "CC0-1.0"
        if segments[1] == "mark":
            return PUBLIC_DOMAIN_MARK
        return None
    if head != "licenses" or len(segments) < 2:
        return None
    if segments[1] == "publicdomain":
        return "CC-PDDC"
    parts = segments[1].split("-")
    elements = frozenset(parts)
    if len(elements) != len(parts) or not elements <= set(_CC_ELEMENTS):
        return None
    version = segments[2] if len(segments) > 2 and re.fullmatch(r"\d\.\d", segments[2]) else None
    jurisdiction = None
    if version is not None and len(segments) > 3 and segments[3].upper() in _CC_JURISDICTIONS:
        jurisdiction = segments[3].upper()
    return _cc_id(elements, version, jurisdiction)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s*") for w in sorted(words, key=len, reverse=True))


_WORD_TO_ELEMENT: dict[str, str] = {_fold(w): e for e, ws in _CC_ELEMENT_WORDS.items() for w in ws}
_ELEMENT_BY_TOKEN: dict[str, str] = {w.replace(" ", ""): e for w, e in _WORD_TO_ELEMENT.items()}
_ELEMENT_BY_TOKEN.update({e: e for e in _CC_ELEMENTS})
_JUR_WORDS: dict[str, str] = {_fold(w): c for c, (_, ws) in _CC_JURISDICTIONS.items() for w in ws}
_JUR_BY_TOKEN: dict[str, str] = {w.replace(" ", ""): c for w, c in _JUR_WORDS.items()}
_LONG_ELEM = rf"(?<![a-z])(?:{_alternation(_WORD_TO_ELEMENT)})(?![a-z])"
_SHORT_ELEM = r"(?<![a-z])(?:by|nc|nd|sa)(?![a-z])"
_ANY_ELEM = rf"(?:{_LONG_ELEM}|{_SHORT_ELEM})"
_SEP = r"[\s\-_+/,:&]{0,5}"
# Any stated version is captured, so that "CC BY 9.0" is unknown rather than versionless.
_VERSION = r"(?:[\s\-_,:(]{0,5}(?:version|ver\.?|v\.?)?\s{0,3}(?P<ver>\d{1,2}(?:\.\d{1,2})?)(?![\d.]*\d))"
# Jurisdiction after the version: a name, or a known code not followed by another word.
_JURISDICTION = (
    rf"(?:[\s\-_/,(]{{0,5}}(?P<jur>{_alternation(_JUR_WORDS)}"
    rf"|(?:{'|'.join(c.lower() for c in _CC_JURISDICTIONS)})(?=\s*(?:licen[cs]e|lizenz|$|[^\sa-z])))"
    rf"(?![a-z]))?"
)
# "CC BY-SA 4.0", "Creative Commons Attribution-ShareAlike 4.0 International", "cc-by-nc 2.0 DE".
_CC_PREFIXED = re.compile(
    rf"(?<![a-z0-9])(?:creative[\s\-_]*commons|cc)(?:\s*(?:license|licence|lizenz)\s*:?)?[\s\-_:]{{0,3}}"
    rf"(?P<elems>(?:{_LONG_ELEM}|(?:by|nc|nd|sa)(?![a-z]))(?:{_SEP}{_ANY_ELEM}){{0,5}})"  # "CCBY" too
    rf"(?:{_VERSION}{_JURISDICTION})?"
)
# "Attribution 4.0 International", "Namensnennung - Weitergabe unter gleichen Bedingungen 3.0 Deutschland".
_CC_LONG = re.compile(rf"(?P<elems>{_LONG_ELEM}(?:{_SEP}{_LONG_ELEM}){{0,5}}){_VERSION}{_JURISDICTION}")
_CC_ZERO = re.compile(r"(?<![a-z0-9])(?:cc[\s\-_]?(?:0|zero)|creative\s*commons\s*zero)(?![a-z0-9])")
_PDM = re.compile(r"(?<![a-z])(?:public[\s\-]*domain[\s\-]*mark|cc[\s\-_]?pdm)(?![a-z])")
_PDDC = re.compile(r"public\s*domain\s*dedication\s*and\s*certification")
_ELEM_TOKEN = re.compile(_ANY_ELEM)


def _cc_from_match(m: re.Match[str]) -> str | None:
    tokens = ("".join(t.split()) for t in _ELEM_TOKEN.findall(m.group("elems")))
    elements = frozenset(_ELEMENT_BY_TOKEN[t] for t in tokens if t in _ELEMENT_BY_TOKEN)
    version = _cc_version(m.group("ver")) if m.group("ver") else None
    jurisdiction = None
    if m.group("jur"):
        token = "".join(m.group("jur").split())
        jurisdiction = _JUR_BY_TOKEN.get(token, token.upper())
    return _cc_id(elements, version, jurisdiction)


# --------------------------------------------------------------------------------------------------
# Text and URL recognizers
# --------------------------------------------------------------------------------------------------

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
# Other licenses named inside text: (regex on folded text, id).
_OSI_TEXT: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), spdx)
    for p, spdx in (
        (r"\bmit[\s\-]licen[sc]e\b", "MIT"),
        (r"\bmit[\s\-]no[\s\-]attribution\b", "MIT-0"),
        (r"\bapache(?:\s*software)?(?:\s*licen[sc]e)?[\s,\-]*(?:version|v\.?)?\s*2(?:\.0)?(?![\d.]*\d)",
         "Apache-2.0"),
        (r"\b(?:bsd[\s\-]*(?:3|three)[\s\-]*clause|(?:3|three)[\s\-]*clause[\s\-]*bsd"
         r"|(?:new|modified|revised)\s*bsd)\b", "BSD-3-Clause"),
        (r"\b(?:bsd[\s\-]*(?:2|two)[\s\-]*clause|(?:2|two)[\s\-]*clause[\s\-]*bsd|simplified\s*bsd"
         r"|freebsd\s*licen[sc]e)\b", "BSD-2-Clause"),
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
_RESERVATION = re.compile(rf"(?<!not )(?:{_alternation(_fold(p) for p in _RESERVATION_PHRASES)})")
_URL = re.compile(r"(?:https?:)?//[^\s\"'<>()\[\]{}]+|(?<![\w.@/-])(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*"
                  r"\.(?:org|net|com)(?:/[^\s\"'<>()\[\]{}]*)?(?![\w.-])")
# An SPDX license expression ("MIT OR Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0").
_EXPRESSION = re.compile(r"^\(?[\w.+-]+(?:\s+(?:or|and|with)\s+\(?[\w.+-]+\)?)+$")
_PREFIX = re.compile(r"^(?:spdx-license-identifier|license|licence|lizenz|licencia|licenza|rights)\s*[:=]\s*")


def _gnu_from_match(m: re.Match[str]) -> str | None:
    prefix = _GNU_WORDS[" ".join(m.group("fam").split())]
    version = _cc_version(m.group("ver"))
    suffix = "-or-later" if _GNU_LATER.match(m.group("rest")) else "-only"
    spdx = f"{prefix}-{version}{suffix}"
    return spdx if spdx in _REGISTRY else None


def _slug_id(slug: str) -> str | None:
    slug = re.sub(r"\.(?:php|html?|txt|json|md)$", "", slug)
    for candidate in (slug, re.sub(r"(\d)-(\d)$", r"\1.\2", slug), slug.removesuffix("-license")):
        found = _ID_LOOKUP.get(candidate) or _OSI_URL_SLUGS.get(candidate)
        if found:
            return found
    return None


def _from_url(url: str) -> str | None:
    try:
        parts = urlsplit(url if "//" in url[:8] else "//" + url)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if any(host == h or host.endswith("." + h) for h in _CC_HOSTS):
        return _cc_from_url_path(segments)
    if host == "gnu.org" or host.endswith(".gnu.org"):
        if segments and segments[0] in ("licenses", "copyleft"):
            slug = re.sub(r"(?:\.[a-z]{2}(?:-[a-z]{2})?)?\.(?:html?|txt|md)$", "", segments[-1])
            return _GNU_URL_SLUGS.get(slug)
        return None
    if any(host == h or host.endswith("." + h) for h in _SLUG_HOSTS):
        if len(segments) >= 2 and segments[0] in ("licenses", "license"):
            return _slug_id(segments[-1] if segments[-1] not in ("index.html",) else segments[-2])
        return None
    for suffix, pattern, spdx in _URL_PATTERNS:
        if (host == suffix or host.endswith("." + suffix)) and pattern.search(parts.path):
            return spdx
    return None


def _from_text(text: str) -> str | None:
    """The leftmost license named in folded text, or None."""
    best: tuple[int, str] | None = None

    def consider(pos: int, spdx: str | None) -> None:
        nonlocal best
        if spdx is not None and (best is None or pos < best[0]):
            best = (pos, spdx)

    for m in _CC_PREFIXED.finditer(text):
        spdx = _cc_from_match(m)
        if spdx is not None:
            consider(m.start(), spdx)
            break
    for m in _CC_LONG.finditer(text):
        spdx = _cc_from_match(m)
        if spdx is not None:
            consider(m.start(), spdx)
            break
    for pattern, spdx in ((_CC_ZERO, "CC0-1.0"), (_PDM, PUBLIC_DOMAIN_MARK), (_PDDC, "CC-PDDC")):
        m = pattern.search(text)
        if m:
            consider(m.start(), spdx)
    for m in _GNU_TEXT.finditer(text):
        spdx = _gnu_from_match(m)
        if spdx is not None:
            consider(m.start(), spdx)
            break
    for pattern, spdx in _OSI_TEXT:
        m = pattern.search(text)
        if m:
            consider(m.start(), spdx)
    return best[1] if best else None


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def normalize(raw: str | None) -> str | None:
    """What a page says (URL, SPDX id, name, notice) -> SPDX id (or LicenseRef-*), None when unknown.

    Order: the whole value as an id or name; license URLs in it (first recognized wins); license
    names in the text (leftmost wins); an explicit copyright reservation. Never raises.
    """
    if not isinstance(raw, str):
        return None
    try:
        return _normalize(raw)
    except (ValueError, TypeError, KeyError, IndexError):  # a malformed value must not stop a crawl
        return None


def _normalize(raw: str) -> str | None:
    text = _fold(raw[:MAX_INPUT_CHARS])
    if not text:
        return None
    bare = _PREFIX.sub("", text).strip(" .;,")
    found = _LOOKUP.get(bare) or _LOOKUP.get(bare.replace(" ", "-"))
    if found:
        return found
    if _EXPRESSION.match(bare):
        return None  # a choice or combination of licenses is not one license
    for i, m in enumerate(_URL.finditer(text)):
        if i >= _MAX_URLS:
            break
        found = _from_url(m.group(0).rstrip(".,;:!?'\"*"))
        if found:
            return found
    found = _from_text(text.replace("licence", "license"))
    if found:
        return found
    return ALL_RIGHTS_RESERVED if _RESERVATION.search(text) else None


def info(spdx: str | None) -> LicenseInfo | None:
    """The class of a normalized id (ids are matched case-insensitively; deprecated SPDX ids too)."""
    if not isinstance(spdx, str):
        return None
    key = _ID_LOOKUP.get(spdx.strip().casefold())
    return _REGISTRY.get(key) if key else None


def is_open(spdx: str | None) -> bool:
    """True when the license meets the Open Definition (CC BY, BY-SA, CC0, PDM, OSI, GFDL)."""
    i = info(spdx)
    return i is not None and i.open


def grants_permission(spdx: str | None) -> bool:
    """True for an explicit permission: any Creative Commons license (NC/ND too), CC0, PDM, OSI, GFDL.

    False for an all-rights-reserved notice and for None or an unknown id.
    """
    i = info(spdx)
    return i is not None and i.family != "reserved"


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
    return LicenseDecision(best.license, f"{best.source}: {raw}")
