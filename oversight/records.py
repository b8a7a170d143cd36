"""A records request: everything the program holds about one resident, as JSON and as a
readable PDF, with an explicit list of what the program never holds."""

from __future__ import annotations

import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from fpdf import FPDF
from sqlalchemy.orm import Session

from enrollment import residents
from enrollment import service as enrollment
from fees import repository as fee_repository
from fees.models import CardFee
from idcard import repository as card_repository
from idcard import service as cards
from idcard.service import CardDesk
from oversight import repository
from partners import repository as partner_repository
from privacy import audit
from privacy.audit import Actor
from redemption import repository as redemption_repository
from redemption.history import EVENTS

NEVER_HELD = [
    "immigration or legal status, citizenship, nationality, country or place of birth",
    "visa or permit type, A-number, I-94, Social Security number or ITIN",
    "the kind, number or issuing country of any identity document, or a copy or scan of it",
    "free-text notes about the person (decisions and holds take reason codes)",
    "request bodies, query strings or client addresses in logs",
]
FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"))


def _forbidden_names() -> list[str]:
    data = yaml.safe_load(resources.files("privacy").joinpath("forbidden_fields.yaml")
                          .read_text())
    return list(data["names"])


def _fee_line(fee: CardFee | None) -> str | None:
    """The card's fee as the desk recorded it: amounts and codes, as kept."""
    if fee is None:
        return None
    waived = f" ({fee.waiver_code})" if fee.waiver_code else ""
    return (f"{fee.kind} {fee.amount_due_cents // 100}.{fee.amount_due_cents % 100:02d} "
            f"{fee.currency}, {fee.status}{waived}")


def records_for(session: Session, *, desk: CardDesk, actor: Actor,
                reference: str) -> dict[str, Any]:
    application = enrollment.find_application(session, desk=desk.enrollment,
                                              reference=reference)
    resident_id = application.resident_id
    holder = residents.read_holder(session, vault=desk.vault, resident_id=resident_id)
    applications = []
    subjects = {desk.vault.pseudonym("resident", resident_id)}
    for app in repository.applications_of(session, resident_id):
        view = enrollment.view_application(session, desk=desk.enrollment, application=app)
        subjects.add(desk.vault.pseudonym("application", app.id))
        applications.append({
            "reference": view.reference, "status": view.status, "delivery": view.delivery,
            "created_at": view.created_at.isoformat(),
            "decided_at": view.decided_at.isoformat() if view.decided_at else None,
            "decision_reason": view.decision_reason, "phone": view.phone, "email": view.email,
            "caretaker": view.caretaker.model_dump() if view.caretaker else None,
            "documents": [d.model_dump(mode="json") for d in view.documents]})
    card_rows = []
    for card in card_repository.cards_of_resident(session, resident_id):
        subjects.add(desk.vault.pseudonym("card", card.id))
        card_rows.append({
            "card_number": cards.card_number_of(session, desk, card),
            "issue_number": card.issue_number,
            "status": cards.effective_status(card, desk.clock.today()),
            "status_reason": card.status_reason, "valid_from": card.valid_from.isoformat(),
            "expires_on": card.expires_on.isoformat(), "issued_at": card.issued_at.isoformat(),
            "fulfilment": card.fulfilment,
            "fee": _fee_line(fee_repository.fee_of(session, card.id))})
    entries = sorted((e for s in subjects for e in audit.entries_about(session, s)),
                     key=lambda e: (e.seq is None, e.seq or 0, e.at))
    partner_entries = [(uuid.UUID(e.actor.removeprefix("partner:")), e) for e in entries
                       if e.actor.startswith("partner:") and e.action in EVENTS]
    redemptions = redemption_repository.redemptions_of_resident(session, resident_id)
    partners = partner_repository.partners_by_id(
        session, {r.partner_id for r in redemptions} | {p for p, _ in partner_entries})
    activity = [{"partner": partners[p].name if p in partners else "a former partner",
                 "event": EVENTS[e.action], "at": e.at.isoformat()}
                for p, e in partner_entries]
    benefits = {r.benefit_id: redemption_repository.get_benefit(session, r.benefit_id)
                for r in redemptions}
    photo = residents.read_photo(session, vault=desk.vault, resident_id=resident_id)
    record: dict[str, Any] = {
        "generated_at": desk.clock.now().isoformat(),
        "resident": {
            "first_name": holder.first_name, "middle_name": holder.middle_name,
            "last_name": holder.last_name, "date_of_birth": holder.date_of_birth.isoformat(),
            "address": holder.address.model_dump() if holder.address else None,
            "care_of": holder.care_of.model_dump() if holder.care_of else None,
            "designations": holder.designations.model_dump(),
            "photo_held": photo is not None,
        },
        "applications": applications,
        "cards": card_rows,
        "partner_activity": activity,
        "redemptions": [{
            "partner": partners[r.partner_id].name if r.partner_id in partners else None,
            "benefit": (b.name if (b := benefits.get(r.benefit_id)) else None),
            "receipt_number": r.receipt_number, "redeemed_at": r.redeemed_at.isoformat(),
            "voided_at": r.voided_at.isoformat() if r.voided_at else None}
            for r in redemptions],
        "audit": [{"seq": e.seq, "at": e.at.isoformat(), "action": e.action, "role": e.role,
                   "purpose": e.purpose} for e in entries],
        "never_held": {"statement": NEVER_HELD, "refused_fields": _forbidden_names()},
    }
    audit.record(session, actor=actor, action="records.exported",
                 subject=desk.vault.pseudonym("resident", resident_id), clock=desk.clock)
    return record


