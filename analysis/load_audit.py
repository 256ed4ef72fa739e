"""What the auditor's checks read from the database: the per-response facts behind the
quality flags (timing, keyed address and device hashes, answers), each response's
collector, and the population of a re-verification draw.

Like :mod:`analysis.load`, every function takes an SQLAlchemy Connection and returns
DataFrames; nothing here imports Flask. Unlike the indices, the flags need every
response's answers, so :func:`quality_frame` reads the whole campaign into memory (about
1 KB a response: fine for a few hundred thousand).
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import text

from . import quality
from .kinds import SCORED
from .ledger import chain_ids
from .load_sql import LATEST_REVIEW

# The collector of a response: the person a numbered paper form was issued to; responses
# that came through no issued batch are labelled by how they came.
COLLECTOR_SQL = """
    CASE WHEN fb.collector IS NOT NULL THEN fb.collector
         WHEN r.form_id IS NOT NULL THEN 'invitation'
         ELSE r.channel END
"""
# Whether a response's respondent can be re-contacted for a re-verification: through the
# collector a numbered paper form was issued to, or a phone number left with consent (only
# whether one is kept is read here, never the number).
RECONTACT_SQL = """
    CASE WHEN fb.id IS NOT NULL THEN 1 ELSE 0 END AS paper_form,
    CASE WHEN EXISTS (SELECT 1 FROM recheck_contact rc WHERE rc.response_id = r.id)
         THEN 1 ELSE 0 END AS phone_kept
"""
QUALITY_COLUMNS = ["response_id", "agency_code", "channel", "collector", "form_serial",
                   "submitted_at", "duration_s", "client_hash", "device_hash", "answers",
                   "paper_entries"]


def campaign_info(conn, campaign_id: int) -> dict:
    row = conn.execute(text(
        "SELECT id, code, version_id, opens_at, closes_at FROM campaign WHERE id = :c"),
        {"c": campaign_id}).mappings().first()
    if row is None:
        raise LookupError(f"no campaign with id {campaign_id}")
    info = dict(row)
    info["opens_at"] = pd.Timestamp(info["opens_at"]).to_pydatetime()
    info["closes_at"] = pd.Timestamp(info["closes_at"]).to_pydatetime()
    return info


def satisfaction_items(conn, version_id: int) -> list[str]:
    return list(conn.execute(text(
        "SELECT code FROM item WHERE version_id = :v AND type = :scored "
        "ORDER BY position"), {"v": version_id, "scored": SCORED}).scalars())


def _paper_entries(conn, campaign_id: int) -> dict[int, list[dict]]:
    """form id → the clerks' entries, for forms keyed more than once."""
    rows = conn.execute(text("""
        SELECT pe.form_id, pe.answers FROM paper_entry pe
        JOIN issued_form f ON f.id = pe.form_id
        WHERE f.campaign_id = :c AND pe.form_id IN (
            SELECT form_id FROM paper_entry GROUP BY form_id HAVING count(*) > 1)
        ORDER BY pe.id"""), {"c": campaign_id}).all()
    out: dict[int, list[dict]] = {}
    for form_id, answers in rows:
        out.setdefault(form_id, []).append(json.loads(answers))
    return out


def quality_frame(conn, campaign_id: int) -> pd.DataFrame:
    """One row per response of the campaign, in id order, with the columns
    :mod:`analysis.quality` reads (``QUALITY_COLUMNS``)."""
    rows = conn.execute(text(f"""
        SELECT r.id, a.code, r.channel, {COLLECTOR_SQL} AS collector, f.serial,
               r.submitted_at, r.duration_s, r.client_hash, r.device_hash, r.answers,
               r.form_id
        FROM response r JOIN agency a ON a.id = r.agency_id
        LEFT JOIN issued_form f ON f.id = r.form_id
        LEFT JOIN form_batch fb ON fb.id = f.batch_id
        WHERE r.campaign_id = :c ORDER BY r.id"""), {"c": campaign_id}).all()
    entries = _paper_entries(conn, campaign_id)
    frame = pd.DataFrame(
        [(rid, agency, channel, collector, serial, submitted,
          float(duration) if duration is not None else float("nan"), client, device,
          json.loads(answers), entries.get(form_id, []))
         for rid, agency, channel, collector, serial, submitted, duration, client, device,
         answers, form_id in rows],
        columns=QUALITY_COLUMNS)
    return frame.assign(submitted_at=pd.to_datetime(frame["submitted_at"], format="ISO8601"),
                        response_id=frame["response_id"].astype("int64"),
                        duration_s=frame["duration_s"].astype("float64"))


