"""Reading posted forms into the domain's own input models.

A browser form is flat text; the services take the same pydantic models as the JSON API, so the
rules live in one place. A form that does not validate raises :class:`FormInvalid`, which names
the fields by their labels and never repeats a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from cityid.errors import AppError
from enrollment.schemas import ApplicationCreate, DecisionIn, DocumentIn
from idcard.schemas import CardAction
from staff.schemas import StaffCreate

Model = TypeVar("Model", bound=BaseModel)


class FormInvalid(AppError):
    code = "form_invalid"
    title = "Some fields are missing or not valid"

    def __init__(self, fields: Sequence[str], labels: Mapping[str, str],
                 extra: Sequence[str] = ()) -> None:
        self.fields = tuple(dict.fromkeys(fields))
        names = [labels.get(f, f.replace("_", " ")) for f in self.fields]
        detail = "Check: " + ", ".join(names) + "." if names else self.title + "."
        if extra:
            detail += " " + " ".join(extra)
        super().__init__(detail)


def text(form: FormData | Mapping[str, Any], name: str) -> str | None:
    """A text field, stripped; None when absent or blank."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def checked(form: FormData | Mapping[str, Any], name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")


def _validate(model: type[Model], data: dict[str, Any], labels: Mapping[str, str],
              field_of: Mapping[tuple[str, ...], str] | None = None) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields, extra = [], []
        for error in exc.errors():
            loc = tuple(str(p) for p in error["loc"])
            if not loc:  # a rule across fields: its message names no value
                extra.append(str(error["msg"]).removeprefix("Value error, ").capitalize() + ".")
                continue
            fields.append((field_of or {}).get(loc, loc[-1]))
        raise FormInvalid(fields, labels, extra) from None


def validated(model: type[Model], data: dict[str, Any], labels: Mapping[str, str]) -> Model:
    """A form's values as the domain's input model, or :class:`FormInvalid` naming fields."""
    return _validate(model, data, labels)


# --- a new application ----------------------------------------------------------------------

APPLICATION_LABELS = {
    "first_name": "First name", "middle_name": "Middle name", "last_name": "Last name",
    "date_of_birth": "Date of birth", "address_kind": "Where the card goes",
    "line1": "Address line 1", "line2": "Address line 2", "city": "City",
    "state": "State (2 letters)", "postal_code": "ZIP code",
    "organisation": "Care-of organisation", "phone": "Phone", "email": "Email",
    "gender": "Gender shown on the card", "language_1": "Preferred language",
    "language_2": "Second language", "ec_name": "Emergency contact name",
    "ec_phone": "Emergency contact phone", "caretaker_first_name": "Caretaker's first name",
    "caretaker_last_name": "Caretaker's last name",
    "caretaker_relationship": "Caretaker's relationship",
}
CARETAKER_RELATIONSHIPS = {"parent": "Parent", "legal_guardian": "Legal guardian",
                           "foster_parent": "Foster parent", "relative": "Relative",
                           "other": "Other"}
ADDRESS_KINDS = ("home", "care_of", "none")


def _address(form: FormData) -> dict[str, Any]:
    state = text(form, "state")
    return {"line1": text(form, "line1"), "line2": text(form, "line2"), "city": text(form, "city"),
            "state": state.upper() if state else None, "postal_code": text(form, "postal_code")}


def _application_field(loc: tuple[str, ...]) -> str:
    if loc[0] in ("address", "care_of") and len(loc) > 1:
        return loc[1]
    if loc[:2] == ("designations", "emergency_contact") and len(loc) > 2:
        return "ec_" + loc[2]
    if loc[:2] == ("designations", "languages"):
        return "language_" + str(int(loc[2]) + 1) if len(loc) > 2 else "language_1"
    if loc[0] == "designations" and len(loc) > 1:
        return loc[1]
    if loc[0] == "caretaker" and len(loc) > 1:
        return "caretaker_" + loc[1]
    return loc[0]


def application(form: FormData) -> ApplicationCreate:
    kind = text(form, "address_kind") or "home"
    if kind not in ADDRESS_KINDS:
        raise FormInvalid(["address_kind"], APPLICATION_LABELS)
    address = care_of = None
    if kind == "home":
        address = _address(form)
    elif kind == "care_of":
        care_of = {**_address(form), "organisation": text(form, "organisation")}
    languages = [lang for lang in (text(form, "language_1"), text(form, "language_2")) if lang]
    contact = None
    if text(form, "ec_name") or text(form, "ec_phone"):
        contact = {"name": text(form, "ec_name"), "phone": text(form, "ec_phone")}
    caretaker = None
    if any(text(form, f"caretaker_{f}") for f in ("first_name", "last_name")):
        caretaker = {"first_name": text(form, "caretaker_first_name"),
                     "last_name": text(form, "caretaker_last_name"),
                     "relationship": text(form, "caretaker_relationship")}
    data = {
        "first_name": text(form, "first_name"), "middle_name": text(form, "middle_name"),
        "last_name": text(form, "last_name"), "date_of_birth": text(form, "date_of_birth"),
        "address": address, "care_of": care_of, "phone": text(form, "phone"),
        "email": text(form, "email"), "caretaker": caretaker,
        "designations": {"gender": text(form, "gender"), "languages": languages,
                         "veteran": checked(form, "veteran"),
                         "organ_donor": checked(form, "organ_donor"),
                         "emergency_contact": contact},
    }
    try:
        return ApplicationCreate.model_validate(data)
    except ValidationError as exc:
        fields = [_application_field(tuple(str(p) for p in e["loc"])) for e in exc.errors()
                  if e["loc"]]
        raise FormInvalid(fields, APPLICATION_LABELS) from None


# --- the clerk's other forms ----------------------------------------------------------------

DOCUMENT_LABELS = {"kind": "Document", "expires_on": "Expiry date", "issued_on": "Issue date"}


def document(form: FormData) -> DocumentIn:
    return _validate(DocumentIn, {
        "kind": text(form, "kind"), "expires_on": text(form, "expires_on"),
        "issued_on": text(form, "issued_on"), "shows_photo": checked(form, "shows_photo"),
        "shows_dob": checked(form, "shows_dob")}, DOCUMENT_LABELS)


def decision(form: FormData) -> DecisionIn:
    outcome = text(form, "outcome")
    override = outcome == "override"
    return _validate(DecisionIn, {
        "outcome": "approve" if override else outcome, "reason": text(form, "reason"),
        "override_rulebook": override}, {"outcome": "Decision", "reason": "Reason"})


def card_action(form: FormData) -> CardAction:
    return _validate(CardAction, {"reason": text(form, "reason")}, {"reason": "Reason"})


def confirmed(form: FormData) -> None:
    """An irreversible action (a denial, a revocation, a duplicate resolution) is taken only
    with the page's confirmation box ticked, so a stray click decides nothing."""
    if not checked(form, "confirm"):
        raise FormInvalid(["confirm"], {"confirm": "Confirmation"},
                          ["Tick the box to confirm: this cannot be undone."])


def reason(form: FormData, name: str = "reason") -> str:
    value = text(form, name)
    if value is None:
        raise FormInvalid([name], {name: "Reason"})
    return value


STAFF_LABELS = {"username": "Username", "password": "Password", "role": "Role"}


def new_staff(form: FormData) -> StaffCreate:
    username = text(form, "username")
    password = form.get("password")
    return _validate(StaffCreate, {
        "username": username.lower() if username else None,
        "password": password if isinstance(password, str) else None,
        "role": text(form, "role")}, STAFF_LABELS)
