"""Export policies: which documents a use of the corpus may include.

A policy is a small TOML file. The built-ins (``open``, ``research``, ``strict``) live in
``provenance/policies/*.toml`` and use the same vocabulary as user files::

    name = "my-policy"                      # default: the file name
    description = "Openly licensed, no opt-outs, no low-quality transcripts"
    extends = "open"                        # optional: start from a built-in policy
    licenses = ["open", "CC-BY-NC-4.0"]     # license classes or SPDX ids; a document clears on any
    exclude_licenses = ["share-alike"]      # classes or ids that never clear (applied after)
    consent = ["granted", "unspecified"]    # consent values that clear
    canonical_only = true                   # only the canonical member of a near-duplicate cluster
    cluster_opt_out = true                  # an opted-out member keeps its whole cluster out

    [transcripts]
    include = true                          # transcripts of audio and video
    min_avg_logprob = -1.0                  # minimum transcript quality, on Whisper's own measures
    max_no_speech_prob = 0.6                # (the `transcriptions` view: mean_avg_logprob,
    max_compression_ratio = 2.4             #  max_no_speech_prob, max_compression_ratio)

License classes: ``any``, ``open`` (the Open Definition: CC BY, CC BY-SA, CC0, the Public Domain
Mark, OSI licenses, GFDL), ``public-domain``, ``commercial`` (commercial use allowed),
``attribution``, ``share-alike``, ``no-derivatives``, ``non-commercial``, ``reserved`` (all rights
reserved), ``none`` (no license found), ``unknown`` (an id the vocabulary does not classify).

A revoked document never clears, whatever the policy says. A policy becomes one SQL predicate
over the ``document_rights`` view, so ``provenance sql`` can reproduce any selection.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from provenance import licenses
from provenance.errors import InputError
from provenance.records import CONSENT_VALUES

BUILTIN_NAMES: tuple[str, ...] = ("open", "research", "strict")

# License class -> (description, SQL predicate over document_rights d).
LICENSE_CLASSES: Mapping[str, tuple[str, str]] = {
    "any": ("every document, with or without a license", "TRUE"),
    "open": ("meets the Open Definition (CC BY, CC BY-SA, CC0, PDM, OSI, GFDL)", "d.license_open"),
    "public-domain": ("CC0, the Public Domain Mark, CC-PDDC", "d.license_family IN ('cc0', 'pdm')"),
    "commercial": ("commercial use allowed", "d.license_commercial"),
    "attribution": ("attribution required", "d.license_attribution"),
    "share-alike": ("share-alike (copyleft)", "d.license_share_alike"),
    "no-derivatives": ("no derivatives (ND)",
                       "(d.license_no_derivatives AND d.license_family <> 'reserved')"),
    "non-commercial": ("non-commercial only (NC)",
                       "(NOT d.license_commercial AND d.license_family <> 'reserved')"),
    "reserved": ("an explicit reservation: all rights reserved", "d.license_family = 'reserved'"),
    "none": ("no license found", "d.license IS NULL"),
    "unknown": ("a license id the vocabulary does not classify",
                "(d.license IS NOT NULL AND d.license_family IS NULL)"),
}

TRANSCRIPT_MEASURES: Mapping[str, tuple[str, str]] = {
    # key -> (column of the `transcriptions` view, comparison)
    "min_avg_logprob": ("mean_avg_logprob", ">="),
    "max_no_speech_prob": ("max_no_speech_prob", "<="),
    "max_compression_ratio": ("max_compression_ratio", "<="),
}
_TOP_KEYS = ("name", "description", "extends", "licenses", "exclude_licenses", "consent",
             "canonical_only", "cluster_opt_out", "transcripts")
_TRANSCRIPT_KEYS = ("include", *TRANSCRIPT_MEASURES)
_SPDX_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")


class PolicyError(InputError):
    """A policy that cannot be read or is invalid; the message names the file, key and line."""


@dataclass(frozen=True, slots=True)
class Policy:
    """One export policy (see the module docstring for the vocabulary)."""

    name: str
    description: str = ""
    licenses: tuple[str, ...] = ("any",)
    exclude_licenses: tuple[str, ...] = ()
    consent: tuple[str, ...] = ("granted", "unspecified")
    canonical_only: bool = True
    cluster_opt_out: bool = True
    include_transcripts: bool = True
    min_avg_logprob: float | None = None
    max_no_speech_prob: float | None = None
    max_compression_ratio: float | None = None
    source: str = field(default="", compare=False)  # 'built-in' or the file it was read from

    def spec(self) -> dict[str, Any]:
        """The policy as plain data (what it clears, not where it came from)."""
        data = asdict(self)
        data.pop("source")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.spec(), sort_keys=True).encode()).hexdigest()

    @property
    def has_quality_minimum(self) -> bool:
        return any(getattr(self, k) is not None for k in TRANSCRIPT_MEASURES)

    def predicate(self, *, has_transcriptions: bool) -> str:
        """The SQL condition on ``document_rights d`` that a cleared document meets."""
        parts = ["NOT d.revoked"]
        match = _license_match(self.licenses)
        if match != "TRUE":
            parts.append(match)
        if self.exclude_licenses:
            parts.append(f"NOT coalesce({_license_match(self.exclude_licenses)}, FALSE)")
        parts.append("d.consent IN (" + ", ".join(_quote(c) for c in self.consent) + ")")
        if self.canonical_only:
            parts.append("d.is_canonical")
        if self.cluster_opt_out:
            parts.append("NOT d.cluster_opted_out")
        transcript = self._transcript_condition(has_transcriptions)
        if transcript:
            parts.append(transcript)
        return "\n  AND ".join(f"({p})" if " OR " in p else p for p in parts)

    def _transcript_condition(self, has_transcriptions: bool) -> str | None:
        if not self.include_transcripts:
            return "d.source_type <> 'transcript'"
        if not self.has_quality_minimum:
            return None
        if not has_transcriptions:  # never fail open: no quality measures, no transcripts
            return "d.source_type <> 'transcript' /* no transcriptions view: quality unknown */"
        checks = [f"t.{column} {op} {getattr(self, key)!r}"
                  for key, (column, op) in TRANSCRIPT_MEASURES.items() if getattr(self, key) is not None]
        return ("d.source_type <> 'transcript' OR EXISTS (SELECT 1 FROM transcriptions t "
                f"WHERE t.doc_id = d.doc_id AND t.status = 'done' AND {' AND '.join(checks)})")

    def cleared_sql(self, *, has_transcriptions: bool, columns: str = "d.*") -> str:
        """A query of the documents this policy clears."""
        return (f"SELECT {columns}\nFROM document_rights d\n"
                f"WHERE {self.predicate(has_transcriptions=has_transcriptions)}")

    def describe(self) -> str:
        """One line a person can read."""
        lic = ", ".join(self.licenses)
        text = f"licenses: {lic}"
        if self.exclude_licenses:
            text += f" except {', '.join(self.exclude_licenses)}"
        text += f"; consent: {', '.join(self.consent)}; not revoked"
        if self.canonical_only:
            text += "; canonical members only"
        if self.cluster_opt_out:
            text += "; no cluster with an opted-out member"
        if not self.include_transcripts:
            text += "; no transcripts"
        elif self.has_quality_minimum:
            measures = ", ".join(f"{k}={getattr(self, k)}" for k in TRANSCRIPT_MEASURES
                                 if getattr(self, k) is not None)
            text += f"; transcripts with {measures}"
        return text


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _license_match(entries: Iterable[str]) -> str:
    classes, ids = [], []
    for entry in entries:
        if entry in LICENSE_CLASSES:
            classes.append(LICENSE_CLASSES[entry][1])
        else:
            ids.append(entry)
    if "TRUE" in classes:
        return "TRUE"
    parts = list(classes)
    if ids:
        parts.append("d.license IN (" + ", ".join(_quote(i) for i in ids) + ")")
    return " OR ".join(parts) if parts else "FALSE"


# --- reading policies ----------------------------------------------------------------------------


def builtin(name: str) -> Policy:
    """A built-in policy by name."""
    if name not in BUILTIN_NAMES:
        raise PolicyError(f"there is no built-in policy {name!r}; built-ins: {', '.join(BUILTIN_NAMES)}")
    ref = resources.files("provenance") / "policies" / f"{name}.toml"
    return parse_policy(ref.read_text(encoding="utf-8"), source=f"built-in:{name}", default_name=name)


def builtins() -> tuple[Policy, ...]:
    return tuple(builtin(n) for n in BUILTIN_NAMES)


def load_policy(name_or_path: str | Path) -> Policy:
    """A built-in policy name, or the path of a TOML policy file."""
    text_name = str(name_or_path)
    if text_name in BUILTIN_NAMES:
        return builtin(text_name)
    path = Path(name_or_path)
    if not path.exists():
        hint = "" if path.suffix else f" (built-in policies: {', '.join(BUILTIN_NAMES)})"
        raise PolicyError(f"no policy named {text_name!r}: no such built-in and no such file{hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from exc
    return parse_policy(text, source=str(path), default_name=path.stem)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_policy(text: str, *, source: str = "<policy>", default_name: str = "custom") -> Policy:
    """A policy from TOML text; errors name ``source``, the key and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        where = f"line {match[1]}, column {match[2]}" if match else "end of file"
        raise PolicyError(f"{source}, {where}: not valid TOML: {_TOML_POSITION.sub('', message)}") from exc
    return _Checker(text, source).policy(data, default_name)