def flags(conn, campaign_id: int, thresholds: quality.Thresholds = quality.DEFAULTS
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The campaign's quality frame and its flag table (``quality.flag_responses``)."""
    info = campaign_info(conn, campaign_id)
    frame = quality_frame(conn, campaign_id)
    table = quality.flag_responses(frame, satisfaction_items(conn, info["version_id"]),
                                   opens_at=info["opens_at"], closes_at=info["closes_at"],
                                   thresholds=thresholds)
    return frame, table


def review_states(conn, campaign_id: int) -> pd.DataFrame:
    """response_id, review_state (the latest decision; 'received' without one)."""
    rows = conn.execute(text(f"""
        SELECT r.id, coalesce(rv.state, 'received') FROM response r
        LEFT JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id
        WHERE r.campaign_id = :c ORDER BY r.id"""), {"c": campaign_id}).all()
    return pd.DataFrame(rows, columns=["response_id", "review_state"])


def collectors(conn, campaign_id: int) -> pd.DataFrame:
    """response_id, collector for every response of the campaign (id order)."""
    rows = conn.execute(text(f"""
        SELECT r.id, {COLLECTOR_SQL} AS collector FROM response r
        LEFT JOIN issued_form f ON f.id = r.form_id
        LEFT JOIN form_batch fb ON fb.id = f.batch_id
        WHERE r.campaign_id = :c ORDER BY r.id"""), {"c": campaign_id}).all()
    return pd.DataFrame(rows, columns=["response_id", "collector"])


def recontact(conn, campaign_id: int) -> pd.DataFrame:
    """response_id, paper_form, phone_kept (booleans) for every response of the campaign
    (id order): how its respondent could be re-contacted (audit.csv carries both)."""
    rows = conn.execute(text(f"""
        SELECT r.id, {RECONTACT_SQL} FROM response r
        LEFT JOIN issued_form f ON f.id = r.form_id
        LEFT JOIN form_batch fb ON fb.id = f.batch_id
        WHERE r.campaign_id = :c ORDER BY r.id"""), {"c": campaign_id}).all()
    frame = pd.DataFrame(rows, columns=["response_id", "paper_form", "phone_kept"])
    return frame.astype({"response_id": "int64", "paper_form": "bool", "phone_kept": "bool"})


def population(conn, campaign_id: int, as_of_seq: int) -> pd.DataFrame:
    """The responses chained in the campaign's ledger at or before entry ``as_of_seq``:
    response_id, agency_code, channel, collector, paper_form, phone_kept (id order). Any
    entry up to a head the caller has read is committed, so this set is exactly
    reproducible from the bundle."""
    rows = conn.execute(text(f"""
        SELECT r.id, a.code, r.channel, {COLLECTOR_SQL} AS collector, {RECONTACT_SQL}
        FROM ledger_entry le
        JOIN response r ON r.receipt_code = le.ref AND r.campaign_id = le.campaign_id
        JOIN agency a ON a.id = r.agency_id
        LEFT JOIN issued_form f ON f.id = r.form_id
        LEFT JOIN form_batch fb ON fb.id = f.batch_id
        WHERE le.id BETWEEN :first AND :last AND le.kind = 'response'
        ORDER BY r.id"""), dict(zip(("first", "last"), chain_ids(campaign_id, as_of_seq),
                                   strict=True))).all()
    frame = pd.DataFrame(rows, columns=["response_id", "agency_code", "channel", "collector",
                                        "paper_form", "phone_kept"])
    return frame.astype({"paper_form": "bool", "phone_kept": "bool"})
