"""Quality flags of a campaign for the auditor's pages: analysis.quality on the campaign's
responses, with the thresholds of the installation (QUALITY_THRESHOLDS), cached while the
set of responses is unchanged; and their details worded in the page's language."""

from __future__ import annotations

import threading
from dataclasses import asdict, fields

import pandas as pd
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from analysis import load_audit, quality

from ..extensions import db
from ..models import Campaign
from . import derived
from .formatting import number

#: Each kind of flag detail (`analysis.quality.DETAIL_TEXT`) in Vietnamese; its numbers
#: are filled in already formatted (`number`).
DETAIL_TEXT = {
    "speeder": _l("%(duration)s giây, dưới %(ratio)s × trung vị %(median)s giây"),
    "straight_lining": _l("cả %(items)s câu hài lòng đều chọn mức %(value)s"),
    "near_duplicate": _l("giống phiếu %(partner)s ở %(agree)s trong %(common)s câu cả hai "
                         "cùng trả lời (%(share)s %%)"),
    "near_duplicate_group": _l("giống phiếu %(partner)s ở %(agree)s trong %(common)s câu cả "
                               "hai cùng trả lời (%(share)s %%); %(count)s phiếu tương tự ở "
                               "%(agency)s"),
    "burst_address": _l("%(count)s phiếu từ cùng một địa chỉ mạng (#%(key)s) trong "
                        "%(minutes)s phút"),
    "burst_device": _l("%(count)s phiếu từ cùng một thiết bị (#%(key)s) trong %(minutes)s "
                       "phút"),
    "kiosk_pace": _l("%(gap)s giây sau phiếu trước trên cùng máy tại quầy (#%(key)s), dưới "
                     "%(min_gap)s giây"),
    "before_opening": _l("nộp lúc %(at)s (UTC), trước khi đợt khảo sát mở (%(opens)s)"),
    "after_closing": _l("nộp lúc %(at)s (UTC), sau khi đợt khảo sát đóng (%(closes)s)"),
    "paper_disagreement": _l("%(entries)s lần nhập lệch nhau ở %(n)s câu: %(items)s; người "
                             "giám sát đã quyết định"),
}
#: Decimals shown of each number a detail carries (the others are whole numbers).
_DIGITS = {"ratio": 2, "share": 0, "minutes": 0, "duration": 0, "median": 0}

_CACHE: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def thresholds() -> quality.Thresholds:
    overrides = dict(current_app.config.get("QUALITY_THRESHOLDS") or {})
    known = {f.name for f in fields(quality.Thresholds)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"QUALITY_THRESHOLDS: unknown setting(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")
    return quality.Thresholds(**overrides)


def _identity(campaign: Campaign, limits: quality.Thresholds) -> tuple:
    """What the flags of a campaign are a function of: its set of responses
    (`derived.response_set`) and the thresholds."""
    return (*derived.response_set(campaign.id), limits)


def campaign_flags(campaign: Campaign, *, cached: bool = True
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(quality frame, flag table) of the campaign, reused until a response arrives.
    Callers must not modify the returned frames."""
    limits = thresholds()
    key = (str(db.engine.url), *_identity(campaign, limits))
    if cached:
        with _LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            return hit
    result = load_audit.flags(db.session.connection(), campaign.id, limits)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = result
    return result


def flagged_ids(campaign: Campaign) -> set[int]:
    _, table = campaign_flags(campaign)
    return {int(i) for i in table["response_id"]}


def summary(campaign: Campaign) -> dict[str, pd.DataFrame]:
    """Flag counts per agency, per collector, and per agency × collector."""
    frame, table = campaign_flags(campaign)
    return {
        "agency": quality.flag_counts(table, frame, by=["agency_code"]),
        "collector": quality.flag_counts(table, frame, by=["collector"]),
        "agency_collector": quality.flag_counts(table, frame, by=["agency_code", "collector"]),
    }


def agency_counts(campaign: Campaign) -> pd.DataFrame:
    """``summary(campaign)["agency"]``, kept in the database (`derived`) while the
    campaign's responses and the thresholds stay the same: the official report of a
    closed round (or one the nightly `flask checkpoint` has seen) does not read every
    response again to count its flags."""
    limits = thresholds()
    identity = ["flag-counts/1", *_identity(campaign, limits)[:4], asdict(limits)]
    frame = pd.DataFrame(**derived.kept(
        "flags", identity,
        lambda: summary(campaign)["agency"].to_dict(orient="split", index=False)))
    return frame.astype({c: "str" if c == "agency_code" else "int64" for c in frame})


def detail_text(kind: str, args: dict) -> str:
    """A flag's detail (`kind`, `args` of the flag table) in the page's language."""
    lang = str(get_locale())
    shown = {}
    for name, value in args.items():
        if name == "partner":  # a response's number, not a quantity
            shown[name] = str(value)
        elif hasattr(value, "strftime"):
            shown[name] = value.strftime("%Y-%m-%d %H:%M")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            digits = _DIGITS.get(name, 0)
            if name == "ratio":  # a threshold such as 0.5: its own decimals, no padding
                digits = next((d for d in range(3) if round(value, d) == value), 2)
            shown[name] = number(value, digits, lang)
        else:
            shown[name] = value
    return str(DETAIL_TEXT[kind]) % shown


def with_details(rows: list[dict]) -> list[dict]:
    """Flag-table records with `detail` worded in the page's language."""
    return [{**row, "detail": detail_text(row["kind"], row["args"])} for row in rows]
