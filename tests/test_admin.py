"""Sở Nội vụ's pages: agencies tree and edits, questionnaire preview and versions,
campaigns, users, the audit log."""

import io
import json
import re

from sqlalchemy import func, select
from web_helpers import csrf_token

from survey_app.models import Agency, AuditLog, Campaign, QuestionnaireVersion, User


def _form_post(client, page_url, post_url=None, **data):
    page = client.get(page_url)
    data["csrf_token"] = csrf_token(page.text)
    return client.post(post_url or page_url, data=data)


def test_agency_tree_shows_hierarchy(demo, client, login):
    login("admin")
    page = client.get("/admin/agencies").text
    assert "UBND tỉnh Tuyên Quang" in page
    # The one-stop counter is listed under its commune, one level deeper.
    assert re.search(r'class="d2">└ <a href="/admin/agencies/X-SONDUONG-1C/edit">', page)
    assert "mẫu" in page  # demo data is marked


def test_edit_agency_is_logged(demo, client, login, db):
    login("admin")
    resp = _form_post(client, "/admin/agencies/X-HAMYEN/edit", code="X-HAMYEN",
                      name="UBND xã Hàm Yên (sửa)", kind="commune", parent_code="TQ",
                      valid_from="2025-07-01", valid_to="")
    assert resp.status_code == 302, resp.text[-1500:]
    assert db.session.scalar(select(Agency).filter_by(code="X-HAMYEN")).name.endswith("(sửa)")
    log = db.session.scalars(select(AuditLog).filter_by(action="agency.update")).one()
    assert log.actor == "admin" and log.before["name"] == "UBND xã Hàm Yên"
    assert "UBND xã Hàm Yên (sửa)" in client.get("/admin/audit-log").text


def test_agency_cannot_become_its_own_descendant(demo, client, login, db):
    login("admin")
    resp = _form_post(client, "/admin/agencies/X-SONDUONG/edit", code="X-SONDUONG",
                      name="UBND xã Sơn Dương", kind="commune", parent_code="X-SONDUONG-1C")
    assert resp.status_code == 400
    assert "trực thuộc" in resp.text
    assert db.session.scalar(select(Agency).filter_by(code="X-SONDUONG")).parent.code == "TQ"


def test_new_agency_duplicate_code_refused(demo, client, login, db):
    login("admin")
    before = db.session.scalar(select(func.count(Agency.id)))
    resp = _form_post(client, "/admin/agencies/new", code="SNV", name="Trùng", kind="department",
                      parent_code="TQ")
    assert resp.status_code == 400 and "đã được dùng" in resp.text
    assert db.session.scalar(select(func.count(Agency.id))) == before


def test_import_agencies_upload(demo, client, login, db):
    login("admin")
    page = client.get("/admin/agencies")
    good = "code,name,kind,parent_code,valid_from,valid_to\nX-MOI,UBND xã Mới,commune,TQ,2026-01-01,\n"
    resp = client.post("/admin/agencies/import", data={
        "csrf_token": csrf_token(page.text), "file": (io.BytesIO(good.encode()), "a.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.text[-1500:]
    assert db.session.scalar(select(Agency).filter_by(code="X-MOI")) is not None
    bad = good.replace("X-MOI", "X-MOI2").replace(",TQ,", ",NOWHERE,")
    resp = client.post("/admin/agencies/import", data={
        "csrf_token": csrf_token(page.text), "file": (io.BytesIO(bad.encode()), "b.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 400 and "NOWHERE" in resp.text
    assert db.session.scalar(select(Agency).filter_by(code="X-MOI2")) is None


def test_questionnaire_preview_as_citizens_see_it(demo, client, login):
    login("admin")
    page = client.get("/admin/questionnaires/1/preview").text
    assert "Xem trước" in page
    for code in ["TC1", "TT3", "CC5", "KQ2", "PA3"]:
        assert f'name="{code}" value="0"' in page  # not applicable offered
        for v in "12345":
            assert f'name="{code}" value="{v}"' in page
    assert page.count('type="radio" name="TC1"') == 6
    assert "Không áp dụng" in page and "Rất hài lòng" in page
    assert 'type="checkbox" name="KENH_TT"' in page
    assert "<button" not in page  # no working submit in a preview


def test_editing_a_used_version_makes_a_new_one(demo, client, login, db):
    login("admin")
    page = client.get("/admin/questionnaires/1/edit")
    definition = json.loads(re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S)
                            .group(1).replace("&#34;", '"').replace("&quot;", '"')
                            .replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
                            .replace("&amp;", "&"))
    definition["items"][0]["text"]["vi"] = "Thông tin thủ tục rõ ràng (sửa)"
    resp = client.post("/admin/questionnaires/1/edit", data={
        "csrf_token": csrf_token(page.text), "label": "SIPAS sửa 1",
        "definition": json.dumps(definition, ensure_ascii=False)})
    assert resp.status_code == 302, resp.text[-1500:]
    versions = db.session.scalars(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id)).all()
    assert len(versions) == 2
    assert versions[0].items[0].text_vi.startswith("Thông tin về thủ tục")  # untouched
    assert versions[1].items[0].text_vi.endswith("(sửa)") and versions[1].number == 2
    demo_campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    assert demo_campaign.version_id == versions[0].id


def test_invalid_questionnaire_edit_refused(demo, client, login, db):
    login("admin")
    resp = _form_post(client, "/admin/questionnaires/1/edit", label="x", definition="{broken")
    assert resp.status_code == 400 and "JSON" in resp.text
    assert db.session.scalar(select(func.count(QuestionnaireVersion.id))) == 1


def test_create_campaign_on_the_web(demo, client, login, db):
    login("admin")
    resp = _form_post(client, "/admin/campaigns/new", code="2027-h1", name="6 tháng đầu 2027",
                      period="2027-H1", version="sipas:1", opens="2027-01-01",
                      closes="2027-05-31", agencies=["X-SONDUONG", "SNV"])
    assert resp.status_code == 302, resp.text
    campaign = db.session.scalar(select(Campaign).filter_by(code="2027-h1"))
    assert sorted(a.code for a in campaign.agencies) == ["SNV", "X-SONDUONG"]
    page = client.get("/admin/campaigns/2027-h1").text
    assert "UBND xã Sơn Dương" in page and "/k/" in page


def test_create_campaign_bad_dates(demo, client, login, db):
    login("admin")
    resp = _form_post(client, "/admin/campaigns/new", code="x", name="x", period="x",
                      version="sipas:1", opens="2027-05-01", closes="2027-01-01",
                      agencies=["SNV"])
    assert resp.status_code == 400 and "ngày đóng trước ngày mở" in resp.text
    assert db.session.scalar(select(Campaign).filter_by(code="x")) is None


def test_create_and_edit_user_on_the_web(demo, client, login, db):
    login("admin")
    resp = _form_post(client, "/admin/users/new", username="canbo.snv", full_name="Cán bộ",
                      role="officer", agency_code="SNV", password="mot-mat-khau-dai",
                      active="y")
    assert resp.status_code == 302, resp.text[-1500:]
    user = db.session.scalar(select(User).filter_by(username="canbo.snv"))
    assert user.agency.code == "SNV"
    resp = _form_post(client, f"/admin/users/{user.id}/edit", username="canbo.snv",
                      full_name="Cán bộ", role="officer", agency_code="NOPE", password="")
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).agency.code == "SNV"


def test_auditor_sees_read_only_pages(demo, client, login):
    login("mttq")
    page = client.get("/admin/agencies").text
    assert "Thêm cơ quan" not in page and "Nhập từ CSV" not in page
    assert "chỉ đọc" in client.get("/admin/").text
