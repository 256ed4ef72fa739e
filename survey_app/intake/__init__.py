"""Accepting a submission: the one core every channel uses (the citizen's page and its
fast path, the API, paper entry; kiosks, invitations and offline answering to come).

`accept` owns, in this order: the link's refusal (used, void, expired, campaign closed),
the answers' validation (`validate`, the question types' own parsers), and the storing —
the response, the tally's step and the ledger entry, in the caller's transaction
(`store.record`). Nothing is written before everything is checked, so a refusal leaves
nothing behind.

A citizen's submission can be followed from the route to the commit in four modules:
`citizen/__init__.py` (the view; or `citizen/fast.py`, the thin adapter that serves the
common case without Flask's request machinery) → `intake/__init__.py` (`accept`) →
`intake/store.py` (every statement, with `ledger.append` for the ledger's entry) → the
commit, by the view's session or the adapter's `rawsql.own_connection`.

The submissions' metrics (`survey_app.metrics`: stored, repeats and refusals by channel)
are counted here and nowhere else: by `accept`, and for a citizen's page by `repeat_of` and
`submission_refusal`, the two checks its view makes before `accept`.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from .. import metrics
from ..questions import InvalidAnswer
from ..services import ServiceError
from ..survey_form import answer_rules, spec
from .links import (
    CampaignClosed,
    FormAlreadyUsed,
    FormExpired,
    FormVoid,
    Target,
    check_open,
    find_form,
    find_scope,
    hash_token,
    refusal,
)
from .store import (
    Recorded,
    SubmissionConflict,
    by_receipt,
    keyed_hash,
    normalise_receipt,
    record,
    repeated_submission,
    submit_key,
    tally_mark,
    tally_step,
)

__all__ = [
    "CampaignClosed", "FormAlreadyUsed", "FormExpired", "FormVoid", "InvalidAnswers", "TooMany",
    "Recorded", "SubmissionConflict", "Target", "accept", "by_receipt", "check_open", "find_form", "find_scope",
    "hash_token", "keyed_hash", "normalise_receipt", "raw_answers", "record", "refusal",
    "repeat_of", "repeated_submission", "submission_refusal", "submit_key", "tally_mark", "tally_step", "validate",
]

DUPLICATE_MESSAGE = "Chỉ được chọn một câu trả lời."


class TooMany(ServiceError):
    """The submission's gate (`accept(admit=…)`: an open link's per-address limit) said no."""


class InvalidAnswers(ServiceError):
    """Answers the questionnaire does not accept; `errors` by item code."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Phiếu chưa hợp lệ."), details=[f"{k}: {v}" for k, v in errors.items()])
        self.errors = errors


def raw_answers(version, fields) -> tuple[dict, dict[str, str]]:
    """A posted form's (name, value) pairs as raw answers — a list for an item a type lets
    repeat (`QuestionType.multiple`), else one value — and an error for any other item
    sent twice. Names that are not items are left out (the form's own fields)."""
    parsers = version.answer_rules[0]
    multiple = version.multiple_items
    raw: dict = {}
    errors: dict[str, str] = {}
    for name, value in fields:
        if name not in parsers:
            continue
        if name in multiple:
            raw.setdefault(name, []).append(value)
        elif name in raw:
            errors[name] = DUPLICATE_MESSAGE
        else:
            raw[name] = value
    return raw, errors


