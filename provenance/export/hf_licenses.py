"""SPDX ids -> the license identifiers of Hugging Face dataset cards.

Hugging Face's card metadata takes ``license`` from a fixed list of lower-case identifiers (the Hub
documentation's "Licenses" page); a license outside it is ``other`` with ``license_name`` (a slug)
and ``license_link``. Only ids on that list whose meaning is the same SPDX license are mapped; a
``LicenseRef-`` value or any other id becomes ``other``, never a more open license. A document with no
license found counts as ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass

# SPDX id -> Hugging Face identifier (source: huggingface.co/docs/hub/repositories-licenses, 2026).
HF_IDS: dict[str, str] = {
    "Apache-2.0": "apache-2.0",
    "MIT": "mit",
    "AFL-3.0": "afl-3.0",
    "Artistic-2.0": "artistic-2.0",
    "BSL-1.0": "bsl-1.0",
    "BSD-2-Clause": "bsd-2-clause",
    "BSD-3-Clause": "bsd-3-clause",
    "BSD-3-Clause-Clear": "bsd-3-clause-clear",
    "C-UDA-1.0": "c-uda",
    "CC0-1.0": "cc0-1.0",
    "CC-BY-2.0": "cc-by-2.0",
    "CC-BY-2.5": "cc-by-2.5",
    "CC-BY-3.0": "cc-by-3.0",
    "CC-BY-4.0": "cc-by-4.0",
    "CC-BY-SA-3.0": "cc-by-sa-3.0",
    "CC-BY-SA-4.0": "cc-by-sa-4.0",
    "CC-BY-NC-2.0": "cc-by-nc-2.0",
    "CC-BY-NC-3.0": "cc-by-nc-3.0",
    "CC-BY-NC-4.0": "cc-by-nc-4.0",
    "CC-BY-ND-4.0": "cc-by-nd-4.0",
    "CC-BY-NC-ND-3.0": "cc-by-nc-nd-3.0",
    "CC-BY-NC-ND-4.0": "cc-by-nc-nd-4.0",
    "CC-BY-NC-SA-2.0": "cc-by-nc-sa-2.0",
    "CC-BY-NC-SA-3.0": "cc-by-nc-sa-3.0",
    "CC-BY-NC-SA-4.0": "cc-by-nc-sa-4.0",
    "CDLA-Sharing-1.0": "cdla-sharing-1.0",
    "CDLA-Permissive-1.0": "cdla-permissive-1.0",
    "CDLA-Permissive-2.0": "cdla-permissive-2.0",
    "WTFPL": "wtfpl",
    "ECL-2.0": "ecl-2.0",
    "EPL-1.0": "epl-1.0",
    "EPL-2.0": "epl-2.0",
    "etalab-2.0": "etalab-2.0",
    "EUPL-1.1": "eupl-1.1",
    "EUPL-1.2": "eupl-1.2",
    "AGPL-3.0-only": "agpl-3.0",
    "GFDL-1.3-only": "gfdl",
    "GPL-2.0-only": "gpl-2.0",
    "GPL-3.0-only": "gpl-3.0",
    "LGPL-2.1-only": "lgpl-2.1",
    "LGPL-3.0-only": "lgpl-3.0",
    "ISC": "isc",
    "LPPL-1.3c": "lppl-1.3c",
    "MS-PL": "ms-pl",
    "MPL-2.0": "mpl-2.0",
    "ODC-By-1.0": "odc-by",
    "ODbL-1.0": "odbl",
    "OSL-3.0": "osl-3.0",
    "PostgreSQL": "postgresql",
    "OFL-1.1": "ofl-1.1",
    "NCSA": "ncsa",
    "Unlicense": "unlicense",
    "Zlib": "zlib",
    "PDDL-1.0": "pddl",
}
OTHER_NAME = "per-document-licenses"
OTHER_LINK = "ATTRIBUTION.md"


@dataclass(frozen=True, slots=True)
class CardLicense:
    """The ``license`` entries of a card, plus ``license_name``/``license_link`` when ``other`` is one."""
    ids: list[str]
    name: str | None = None
    link: str | None = None


def card_license(spdx_ids: list[str | None]) -> CardLicense:
    """The card's license metadata for the exported documents' licenses (None: none found)."""
    ids: set[str] = set()
    for spdx in spdx_ids:
        if spdx is None:
            ids.add("unknown")
        else:
            ids.add(HF_IDS.get(spdx, "other"))
    if not ids:
        return CardLicense(["unknown"])
    ordered = sorted(ids)
    if "other" in ids:
        return CardLicense(ordered, OTHER_NAME, OTHER_LINK)
    return CardLicense(ordered)