class _Checker:
    """Validates parsed TOML, naming the key and line of the first problem."""

    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source

    def fail(self, key: tuple[str, ...], message: str, needle: str | None = None) -> PolicyError:
        line = locate(self.text, key, needle)
        where = f", line {line}" if line else ""
        return PolicyError(f"{self.source}{where}: key '{'.'.join(key)}': {message}")

    def policy(self, data: dict[str, Any], default_name: str) -> Policy:
        for key in data:
            if key not in _TOP_KEYS:
                raise self.fail((key,), f"unknown key; allowed keys: {', '.join(_TOP_KEYS)}")
        base = Policy(name=default_name)
        if "extends" in data:
            parent = self.string(data, ("extends",))
            if parent not in BUILTIN_NAMES:
                raise self.fail(("extends",), f"{parent!r} is not a built-in policy "
                                f"({', '.join(BUILTIN_NAMES)})")
            base = replace(builtin(parent), name=default_name, source="")
        values: dict[str, Any] = {}
        if "name" in data:
            name = self.string(data, ("name",))
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
                raise self.fail(("name",), "use letters, digits, '.', '_' and '-' (at most 64)")
            values["name"] = name
        if "description" in data:
            values["description"] = self.string(data, ("description",))
        for key in ("licenses", "exclude_licenses"):
            if key in data:
                values[key] = self.license_list(data, key)
        if "licenses" in values and not values["licenses"]:
            raise self.fail(("licenses",), "an empty list clears nothing; use [\"any\"] for every license")
        if "consent" in data:
            items = self.string_list(data, ("consent",))
            for item in items:
                if item not in CONSENT_VALUES:
                    raise self.fail(("consent",), f"{item!r} is not a consent value "
                                    f"({', '.join(CONSENT_VALUES)})", needle=item)
            if not items:
                raise self.fail(("consent",), "an empty list clears nothing")
            values["consent"] = tuple(dict.fromkeys(items))
        for key in ("canonical_only", "cluster_opt_out"):
            if key in data:
                values[key] = self.boolean(data, (key,))
        if "transcripts" in data:
            values.update(self.transcripts(data["transcripts"]))
        return replace(base, **values, source=self.source)

    def transcripts(self, table: Any) -> dict[str, Any]:
        if not isinstance(table, dict):
            raise self.fail(("transcripts",), "expected a table: [transcripts] with include = true|false "
                            f"and optional {', '.join(TRANSCRIPT_MEASURES)}")
        out: dict[str, Any] = {}
        for key, value in table.items():
            path = ("transcripts", key)
            if key not in _TRANSCRIPT_KEYS:
                raise self.fail(path, f"unknown key; allowed keys: {', '.join(_TRANSCRIPT_KEYS)}")
            if key == "include":
                out["include_transcripts"] = self.boolean(table, path)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(path, f"expected a number, got {type(value).__name__}")
            value = float(value)
            if not math.isfinite(value):
                raise self.fail(path, f"expected a finite number, got {value}")
            if key == "min_avg_logprob" and value > 0:
                raise self.fail(path, "an average log probability is at most 0 (e.g. -1.0)")
            if key == "max_no_speech_prob" and not 0 <= value <= 1:
                raise self.fail(path, "a probability is between 0 and 1 (e.g. 0.6)")
            if key == "max_compression_ratio" and value <= 0:
                raise self.fail(path, "a compression ratio is positive (e.g. 2.4)")
            out[key] = value
        return out

    def license_list(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        items = self.string_list(data, (key,))
        out = []
        for item in items:
            if item in LICENSE_CLASSES:
                out.append(item)
                continue
            known = licenses.info(item)
            if known is not None:
                out.append(known.spdx)
            elif item.startswith("LicenseRef-") and _SPDX_LIKE.match(item):
                out.append(item)
            else:
                raise self.fail((key,), f"{item!r} is neither a license class "
                                f"({', '.join(LICENSE_CLASSES)}) nor a known SPDX id", needle=item)
        return tuple(dict.fromkeys(out))

    def string(self, data: dict[str, Any], path: tuple[str, ...]) -> str:
        value = data[path[-1]]
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, got {_toml_type(value)}")
        return value

    def boolean(self, data: dict[str, Any], path: tuple[str, ...]) -> bool:
        value = data[path[-1]]
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_toml_type(value)}")
        return value

    def string_list(self, data: dict[str, Any], path: tuple[str, ...]) -> list[str]:
        value = data[path[-1]]
        if isinstance(value, str):
            raise self.fail(path, f"expected a list of strings, e.g. {path[-1]} = [{json.dumps(value)}]")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"expected a list of strings, got {_toml_type(value)}")
        return value


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")


