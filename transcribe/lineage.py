"""License and consent of a transcript: inherited from the page that embedded the media.

DESIGN: "A transcript inherits the license and consent of the page that embedded its media,
unless the media itself carries its own." The rules, in order:

1. The media carries its own license (the ``media`` row names one that normalises to an SPDX id,
   or the user passed ``--license`` for explicit inputs): that license, and consent resolved by
   :func:`provenance.consent.resolve_consent` from the page's signals with that license. An
   opt-out of the page still wins (the most restrictive signal wins).
2. Else the page is in the ledger: its license and consent, evidence prefixed with
   ``inherited from <page url>: ``.
3. Else nothing is known: no license, consent ``unspecified``, and the evidence says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from provenance import consent as consent_mod
from provenance import licenses
from provenance.records import ConsentSignal, LicenseFinding


@dataclass(frozen=True, slots=True)
class Parent:
    """The page document that embedded the media, as the ``documents`` view has it now."""

    doc_id: str
    url: str | None
    license: str | None
    license_evidence: str | None
    consent: str
    consent_evidence: str | None


@dataclass(frozen=True, slots=True)
class OwnLicense:
    """A license the media itself carries: the raw statement and where it came from."""

    raw: str
    evidence: str  # e.g. the crawler's evidence, or '--license CC0-1.0 (given by the user)'


@dataclass(frozen=True, slots=True)
class Lineage:
    """Everything a transcript document inherits."""

    parent_doc_id: str | None
    page_url: str | None
    license: str | None
    license_evidence: str | None
    consent: str
    consent_evidence: str | None
    own_license: OwnLicense | None = None

    def findings(self, media_url: str, doc_id: str, observed_at: datetime) -> tuple[LicenseFinding, ...]:
        """The license findings to record for the transcript (``license_findings``)."""
        if self.own_license is not None:
            return (LicenseFinding(url=media_url, source="media", raw_value=self.own_license.raw[:2000],
                                   license=licenses.normalize(self.own_license.raw),
                                   observed_at=observed_at, doc_id=doc_id),)
        if self.license is not None:
            return (LicenseFinding(url=media_url, source="inherited",
                                   raw_value=f"{self.page_url or self.parent_doc_id}: {self.license}",
                                   license=self.license, observed_at=observed_at, doc_id=doc_id),)
        return ()

    def state(self) -> tuple:
        """The columns a document row takes from its lineage (to see whether it changed)."""
        return (self.license, self.license_evidence, self.consent, self.consent_evidence, self.parent_doc_id)


def _where(parent: Parent | None, page_url: str | None) -> str:
    return (parent.url if parent and parent.url else None) or page_url or (parent.doc_id if parent else "?")


def inherit(
    parent: Parent | None,
    *,
    parent_doc_id: str | None,
    page_url: str | None,
    own_license: OwnLicense | None = None,
    page_signals: Sequence[ConsentSignal] = (),
    training_agents: frozenset[str] | None = None,
) -> Lineage:
    """The lineage of a transcript of media embedded in ``parent`` (see the module rules)."""
    page_url = page_url or (parent.url if parent else None)
    parent_doc_id = parent_doc_id or (parent.doc_id if parent else None)
    own_id = licenses.normalize(own_license.raw) if own_license is not None else None
    if own_license is not None and own_id is not None:
        return _own(parent, parent_doc_id, page_url, own_license, own_id, page_signals, training_agents)
    if parent is not None:
        where = _where(parent, page_url)
        if parent.license is not None:
            lic_ev = f"inherited from {where}: {parent.license_evidence or parent.license}"
        else:
            lic_ev = f"inherited from {where}: no license found on the page"
        if own_license is not None:  # a statement we could not name: keep it as evidence
            lic_ev += f" (the media's own statement {own_license.raw!r} names no known license)"
        consent_ev = f"inherited from {where}: {parent.consent_evidence or parent.consent}"
        return Lineage(parent_doc_id, page_url, parent.license, lic_ev, parent.consent, consent_ev, own_license)
    if parent_doc_id is not None or page_url is not None:
        why = f"the embedding page {page_url or parent_doc_id} is not in the ledger"
    else:
        why = None  # a file or URL given on the command line: no page embedded it
    return Lineage(parent_doc_id, page_url, None, why, "unspecified", why, own_license)


def _own(parent: Parent | None, parent_doc_id: str | None, page_url: str | None, own: OwnLicense,
         own_id: str, page_signals: Sequence[ConsentSignal],
         training_agents: frozenset[str] | None) -> Lineage:
    decision = consent_mod.resolve_consent(page_signals, license=own_id, training_agents=training_agents)
    consent = decision.consent
    evidence = consent_mod.format_evidence(decision) or None
    if parent is not None:
        where = _where(parent, page_url)
        if page_signals:
            evidence = f"the media's own license with the signals inherited from {where}: {evidence or consent}"
        if parent.consent == "opted_out" and consent != "opted_out":
            consent = "opted_out"
            evidence = f"inherited from {where}: {parent.consent_evidence or 'opted_out'}"
    license_evidence = f"media: {own.evidence}"
    return Lineage(parent_doc_id, page_url, own_id, license_evidence, consent, evidence, own)


def parents_by_id(rows: Iterable[dict]) -> dict[str, Parent]:
    """``documents`` rows (doc_id, url, license, license_evidence, consent, consent_evidence) by id."""
    return {r["doc_id"]: Parent(r["doc_id"], r["url"], r["license"], r["license_evidence"],
                                r["consent"], r["consent_evidence"]) for r in rows}


def signals_from_rows(rows: Iterable[dict]) -> list[ConsentSignal]:
    """``consent_signals`` rows as records (kinds this version does not know are left out)."""
    from provenance.records import SIGNAL_KINDS

    return [ConsentSignal(url=r["url"], domain=r["domain"] or "", signal=r["signal"], value=r["value"],
                          evidence=r["evidence"] or "", observed_at=r["observed_at"], agent=r["agent"],
                          doc_id=r["doc_id"])
            for r in rows if r["signal"] in SIGNAL_KINDS]
