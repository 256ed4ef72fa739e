"""questionnaire translation: a version's texts in any ISO 639 language

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 17:00:00.000000

Citizens of the northern mountain provinces answer more readily in Tày, Dao or H'Mông
than in Vietnamese. A version never changes, so its translations are kept beside it:
one row per loaded language, one per translated part, replaced whole by a new load.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'questionnaire_translation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('revision', sa.String(length=64), nullable=False),
        sa.Column('parts', sa.Integer(), nullable=False),
        sa.Column('loaded_at', sa.DateTime(), nullable=False),
        sa.Column('loaded_by', sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ['version_id'], ['questionnaire_version.id'],
            name=op.f('fk_questionnaire_translation_version_id_questionnaire_version')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_translation')),
        sa.UniqueConstraint('version_id', 'lang',
                            name=op.f('uq_questionnaire_translation_version_id')),
    )
    op.create_table(
        'translation_text',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('translation_id', sa.Integer(), nullable=False),
        sa.Column('item_code', sa.String(length=40), nullable=False),
        sa.Column('part', sa.String(length=120), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['translation_id'], ['questionnaire_translation.id'],
            name=op.f('fk_translation_text_translation_id_questionnaire_translation'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_translation_text')),
        sa.UniqueConstraint('translation_id', 'item_code', 'part',
                            name=op.f('uq_translation_text_translation_id')),
    )
    op.create_index(op.f('ix_translation_text_translation_id'), 'translation_text',
                    ['translation_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_translation_text_translation_id'), table_name='translation_text')
    op.drop_table('translation_text')
    op.drop_table('questionnaire_translation')
