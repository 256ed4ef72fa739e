"""Operator commands through the Flask CLI runner: success, and refusals that change nothing."""

import json

import pytest
from sqlalchemy import func, select

from survey_app.models import Agency, AuditLog, Campaign, QuestionnaireVersion, User
from survey_app.services.questionnaires import SIPAS_FILE

GOOD_CSV = """code,name,kind,parent_code,valid_from,valid_to
P,Tỉnh Thử,province,,2025-07-01,
C1,Xã Thử,commune,P,,
D1,Sở Thử,department,P,2025-07-01,
"""


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_loads_everything_once(runner, db):
    result = runner.invoke(args=["seed-demo", "--password", "demo-password-1"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Campaign).filter_by(code="demo")) is not None
    agencies = db.session.scalars(select(Agency)).all()
    assert len([a for a in agencies if a.kind in ("commune", "ward")]) >= 12
    assert all(a.is_demo for a in agencies)
    assert {u.username for u in db.session.scalars(select(User))} >= {"admin", "mttq"}
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 1 and "đã được nạp" in again.output
    skip = runner.invoke(args=["seed-demo", "--if-empty"])
    assert skip.exit_code == 0


def test_import_and_export_agencies_round_trip(runner, db, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(args=["import-agencies", str(src)])
    assert result.exit_code == 0, result.output
    assert "3 cơ quan mới" in result.output
    out = tmp_path / "out.csv"
    assert runner.invoke(args=["export-agencies", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == GOOD_CSV
    # Re-importing a changed name updates in place and is logged with before/after.
    src.write_text(GOOD_CSV.replace("Xã Thử", "Xã Thử Mới"), encoding="utf-8")
    result = runner.invoke(args=["import-agencies", str(src)])
    assert "1 cập nhật" in result.output
    log = db.session.scalars(select(AuditLog).filter_by(action="agency.update")).one()
    assert log.before["name"] == "Xã Thử" and log.after["name"] == "Xã Thử Mới"


@pytest.mark.parametrize("content, message", [
    ("code,name,kind\nA,B,province\n", "thiếu cột"),
    (GOOD_CSV + "D1,Trùng,department,P,,\n", "bị trùng"),
    (GOOD_CSV + "X9,Mồ côi,commune,NOPE,,\n", "'NOPE' không tồn tại"),
    (GOOD_CSV + "X9,Sai loại,district,P,,\n", "loại 'district' không hợp lệ"),
    (GOOD_CSV + "X9,Sai ngày,commune,P,01/07/2025,\n", "không phải ngày"),
    (GOOD_CSV + "X9,Ngược,commune,P,2025-07-01,2024-01-01\n", "valid_to trước valid_from"),
    (GOOD_CSV + "X9,Thiếu cột,commune\n", "số cột không khớp"),
    ("code,name,kind,parent_code,valid_from,valid_to\nA,A,other,B,,\nB,B,other,A,,\n", "vòng lặp"),
    ("code,name,kind,parent_code,valid_from,valid_to\n", "không có dòng"),
])
def test_bad_agency_csv_changes_nothing(runner, db, tmp_path, content, message):
    src = tmp_path / "bad.csv"
    src.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["import-agencies", str(src)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert _count(db, Agency) == 0 and _count(db, AuditLog) == 0


def test_import_agencies_missing_file_and_bad_encoding(runner, tmp_path):
    result = runner.invoke(args=["import-agencies", str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and "Không tìm thấy tệp" in result.output
    bad = tmp_path / "latin.csv"
    bad.write_bytes("code,name\nA,Ph\xfa\n".encode("latin-1"))
    result = runner.invoke(args=["import-agencies", str(bad)])
    assert result.exit_code == 1 and "UTF-8" in result.output


def test_load_questionnaire_sipas_and_versions(runner, db):
    result = runner.invoke(args=["load-questionnaire", str(SIPAS_FILE)])
    assert result.exit_code == 0, result.output
    assert "19 câu hài lòng" in result.output
    version = db.session.scalars(select(QuestionnaireVersion)).one()
    assert [g.code for g in version.groups if g.kind == "element"] == ["TC", "TT", "CC", "KQ", "PA"]
    assert {i.type for i in version.items} == {
        "satisfaction", "priority", "single_choice", "multiple_choice", "text"}
    # Loading again makes version 2; version 1 is untouched.
    assert runner.invoke(args=["load-questionnaire", str(SIPAS_FILE)]).exit_code == 0
    assert [v.number for v in db.session.scalars(select(QuestionnaireVersion))] == [1, 2]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["items"].append(dict(d["items"][0])), "code bị trùng"),
    (lambda d: d["items"][0].update(type="stars"), "type 'stars' không hợp lệ"),
    (lambda d: d["items"][0].update(group="ZZ"), "group 'ZZ' không có"),
    (lambda d: d["items"][0]["text"].pop("vi"), "thiếu text.vi"),
    (lambda d: d["items"][30].update(choices=[]), "cần danh sách lựa chọn"),
    (lambda d: d.pop("groups"), "thiếu danh sách groups"),
])
def test_bad_questionnaire_changes_nothing(runner, db, tmp_path, mutate, message):
    data = json.loads(SIPAS_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "q.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["load-questionnaire", str(path)])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert _count(db, QuestionnaireVersion) == 0


def test_load_questionnaire_not_json(runner, tmp_path, db):
    path = tmp_path / "q.json"
    path.write_text("{not json", encoding="utf-8")
    result = runner.invoke(args=["load-questionnaire", str(path)])
    assert result.exit_code == 1 and "không phải JSON hợp lệ" in result.output


def _setup_for_campaign(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(GOOD_CSV, encoding="utf-8")
    assert runner.invoke(args=["import-agencies", str(src)]).exit_code == 0
    assert runner.invoke(args=["load-questionnaire", str(SIPAS_FILE)]).exit_code == 0


def test_create_campaign(runner, db, tmp_path):
    _setup_for_campaign(runner, tmp_path)
    result = runner.invoke(args=[
        "create-campaign", "--code", "2026-h2", "--name", "Đợt 6 tháng cuối 2026",
        "--period", "2026-H2", "--opens", "2026-07-01", "--closes", "2026-11-30",
        "--agency", "D1,C1"])
    assert result.exit_code == 0, result.output
    campaign = db.session.scalar(select(Campaign).filter_by(code="2026-h2"))
    assert sorted(a.code for a in campaign.agencies) == ["C1", "D1"]
    # 00:00 Vietnam time (UTC+7) on the first day, as naive UTC.
    assert campaign.opens_at.isoformat() == "2026-06-30T17:00:00"
    assert campaign.closes_at.isoformat() == "2026-11-30T17:00:00"
    assert len({s.open_code for s in campaign.scope}) == 2
    assert campaign.version.locked


@pytest.mark.parametrize("args, message", [
    (["--agency", "NOPE"], "không có cơ quan mã 'NOPE'"),
    (["--agency", "D1", "--questionnaire", "other"], "Không có phiếu khảo sát mã 'other'"),
    (["--agency", "D1", "--closes", "2026-01-01"], "ngày đóng trước ngày mở"),
    (["--agency", "D1", "--code", "Bad Code!"], "không hợp lệ"),
    (["--agency", "D1", "--opens", "2026-13-01"], "không phải ngày"),
    ([], "ít nhất một cơ quan"),
])
def test_create_campaign_refusals(runner, db, tmp_path, args, message):
    _setup_for_campaign(runner, tmp_path)
    base = {"--code": "c1", "--name": "N", "--period": "2026", "--opens": "2026-07-01",
            "--closes": "2026-12-31"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    result = runner.invoke(args=["create-campaign", *flat])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert _count(db, Campaign) == 0


def test_create_user_from_stdin(runner, db, tmp_path):
    _setup_for_campaign(runner, tmp_path)
    result = runner.invoke(args=["create-user", "canbo1", "--role", "officer", "--agency", "C1",
                                 "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).filter_by(username="canbo1"))
    assert user.role == "officer" and user.agency.code == "C1"


def test_create_user_from_prompt(runner, db):
    result = runner.invoke(args=["create-user", "quantri", "--role", "admin"],
                           input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).filter_by(username="quantri")) is not None


@pytest.mark.parametrize("args, stdin, message", [
    (["x1", "--role", "king"], "a-long-password\n", "vai trò 'king' không hợp lệ"),
    (["x1", "--role", "officer"], "a-long-password\n", "cần có --agency"),
    (["x1", "--role", "officer", "--agency", "NOPE"], "a-long-password\n", "Không có cơ quan mã"),
    (["x1", "--role", "admin"], "short\n", "ít nhất 10 ký tự"),
    (["X 1", "--role", "admin"], "a-long-password\n", "tên đăng nhập"),
])
def test_create_user_refusals(runner, db, args, stdin, message):
    result = runner.invoke(args=["create-user", *args, "--password-stdin"], input=stdin)
    assert result.exit_code == 1
    assert message in result.output
    assert _count(db, User) == 0


def test_create_user_duplicate(runner, db):
    args = ["create-user", "dup1", "--role", "clerk", "--password-stdin"]
    assert runner.invoke(args=args, input="a-long-password\n").exit_code == 0
    result = runner.invoke(args=args, input="a-long-password\n")
    assert result.exit_code == 1 and "đã tồn tại" in result.output
