"""Verification purposes, per partner type, as data (``purposes.yaml``); and the police incident
reference, which the program keeps only as a keyed hash."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from partners.errors import IncidentReferenceNotTaken, PurposeRequired, UnknownPurpose
from privacy.terms import holds_immigration_term
from privacy.vault import Vault

INCIDENT_INDEX = "incident-reference"


@dataclass(frozen=True)
class PurposeRule:
    codes: tuple[str, ...]
    required: bool
    incident_reference: bool


@lru_cache(maxsize=1)
def purpose_rules() -> dict[str, PurposeRule]:
    data = yaml.safe_load(resources.files("partners").joinpath("purposes.yaml").read_text())
    rules = {kind: PurposeRule(codes=tuple(spec["purposes"]), required=bool(spec.get("required")),
                               incident_reference=bool(spec.get("incident_reference")))
             for kind, spec in data["types"].items()}
    for kind, rule in rules.items():
        refused = [code for code in rule.codes if holds_immigration_term(code)]
        if refused:  # a city's edit of the list must not bring the word back in
            raise ValueError(f"purposes.yaml: {kind} lists a purpose about immigration status")
    return rules


def rule_for(partner_type: str) -> PurposeRule:
    return purpose_rules().get(partner_type, PurposeRule((), False, False))


def check_purpose(partner_type: str, purpose: str | None,
                  incident_reference: str | None) -> None:
    rule = rule_for(partner_type)
    if purpose is None:
        if rule.required:
            raise PurposeRequired(f"Give one of: {', '.join(rule.codes)}.")
    elif purpose not in rule.codes:
        raise UnknownPurpose(f"Purposes for this partner: {', '.join(rule.codes) or 'none'}.")
    if incident_reference is not None and not rule.incident_reference:
        raise IncidentReferenceNotTaken()


def normalise_incident_reference(reference: str) -> str:
    """"inc 2026/0042", "INC-2026-0042" and "inc20260042" are one case number."""
    return "".join(c for c in reference.upper() if c.isalnum())


def incident_hash(vault: Vault, reference: str) -> str:
    """The keyed hash a lawful request matches a case number against."""
    return vault.keyed_hash(INCIDENT_INDEX, normalise_incident_reference(reference))