def validate(version, answers: dict, *, require: bool = True
             ) -> tuple[dict, dict[str, str]]:
    """Check raw answers (from the web form, the API or a paper entry) against the
    questionnaire: the one validator of every channel.

    Returns (clean answers, errors by item code). Unknown items, values a question type
    refuses (`questions.QuestionType.parser`) and (with `require`) missing required
    answers are errors. Paper forms pass require=False: a citizen may leave a printed
    question blank, and a blank is recorded as unanswered, not as "not applicable".
    """
    # A version snapshot (`survey_form.spec`) keeps its rules; an ORM version is read.
    parsers, required = getattr(version, "answer_rules", None) or answer_rules(version.items)
    clean, errors = {}, {}
    if not isinstance(answers, dict):
        return {}, {"_": _("answers phải là một đối tượng {mã câu hỏi: giá trị}")}
    for code, value in answers.items():
        parse = parsers.get(code)
        if parse is None:
            errors[str(code)] = _("không có câu hỏi mã này")
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            value = parse(value)
        except InvalidAnswer as refused:
            errors[code] = str(refused.message)
            continue
        if value is not None:
            clean[code] = value
    for code in required if require else ():
        if code not in clean and code not in errors:
            errors[code] = _("câu hỏi bắt buộc chưa được trả lời")
    return clean, errors


def repeat_of(target, fields, token: str | None, device: str | None,
              opened_at: datetime | None, channel: str | None = None) -> Recorded | None:
    """The stored response that a posted form (its (name, value) pairs) repeats — the same
    form token from the same browser — or None. The same token with other answers raises
    SubmissionConflict: what a body is, for this comparison, is its clean answers.
    `channel`: as for `accept`, the submission's when it is not the link's (a kiosk)."""
    channel = channel or target.channel

    def answers_of() -> dict | None:
        version = spec(target.campaign.version_id)
        raw, duplicates = raw_answers(version, fields)
        clean, errors = validate(version, raw)
        return None if duplicates or errors else clean

    try:
        earlier = repeated_submission(target, token, device, opened_at, answers_of)
    except SubmissionConflict as exc:
        metrics.refused(channel, exc)
        raise
    if earlier is not None:
        metrics.submitted(channel, repeated=True)
    return earlier


def submission_refusal(target):
    """`refusal` for a link that was just sent answers: the refusal, if any, is counted
    as the submission's."""
    refused = refusal(target)
    if refused is not None:
        metrics.refused(target.channel, refused)
    return refused


def accept(target, answers: dict, *, channel: str | None = None, require: bool = True,
           opened_at: datetime | None = None, client: str | None = None,
           device: str | None = None, submission: str | None = None,
           entered_by_id: int | None = None, api_key_id: int | None = None,
           refuse: bool = True, admit=None, config=None,
           count_refusal: bool = True) -> Recorded:
    """Accept one submission to `target` (a link's `Target`, or anything with `campaign`,
    `agency` and `form`): refuse a link that cannot take it, validate the raw answers and
    store them. Raises the link's refusal (FormAlreadyUsed, FormVoid, FormExpired,
    CampaignClosed) or InvalidAnswers, with nothing written; the caller commits.

    `channel`: the response's channel (default: the link's). `refuse`: False for a
    caller that checked the link itself (paper entry checks its own form register).
    `admit`: called once the answers are valid, before anything is written; False refuses
    the submission with TooMany (an open link's limit per network address, which only a
    valid submission should spend). `config`: for a caller outside Flask's application
    context (the fast path). `count_refusal`: False for a caller that hands a refused
    submission on to one that tries it again (the fast path to the Flask view), so that
    the refusal is counted once. A stored submission and a repeat are counted here
    (`survey_app.metrics`), before the caller's commit."""
    channel = channel or target.channel
    try:
        version = spec(target.campaign.version_id)
        clean, errors = validate(version, answers, require=require)
        if errors:
            raise InvalidAnswers(errors)
        if refuse:
            refused = refusal(target)
            if refused is not None:
                raise refused
        if admit is not None and not admit():
            raise TooMany(_("Quá nhiều phiếu"))
        recorded = record(campaign=target.campaign, agency=target.agency, channel=channel,
                          answers=clean, form=target.form, opened_at=opened_at,
                          client=client, device=device, entered_by_id=entered_by_id,
                          api_key_id=api_key_id, submission=submission, check_window=False,
                          config=config)
    except ServiceError as exc:
        if count_refusal:
            metrics.refused(channel, exc)
        raise
    metrics.submitted(channel, recorded.repeated)
    return recorded
