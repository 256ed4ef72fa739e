"""Paper-form data entry for clerks (and the supervisor's resolution of double entry)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import PaperEntry
from ..security import roles_required
from ..services import campaigns, contacts, paper
from . import layout

bp = Blueprint("entry", __name__, url_prefix="/entry")

CLERKS = ("clerk", "admin")
SUPERVISORS = ("admin",)


def _lang() -> str:
    return str(get_locale())


def _index(problem: str | None = None, serial: str = "", status: int = 200):
    """The serial box, the campaigns' counts, and (after a refusal) what went wrong."""
    db.session.rollback()
    summary = [(c, campaigns.pending_counts(c)) for c in paper.open_campaigns()]
    return render_template("entry/index.html", summary=[s for s in summary if s[1]["total"]],
                           problem=problem, serial=serial), status


def _find(serial: str):
    try:
        return paper.find_paper_form(serial), None
    except paper.UnknownSerial as exc:
        return None, _index(exc.message, serial, 404)


@bp.get("/")
@roles_required(*CLERKS)
def index():
    serial = request.args.get("serial", "")
    if not serial.strip():
        return _index()
    issued, refused = _find(serial)
    if refused:
        return refused
    return redirect(url_for(".form", serial=issued.serial))


def _contact_typed() -> dict:
    """The consent box and phone number keyed from the paper (kept apart from the answers)."""
    return {"consent": request.form.get(contacts.CONSENT_FIELD) == "y",
            "phone": request.form.get(contacts.PHONE_FIELD, "")}


def _render_form(issued, values=None, errors=None, status=200, contact=None):
    return render_template(
        "entry/form.html", issued=issued, sections=layout.sections(issued.campaign.version,
                                                                   _lang()),
        values=values or {}, errors=errors or {}, stage=paper.stage(issued),
        contact=contact or {}), status


@bp.route("/form/<serial>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def form(serial: str):
    issued, refused = _find(serial)
    if refused:
        return refused
    if request.method == "GET":
        if issued.serial != serial:
            return redirect(url_for(".form", serial=issued.serial))
        try:
            paper.check_enterable(issued, current_user.id, lock=False)
        except paper.EntryRefused as exc:
            return _index(exc.message, status=409)
        # Blind entry: the page never carries another clerk's values.
        return _render_form(issued)
    values = layout.keyed_values(issued.campaign.version, request.form)
    contact = _contact_typed()
    try:
        result = paper.enter(issued, values, current_user.id, **contact)
    except paper.InvalidAnswers as exc:
        db.session.rollback()
        return _render_form(issued, values, exc.errors, 400, contact)
    except paper.EntryRefused as exc:
        return _index(exc.message, status=409)
    stage = paper.stage(issued) if isinstance(result, PaperEntry) else "paper"
    db.session.commit()
    if stage == "awaiting_second":
        flash(_("Đã nhập phiếu %(s)s (lần 1) — chờ nhập lần 2.", s=issued.serial), "info")
    elif stage == "disagreement":
        flash(_("Đã nhập phiếu %(s)s (lần 2) — lệch với lần 1, chờ xử lý.",
                s=issued.serial), "warning")
    else:
        flash(_("Đã nhập phiếu %(s)s; phiếu đã được tính vào kết quả.", s=issued.serial),
              "success")
    return redirect(url_for(".index"))


# --- double entry: the supervisor settles disagreements -------------------------------

def _disagreement_list(problem: str | None = None, status: int = 200):
    db.session.rollback()
    cases = [(c, paper.disagreements(c)) for c in paper.open_campaigns() if c.double_entry]
    return render_template("entry/disagreements.html", cases=cases, problem=problem), status


@bp.get("/disagreements")
@roles_required(*SUPERVISORS)
def disagreements():
    return _disagreement_list()


def _render_resolve(case, values, errors=None, status=200, contact=None):
    lang = _lang()
    items = {i.code: i for i in case.form.campaign.version.items}
    shown = {code: [layout.show(items[code], answers.get(code), lang)
                    for answers in case.answers] for code in items}
    return render_template(
        "entry/resolve.html", issued=case.form, case=case,
        sections=layout.sections(case.form.campaign.version, lang), values=values,
        errors=errors or {}, shown=shown, contact=contact or {}), status


@bp.route("/disagreements/<serial>", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def resolve(serial: str):
    issued, refused = _find(serial)
    if refused:
        return refused
    try:
        case = paper.disagreement(issued)
    except paper.EntryRefused as exc:
        return _disagreement_list(exc.message, 409)
    if request.method == "GET":
        # Items both clerks agree on start filled in; the differing ones start blank, so
        # the supervisor decides each of them from the paper.
        agreed = {code: value for code, value in case.answers[0].items()
                  if code not in case.differences}
        return _render_resolve(case, layout.as_form_values(agreed))
    values = layout.keyed_values(issued.campaign.version, request.form)
    contact = _contact_typed()
    try:
        paper.resolve(issued, values, current_user.id, **contact)
    except paper.InvalidAnswers as exc:
        db.session.rollback()
        return _render_resolve(case, values, exc.errors, 400, contact)
    except paper.EntryRefused as exc:
        return _disagreement_list(exc.message, 409)
    db.session.commit()
    flash(_("Đã xử lý phiếu %(s)s; phiếu đã được tính vào kết quả.", s=issued.serial),
          "success")
    return redirect(url_for(".disagreements"))
