"""cross tally: the answer tally crossed with channel and profile answers, and the plain
counts of the priority and profile answers

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 09:00:00.000000

A breakdown by channel or by a profile question read every response of a campaign (33 s
at a million). `cross_tally` keeps answers per (agency, group variable and value, scored
item, score), and in the rows whose item is the group's own item (score 0) the counts of
each answer to a priority or profile question. It is kept like `answer_tally`: in the
same steps, up to the same mark. The counts are filled here from the responses up to
each campaign's mark, corrections applied, by the rule of `analysis.load_cross` (written
out here, as a migration must not change with the code). On SQLite the table is one
B-tree keyed by its primary key, as the tally is (0008).
"""
import json

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

SCORED = "satisfaction"
GROUPING = ("single_choice", "multiple_choice")
COUNTED = ("priority", "single_choice", "multiple_choice")


def upgrade():
    op.create_table(
        'cross_tally',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('group_by', sa.String(length=40), nullable=False),
        sa.Column('group_value', sa.Text(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'],
                                name=op.f('fk_cross_tally_agency_id_agency')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_cross_tally_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['item_id'], ['item.id'],
                                name=op.f('fk_cross_tally_item_id_item')),
        sa.PrimaryKeyConstraint('campaign_id', 'agency_id', 'group_by', 'group_value',
                                'item_id', 'score', name=op.f('pk_cross_tally')),
        sqlite_with_rowid=False,
    )
    _fill()


def _values(value, listed):
    if value is None:
        return []
    values = value if listed and isinstance(value, list) else [value]
    out = [str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool)]
    return [v for v in dict.fromkeys(out) if v.strip()]


def _fill():
    conn = op.get_bind()
    plans = {}
    for campaign_id, code, item_id, kind in conn.execute(sa.text(
            "SELECT c.id, i.code, i.id, i.type FROM campaign c "
            "JOIN item i ON i.version_id = c.version_id")):
        scored, counted = plans.setdefault(campaign_id, ({}, {}))
        if kind == SCORED:
            scored[code] = item_id
        elif kind in COUNTED:
            counted[code] = (item_id, kind == "multiple_choice", kind in GROUPING)
    fixes = {}
    for rid, changes in conn.execute(sa.text(
            "SELECT response_id, changes FROM response_correction ORDER BY id")):
        fixes.setdefault(rid, []).append(json.loads(changes))
    counts = {}
    rows = conn.execute(sa.text("""
        SELECT r.id, r.campaign_id, r.agency_id, r.channel, r.answers FROM response r
        JOIN tally_mark m ON m.campaign_id = r.campaign_id WHERE r.id <= m.response_id"""))
    for rid, campaign_id, agency_id, channel, stored in rows:
        scored, counted = plans.get(campaign_id, ({}, {}))
        answers = json.loads(stored)
        for change in fixes.get(rid, []):
            for code, value in change.items():
                if value is None:
                    answers.pop(code, None)
                else:
                    answers[code] = value
        scores = [(i, v) for code, i in scored.items()
                  if type(v := answers.get(code)) is int and 0 <= v <= 5]
        groups = [("channel", channel)] if channel else []
        for code, (item_id, listed, grouping) in counted.items():
            for value in _values(answers.get(code), listed):
                key = (campaign_id, agency_id, code, value, item_id, 0)
                counts[key] = counts.get(key, 0) + 1
                if grouping:
                    groups.append((code, value))
        for by, value in groups:
            for item_id, score in scores:
                key = (campaign_id, agency_id, by, value, item_id, score)
                counts[key] = counts.get(key, 0) + 1
    if counts:
        conn.execute(sa.text(
            "INSERT INTO cross_tally (campaign_id, agency_id, group_by, group_value, "
            "item_id, score, n) VALUES (:c, :a, :b, :v, :i, :s, :n)"),
            [{"c": c, "a": a, "b": b, "v": v, "i": i, "s": s, "n": n}
             for (c, a, b, v, i, s), n in sorted(counts.items())])


def downgrade():
    op.drop_table('cross_tally')
