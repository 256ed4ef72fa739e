"""Free-text comments and their release to the agencies they are about.

An officer never reads a comment as the citizen wrote it: Sở Nội vụ or MTTQ releases it
first, masked by :func:`analysis.redact.redact` (phone numbers, e-mail addresses,
identity numbers, names after a form of address) and possibly edited further. A release
is a row of its own (``comment_release``); the response is never changed. Officers see
the released text only, per agency, sorted by text: no profile answers, times, receipt
codes or response ids beside it, and no order that follows submission.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from analysis.redact import redact

from ..extensions import db
from ..models import Agency, Campaign, CommentRelease, Item, Response
from ..questions import names_where
from . import ServiceError, audit

PAGE_SIZE = 100
MAX_LENGTH = 5000


@dataclass
class Comment:
    response_id: int
    agency_code: str
    agency_name: str
    item_code: str
    original: str
    suggested: str
    released: str | None
    #: the element the latest release filed it under
    element: str | None = None

    @property
    def key(self) -> str:
        return f"{self.response_id}:{self.item_code}"


def text_items(campaign: Campaign) -> list[str]:
    return list(db.session.scalars(select(Item.code).where(
        Item.version_id == campaign.version_id, Item.type.in_(names_where("free_text")))
        .order_by(Item.position)))


def _latest_releases(response_ids) -> dict[tuple[int, str], CommentRelease]:
    latest = (select(func.max(CommentRelease.id))
              .where(CommentRelease.response_id.in_(response_ids))
              .group_by(CommentRelease.response_id, CommentRelease.item_code))
    rows = db.session.scalars(select(CommentRelease).where(CommentRelease.id.in_(latest)))
    return {(r.response_id, r.item_code): r for r in rows}


def _with_text(campaign: Campaign, items: list[str], agency_ids: set[int] | None):
    """Responses of the campaign that answered one of ``items`` (their JSON holds the key)."""
    query = select(Response).where(Response.campaign_id == campaign.id).order_by(Response.id)
    if agency_ids is not None:
        query = query.where(Response.agency_id.in_(agency_ids))
    if items:
        query = query.where(or_(*[and_(Response.answers.contains(f'"{code}":"'),
                                       ~Response.answers.contains(f'"{code}":""'))
                                  for code in items]))
    return query


def campaign_comments(campaign: Campaign, agency_ids: set[int] | None = None,
                      page: int = 1) -> tuple[list[Comment], int]:
    """One page of the campaign's non-empty comments (responses in ``agency_ids`` when
    given), each with its suggested masked text and its latest release; and how many
    responses carry comments in all."""
    items = text_items(campaign)
    if not items:
        return [], 0
    query = _with_text(campaign, items, agency_ids)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    responses = db.session.scalars(
        query.offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    released = _latest_releases([r.id for r in responses])
    out = []
    for response in responses:
        answers = response.effective_answers
        for code in items:
            text = str(answers.get(code) or "").strip()
            if text:
                last = released.get((response.id, code))
                out.append(Comment(response.id, response.agency.code, response.agency.name,
                                   code, text, redact(text), last.text if last else None,
                                   last.element_code if last else None))
    return out, total


def elements(campaign: Campaign) -> list[tuple[str, str]]:
    """(code, name) of the campaign's elements, a comment may be filed under one."""
    return [(g.code, g.name("vi")) for g in campaign.version.groups if g.kind == "element"]


def release(campaign: Campaign, chosen: list[str], texts: dict[str, str],
            user_id: int | None, filed: dict[str, str] | None = None) -> int:
    """Release the comments ``chosen`` ("<response id>:<item code>") with the text given
    for each (edited or as suggested), masked again so that an edit cannot bring back a
    phone number, each filed under the element ``filed`` gives (a code, or none).
    Returns how many were released; refuses the whole lot on a bad key or element."""
    items = set(text_items(campaign))
    known = {code for code, _name in elements(campaign)}
    filed = {k: v for k, v in (filed or {}).items() if v}
    for code in filed.values():
        if code not in known:
            raise ServiceError(_("Không có yếu tố '%(e)s' trong phiếu của đợt này.", e=code))
    wanted: list[tuple[int, str]] = []
    for key in dict.fromkeys(chosen):
        rid, _sep, code = key.partition(":")
        if not rid.isdigit() or code not in items:
            raise ServiceError(_("Ý kiến '%(key)s' không thuộc đợt khảo sát này.", key=key))
        wanted.append((int(rid), code))
    if not wanted:
        raise ServiceError(_("Chưa chọn ý kiến nào để công bố."))
    responses = {r.id: r for r in db.session.scalars(select(Response).where(
        Response.id.in_([rid for rid, _code in wanted]), Response.campaign_id == campaign.id))}
    for rid, code in wanted:
        response = responses.get(rid)
        original = str((response.effective_answers.get(code) if response else "") or "").strip()
        if not original:
            raise ServiceError(_("Ý kiến '%(key)s' không thuộc đợt khảo sát này.",
                                 key=f"{rid}:{code}"))
        given = texts.get(f"{rid}:{code}")
        text = redact(given if given is not None and given.strip() else original).strip()
        if len(text) > MAX_LENGTH:
            raise ServiceError(_("Ý kiến '%(key)s' dài quá %(n)d ký tự.", key=f"{rid}:{code}",
                                 n=MAX_LENGTH))
        db.session.add(CommentRelease(response_id=rid, item_code=code, text=text,
                                      released_by_id=user_id,
                                      element_code=filed.get(f"{rid}:{code}")))
    audit.record("release_comments", "campaign", campaign.code,
                 after={"released": len(wanted)})
    db.session.flush()
    return len(wanted)


def released_comments(campaign: Campaign, agency_ids: set[int] | None) -> list[tuple[str, list[str]]]:
    """What an officer may read: the latest released text of each comment of the
    campaign in ``agency_ids``, as (agency name, texts sorted by text) in agency order."""
    latest = (select(func.max(CommentRelease.id)).join(Response)
              .where(Response.campaign_id == campaign.id)
              .group_by(CommentRelease.response_id, CommentRelease.item_code))
    query = (select(Agency.code, Agency.name, CommentRelease.text)
             .join(Response, Response.id == CommentRelease.response_id)
             .join(Agency, Agency.id == Response.agency_id)
             .where(CommentRelease.id.in_(latest)))
    if agency_ids is not None:
        query = query.where(Response.agency_id.in_(agency_ids))
    grouped: dict[tuple[str, str], list[str]] = {}
    for code, name, text in db.session.execute(query):
        if text:
            grouped.setdefault((code, name), []).append(text)
    return [(name, sorted(texts)) for (code, name), texts in sorted(grouped.items())]