def locate(text: str, key: tuple[str, ...], needle: str | None = None) -> int | None:
    """The 1-based line where ``key`` (a table path plus key) is set; with ``needle``, the line
    of that quoted value inside the key's value when it spans several lines."""
    table: tuple[str, ...] = ()
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line)
        if header:
            table = tuple(p.strip().strip('"\'') for p in header[1].split("."))
            continue
        match = re.match(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=", line)
        if not match:
            continue
        path = table + tuple(p.strip().strip('"\'') for p in match[1].split("."))
        if path != key:
            continue
        if needle is not None:
            for offset, candidate in enumerate(lines[number - 1:], start=number):
                if f'"{needle}"' in candidate or f"'{needle}'" in candidate:
                    return offset
                if offset > number and ("=" in candidate.split("#")[0] or _HEADER.match(candidate)):
                    break
        return number
    return None


# --- license classes in the ledger -----------------------------------------------------------------

LICENSE_CLASS_SCHEMA = pa.schema([
    ("license", pa.string()), ("name", pa.string()), ("family", pa.string()), ("open", pa.bool_()),
    ("commercial", pa.bool_()), ("attribution", pa.bool_()), ("share_alike", pa.bool_()),
    ("no_derivatives", pa.bool_()), ("url", pa.string()),
])


_CC_ID = re.compile(r"^(?:LicenseRef-)?CC-((?:BY|NC|ND|SA)(?:-(?:BY|NC|ND|SA))*)(?:-(\d\.\d))?(?:-([A-Z]+))?$")


def license_url(spdx: str) -> str | None:
    """Where a license's text is: the Creative Commons deed, or the SPDX page."""
    i = licenses.info(spdx)
    if i is None or " " in spdx:  # an expression has no one text
        return None
    if spdx == "CC0-1.0":
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    if i.family == "pdm":
        return "https://creativecommons.org/publicdomain/mark/1.0/"
    match = _CC_ID.match(spdx)
    if i.family == "cc" and match:
        code, version, port = match[1].lower(), match[2], match[3]
        url = f"https://creativecommons.org/licenses/{code}/"
        if version:
            url += f"{version}/"
            if port:
                url += f"{port.lower()}/"
        return url
    if spdx.startswith("LicenseRef-"):
        return None
    return f"https://spdx.org/licenses/{spdx}.html"


def license_class_rows(ids: Iterable[str]) -> pa.Table:
    """The ``license_classes`` rows of the ids the vocabulary knows (unknown ids are left out).

    An alias (a deprecated id stored by an older version) gets the class of the id it stands for.
    """
    rows = []
    for spdx in sorted(set(ids)):
        i = licenses.info(spdx)
        if i is None:
            continue
        rows.append({"license": spdx, "name": i.name, "family": i.family, "open": i.open,
                     "commercial": i.commercial, "attribution": i.attribution,
                     "share_alike": i.share_alike, "no_derivatives": i.no_derivatives,
                     "url": license_url(i.spdx)})
    return pa.Table.from_pylist(rows, schema=LICENSE_CLASS_SCHEMA)


def document_classes_current(view: Any) -> bool:
    """Whether ``license_classes`` is current for the documents (a read, no vocabulary loaded):
    synced by this version, with a row for every license expression documents carry."""
    from provenance.ledger import reference_data_current

    if not reference_data_current(view):
        return False
    missing = view.query("""
        SELECT count(*) AS n FROM (
            SELECT DISTINCT license FROM document_state WHERE license LIKE '% %'
            EXCEPT SELECT license FROM license_vocabulary)""")
    return missing.column("n")[0].as_py() == 0


def ensure_document_classes(ledger: Any) -> None:
    """License classes for the expressions documents carry (audit, export): a read when they are
    current, one short write when not (which also upgrades an older ledger)."""
    from provenance.ledger import LedgerMissingError, LedgerOutdatedError

    try:
        with ledger.snapshot() as view:
            if document_classes_current(view):
                return
    except (LedgerOutdatedError, LedgerMissingError):  # the write below creates or upgrades it
        pass
    with ledger.writer() as writer:
        sync_license_classes(writer, from_documents=True)


def sync_license_classes(writer: Any, extra_ids: Iterable[str] = (), *, from_documents: bool = False) -> int:
    """Bring ``license_classes`` in step with the vocabulary: one row per id it knows, and one per
    license expression documents carry (``MIT OR Apache-2.0``: its class comes from its parts).

    The ledger calls this whenever it opens for writing, so the classes are always current;
    ``from_documents`` (export, audit) also adds the expressions of the stored documents, which
    later syncs keep. Idempotent: writes nothing when the table is already current. Returns the
    rows written.
    """
    current = writer.query("SELECT * FROM license_vocabulary ORDER BY license")
    expressions = [v for v in current.column("license").to_pylist() if _is_expression(v)]
    if from_documents:
        stored = writer.query("SELECT DISTINCT license FROM document_state WHERE license LIKE '% %'")
        expressions += [v for v in stored.column("license").to_pylist() if _is_expression(v)]
    wanted = license_class_rows([*licenses.known_ids(), *extra_ids, *expressions])
    if current.select(wanted.column_names).cast(LICENSE_CLASS_SCHEMA).equals(wanted):
        return 0
    with writer.transaction():
        writer.execute("DELETE FROM license_vocabulary")
        return writer.append_rows("license_vocabulary", wanted)


def _is_expression(value: str | None) -> bool:
    return bool(value) and bool(re.search(r"\s(?:AND|OR|WITH)\s", value or ""))
