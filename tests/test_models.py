"""Database-level guarantees: submitted responses and the logs are append-only."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from survey_app.models import Response, canonical_json


def _response(db):
    from survey_app.models import Campaign

    campaign = db.session.query(Campaign).filter_by(code="demo").one()
    r = Response(campaign=campaign, agency=campaign.agencies[0], channel="open",
                 receipt_code="TEST1234", answers=canonical_json({"TC1": 5}))
    db.session.add(r)
    db.session.commit()
    return r


@pytest.mark.parametrize("statement", [
    "UPDATE response SET answers = '{}'",
    "DELETE FROM response",
    "UPDATE audit_log SET actor = 'x'",
    "DELETE FROM audit_log",
])
def test_append_only_tables_refuse_changes(demo, db, statement):
    _response(db)
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    assert db.session.query(Response).count() == 1


def test_canonical_json_is_stable():
    assert canonical_json({"b": 1, "a": "Ý"}) == '{"a":"Ý","b":1}'
