"""The factory's configuration layers, the instance folder and the error pages."""

import pytest

from survey_app import create_app


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    app1 = create_app()
    key_file = tmp_path / "inst" / "secret_key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    assert app1.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app1.config["SECRET_KEY"]) >= 64
    assert create_app().config["SECRET_KEY"] == app1.config["SECRET_KEY"]


def test_configuration_layers(tmp_path, monkeypatch):
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.py").write_text("PUBLIC_BASE_URL = 'https://from-instance'\n"
                                    "MAX_CONTENT_LENGTH = 1000\n")
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(inst))
    monkeypatch.setenv("SURVEY_PUBLIC_BASE_URL", "https://from-env")
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://u@h/db")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["PUBLIC_BASE_URL"] == "https://from-env"  # env beats instance
    assert app.config["MAX_CONTENT_LENGTH"] == 1000  # instance beats defaults
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    app = create_app({"SECRET_KEY": "x", "PUBLIC_BASE_URL": "https://from-test"})
    assert app.config["PUBLIC_BASE_URL"] == "https://from-test"


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    with app.app_context():
        from survey_app.extensions import db

        assert db.engine.url.database == str(tmp_path / "inst" / "survey.sqlite")
        # Every connection, the pooled ones and the citizen's fast path alike, is set up
        # the same way (see `_sqlite_pragmas`).
        from survey_app import SQLITE_WAL_AUTOCHECKPOINT, rawsql

        with rawsql.own_connection(db.engine) as fast:
            for conn in (db.session.connection().connection.dbapi_connection,
                         fast.dbapi_connection):
                settings = [conn.execute(f"PRAGMA {name}").fetchone()[0] for name in (
                    "foreign_keys", "journal_mode", "synchronous", "wal_autocheckpoint")]
                assert settings == [1, "wal", 1, SQLITE_WAL_AUTOCHECKPOINT]


@pytest.mark.parametrize("path, status, text", [
    ("/no-such-page", 404, "Không tìm thấy trang"),
    ("/admin/questionnaires/999/preview", 302, ""),
])
def test_error_pages_in_vietnamese(client, path, status, text):
    resp = client.get(path)
    assert resp.status_code == status
    assert text in resp.text


def test_oversized_body_is_refused(client):
    resp = client.post("/auth/login", data={"username": "x" * 300_000})
    assert resp.status_code == 413
    assert "quá lớn" in resp.text


def test_health(client):
    assert client.get("/healthz").json == {"status": "ok", "database": "ok", "redis": "not used"}