def _font_path(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{name} not found: install fonts-noto-core")


def records_pdf(record: dict[str, Any]) -> bytes:
    """The same record, laid out for a person to read."""
    pdf = FPDF(format="Letter")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("Noto", "", str(_font_path("NotoSans-Regular.ttf")))
    pdf.add_font("Noto", "B", str(_font_path("NotoSans-Bold.ttf")))
    pdf.add_page()

    def heading(text: str) -> None:
        pdf.set_font("Noto", "B", 13)
        pdf.ln(3)
        pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Noto", "", 10)

    def line(text: str) -> None:
        pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("Noto", "B", 16)
    line("Records held about you by the City ID program")
    pdf.set_font("Noto", "", 10)
    line(f"Prepared {record['generated_at']}")
    heading("Your details")
    for key, value in record["resident"].items():
        line(f"{key.replace('_', ' ')}: {value if value not in (None, '') else '-'}")
    heading("Applications")
    for app in record["applications"]:
        line(f"{app['reference']}: {app['status']}, created {app['created_at']}, "
             f"decision {app['decision_reason'] or '-'}")
        for doc in app["documents"]:
            line(f"   document checked {doc['checked_at']}: {doc['category']}, "
                 f"{doc['points']} points (the document itself was handed back, not kept)")
    heading("Cards")
    for card in record["cards"] or [{"card_number": "none"}]:
        line(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in card.items()))
    heading("Partners that checked or used your card")
    for event in record["partner_activity"] or [{"partner": "none", "event": "", "at": ""}]:
        line(f"{event['at']}  {event['partner']}  {event['event']}")
    heading("Benefits redeemed")
    for item in record["redemptions"] or [{"benefit": "none"}]:
        line(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in item.items()))
    heading("Audit log entries about you")
    for entry in record["audit"]:
        line(f"#{entry['seq']} {entry['at']} {entry['action']} by a {entry['role']}"
             + (f" ({entry['purpose']})" if entry["purpose"] else ""))
    heading("What the program never holds")
    for sentence in record["never_held"]["statement"]:
        line(f"- {sentence}")
    line("Requests naming any of these fields are refused: "
         + ", ".join(record["never_held"]["refused_fields"]))
    return bytes(pdf.output())
