"""tally mark: the answer tally is kept in steps

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:00:00.000000

Every submission used to add one to about twenty tally rows. Now a submission counts the
responses after its campaign's mark only once they span a step of response ids, and moves
the mark; readers count the few after the mark from their answers. The tallies this
migration finds count every response there is, so each campaign's mark starts at its last
response. Going back counts each campaign's responses after its mark into the tally.
"""
import json

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tally_mark',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_tally_mark_campaign_id_campaign')),
        sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_tally_mark')),
    )
    op.execute("INSERT INTO tally_mark (campaign_id, response_id) "
               "SELECT campaign_id, max(id) FROM response GROUP BY campaign_id")


def downgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.text("""
        SELECT r.campaign_id, r.agency_id, r.id, r.answers FROM response r
        LEFT JOIN tally_mark m ON m.campaign_id = r.campaign_id
        WHERE r.id > coalesce(m.response_id, 0) ORDER BY r.id""")).all()
    fixes: dict[int, list] = {}
    for rid, changes in conn.execute(sa.text(
            "SELECT response_id, changes FROM response_correction ORDER BY id")):
        fixes.setdefault(rid, []).append(json.loads(changes))
    scored = {}
    for campaign_id, code, item_id in conn.execute(sa.text("""
            SELECT c.id, i.code, i.id FROM campaign c JOIN item i ON i.version_id = c.version_id
            WHERE i.type = 'satisfaction'""")):
        scored.setdefault(campaign_id, {})[code] = item_id
    counts: dict[tuple, int] = {}
    for campaign_id, agency_id, rid, stored in rows:
        answers = json.loads(stored)
        for change in fixes.get(rid, []):
            for code, value in change.items():
                if value is None:
                    answers.pop(code, None)
                else:
                    answers[code] = value
        for code, item_id in scored.get(campaign_id, {}).items():
            value = answers.get(code)
            if type(value) is int and 0 <= value <= 5:
                key = (campaign_id, agency_id, item_id, value)
                counts[key] = counts.get(key, 0) + 1
    if counts:
        conn.execute(sa.text("""
            INSERT INTO answer_tally (campaign_id, agency_id, item_id, score, n)
            VALUES (:c, :a, :i, :s, :n) ON CONFLICT (campaign_id, agency_id, item_id, score)
            DO UPDATE SET n = answer_tally.n + excluded.n"""),
            [{"c": c, "a": a, "i": i, "s": s, "n": n} for (c, a, i, s), n in counts.items()])
    op.drop_table('tally_mark')
