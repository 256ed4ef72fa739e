"""cross tally: a campaign's answers per agency and channel or profile answer, kept

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 09:00:00.000000

A breakdown by channel or by a profile question read every response of a campaign (33 s
at a million). `cross_tally` keeps, per (agency, group variable, group value), a vector of
counts: each scored item's answers per score 0..5, the group's respondents, each priority
item's answers per value (`analysis.load_cross.CrossPlan`). It is kept like
`answer_tally`: in the same steps, up to the same mark. The counts are filled here from
the responses up to each campaign's mark, corrections applied, by the rule of
`analysis.load_cross` (written out here, as a migration must not change with the code).
On SQLite the table is one B-tree keyed by its primary key, as the tally is (0008).
"""
import json
import struct

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

SCORED = "satisfaction"
GROUPING = ("single_choice", "multiple_choice")
SCALES = {"priority": (1, 3)}


def upgrade():
    op.create_table(
        'cross_tally',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('group_by', sa.String(length=40), nullable=False),
        sa.Column('group_value', sa.Text(), nullable=False),
        sa.Column('counts', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'],
                                name=op.f('fk_cross_tally_agency_id_agency')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_cross_tally_campaign_id_campaign')),
        sa.PrimaryKeyConstraint('campaign_id', 'agency_id', 'group_by', 'group_value',
                                name=op.f('pk_cross_tally')),
        sqlite_with_rowid=False,
    )
    _fill()


def _values(value, listed):
    if value is None:
        return []
    values = value if listed and isinstance(value, list) else [value]
    out = [str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool)]
    return [v for v in dict.fromkeys(out) if v.strip()]


def _plans(conn) -> dict:
    """Per campaign: (scored {code: first slot}, groups {code: listed}, valued {code:
    (first slot, low, high)}, respondents' slot, size)."""
    items = {}
    for campaign_id, code, kind in conn.execute(sa.text(
            "SELECT c.id, i.code, i.type FROM campaign c "
            "JOIN item i ON i.version_id = c.version_id ORDER BY c.id, i.position")):
        items.setdefault(campaign_id, []).append((code, kind))
    plans = {}
    for campaign_id, listed_items in items.items():
        scored, groups, valued, size = {}, {}, {}, 0
        for code, kind in listed_items:
            if kind == SCORED:
                scored[code], size = size, size + 6
        respondents, size = size, size + 1
        for code, kind in listed_items:
            if kind in GROUPING:
                groups[code] = kind == "multiple_choice"
            elif kind in SCALES:
                low, high = SCALES[kind]
                valued[code], size = (size, low, high), size + high - low + 1
        plans[campaign_id] = (scored, groups, valued, respondents, size)
    return plans


def _fill():
    conn = op.get_bind()
    plans = _plans(conn)
    fixes = {}
    for rid, changes in conn.execute(sa.text(
            "SELECT response_id, changes FROM response_correction ORDER BY id")):
        fixes.setdefault(rid, []).append(json.loads(changes))
    counts = {}
    rows = conn.execute(sa.text("""
        SELECT r.id, r.campaign_id, r.agency_id, r.channel, r.answers FROM response r
        JOIN tally_mark m ON m.campaign_id = r.campaign_id WHERE r.id <= m.response_id"""))
    for rid, campaign_id, agency_id, channel, stored in rows:
        scored, groups, valued, respondents, size = plans[campaign_id]
        answers = json.loads(stored)
        for change in fixes.get(rid, []):
            for code, value in change.items():
                if value is None:
                    answers.pop(code, None)
                else:
                    answers[code] = value
        slots = [respondents]
        for code, first in scored.items():
            v = answers.get(code)
            if type(v) is int and 0 <= v <= 5:
                slots.append(first + v)
        for code, (first, low, high) in valued.items():
            v = answers.get(code)
            if type(v) is int and low <= v <= high:
                slots.append(first + v - low)
        keys = [("channel", channel)] if channel else []
        for code, listed in groups.items():
            keys += [(code, v) for v in _values(answers.get(code), listed)]
        for by, value in keys:
            row = counts.setdefault((campaign_id, agency_id, by, value), [0] * size)
            for slot in slots:
                row[slot] += 1
    if counts:
        conn.execute(sa.text(
            "INSERT INTO cross_tally (campaign_id, agency_id, group_by, group_value, counts) "
            "VALUES (:c, :a, :b, :v, :n)"),
            [{"c": c, "a": a, "b": b, "v": v, "n": struct.pack(f"<{len(n)}i", *n)}
             for (c, a, b, v), n in sorted(counts.items())])


def downgrade():
    op.drop_table('cross_tally')
