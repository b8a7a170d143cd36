"""The applicant's receipt: what they take home from the desk, in their language.

It holds the reference, the application's status and next step, and what the rulebook still
needs (as codes and points, which the receipt page puts in words), and nothing else about the
person: a receipt left on a bus gives away no name, no address and no date of birth. The
language is the one the clerk picks, else the applicant's first preferred language the program
speaks, else English.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from enrollment import i18n, repository
from enrollment import service as enrollment
from enrollment.correction_schemas import MissingItem, ReceiptOut
from enrollment.models import Application
from enrollment.residents import age_on
from enrollment.rulebook import DocumentCategory, DocumentCredit
from enrollment.service import EnrollmentDesk, pseudonym
from privacy import audit
from privacy.audit import Actor


def _language(session: Session, desk: EnrollmentDesk, application: Application,
              chosen: str | None) -> str:
    if chosen in i18n.SUPPORTED:
        return chosen
    resident = repository.get_resident(session, application.resident_id)
    assert resident is not None
    designations = desk.vault.open_fields(session, resident, "designations")["designations"]
    for lang in (designations or {}).get("languages", []):
        if lang in i18n.SUPPORTED:
            return str(lang)
    return i18n.DEFAULT


def _missing(session: Session, desk: EnrollmentDesk,
             application: Application) -> list[MissingItem]:
    resident = repository.get_resident(session, application.resident_id)
    assert resident is not None
    born: date = desk.vault.open_fields(session, resident, "date_of_birth")["date_of_birth"]
    credits = [DocumentCredit(category=DocumentCategory(d.category), points=d.points,
                              shows_photo=d.shows_photo, shows_dob=d.shows_dob)
               for d in repository.documents_of(session, application.id)]
    tally = desk.rulebook.tally(credits, age=age_on(born, desk.clock.today()),
                                has_caretaker=application.caretaker_enc is not None)
    return [MissingItem(code=code, points=tally.shortfall.get(code)) for code in tally.missing]


def receipt(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
            lang: str | None, status_url: str) -> ReceiptOut:
    """``status_url`` is the public status page's address; the receipt's link opens it in the
    receipt's language."""
    application = enrollment.find_application(session, desk=desk, reference=reference)
    chosen = _language(session, desk, application, lang)
    label, next_step = i18n.status_message(application.status, chosen)
    missing = _missing(session, desk, application)
    audit.record(session, actor=actor, action="application.receipt_printed",
                 subject=pseudonym(desk, application.id), clock=desk.clock,
                 detail={"lang": chosen})
    return ReceiptOut(
        reference=enrollment.read_reference(session, desk, application),
        status=application.status, status_label=label, next_step=next_step,
        delivery="mail" if application.delivery == "mail" else "pickup",
        documents_complete=not missing, missing=missing, lang=chosen,
        dir=i18n.direction(chosen), issued_on=desk.clock.today(),
        status_url=f"{status_url}?lang={chosen}")
