"""Every protected page × every role: allowed, refused (403), or sent to log in."""

import pytest
from web_helpers import csrf_token

ROLES = ("admin", "auditor", "clerk", "officer")
READERS = {"admin", "auditor"}
ADMIN = {"admin"}
CLERKS = {"admin", "clerk"}
# Officers see results too, limited to their own agency's subtree.
RESULTS = {"admin", "auditor", "officer"}

# (method, path, roles allowed)
MATRIX = [
    ("GET", "/admin/", READERS),
    ("GET", "/admin/agencies", READERS),
    ("GET", "/admin/agencies.csv", READERS),
    ("GET", "/admin/agencies/new", READERS),
    ("GET", "/admin/agencies/TQ/edit", READERS),
    ("POST", "/admin/agencies/TQ/edit", ADMIN),
    ("POST", "/admin/agencies/new", ADMIN),
    ("POST", "/admin/agencies/import", ADMIN),
    ("GET", "/admin/questionnaires", READERS),
    ("GET", "/admin/questionnaires/1", READERS),
    ("GET", "/admin/questionnaires/1/preview", READERS),
    ("GET", "/admin/questionnaires/1/definition.json", READERS),
    ("GET", "/admin/questionnaires/1/edit", READERS),
    ("POST", "/admin/questionnaires/1/edit", ADMIN),
    ("POST", "/admin/questionnaires/upload", ADMIN),
    ("GET", "/admin/questionnaires/1/translation.csv", READERS),
    ("POST", "/admin/questionnaires/1/translations", ADMIN),
    ("POST", "/admin/questionnaires/1/translations/tyz/remove", ADMIN),
    ("GET", "/admin/questionnaires/1/audio", READERS),
    ("POST", "/admin/questionnaires/1/audio/make", ADMIN),
    ("POST", "/admin/questionnaires/1/audio/upload", ADMIN),
    ("POST", "/admin/questionnaires/1/audio/remove", ADMIN),
    ("GET", "/admin/campaigns", READERS),
    ("GET", "/admin/campaigns/demo", READERS),
    ("POST", "/admin/campaigns/demo", ADMIN),
    # Archiving: admins only, auditors included among the refused (they only read).
    ("GET", "/admin/campaigns/demo/archive", ADMIN),
    ("POST", "/admin/campaigns/demo/archive", ADMIN),
    ("GET", "/admin/campaigns/new", ADMIN),
    ("POST", "/admin/campaigns/new", ADMIN),
    ("GET", "/admin/campaigns/demo/poster/X-SONDUONG.pdf", READERS),
    ("GET", "/admin/campaigns/demo/issue", ADMIN),
    ("POST", "/admin/campaigns/demo/issue", ADMIN),
    ("GET", "/admin/campaigns/demo/register", READERS),
    ("GET", "/admin/campaigns/demo/register.csv", READERS),
    ("GET", "/admin/forms", READERS),
    ("GET", "/admin/forms/DEMO-000001", READERS),
    ("POST", "/admin/forms/DEMO-000001/void", ADMIN),
    # Invitations after a one-stop case and counter kiosks: admins act, auditors read.
    ("GET", "/admin/campaigns/demo/invitations", READERS),
    ("POST", "/admin/campaigns/demo/invitations/column-map", ADMIN),
    ("POST", "/admin/campaigns/demo/invitations/import", ADMIN),
    ("POST", "/admin/campaigns/demo/invitations/send", ADMIN),
    ("GET", "/admin/kiosks", READERS),
    ("POST", "/admin/kiosks", ADMIN),
    ("POST", "/admin/kiosks/1/link", ADMIN),
    ("POST", "/admin/kiosks/1/revoke", ADMIN),
    ("GET", "/admin/users", READERS),
    ("GET", "/admin/users/new", ADMIN),
    ("POST", "/admin/users/new", ADMIN),
    ("GET", "/admin/users/1/edit", ADMIN),
    ("POST", "/admin/users/1/reset", ADMIN),
    # Everyone changes their own password (and nobody else's).
    ("GET", "/auth/password", set(ROLES)),
    ("POST", "/auth/password", set(ROLES)),
    ("GET", "/admin/audit-log", READERS),
    ("GET", "/staff", set(ROLES)),
    ("GET", "/entry/", CLERKS),
    ("GET", "/entry/form/DEMO-000001", CLERKS),
    ("POST", "/entry/form/DEMO-000001", CLERKS),
    ("GET", "/entry/disagreements", ADMIN),
    ("GET", "/entry/disagreements/DEMO-000002", ADMIN),
    ("POST", "/entry/disagreements/DEMO-000002", ADMIN),
    # MTTQ audit: auditors and admins read and append (reviews, checkpoints, draws,
    # outcomes); officers and clerks never, not even about their own agency.
    ("GET", "/audit/", READERS),
    ("GET", "/audit/demo", READERS),
    ("POST", "/audit/demo/checkpoint", READERS),
    ("GET", "/audit/demo/bundle.zip", READERS),
    ("GET", "/audit/demo/reconciliation", READERS),
    ("GET", "/audit/demo/reconciliation.xlsx", READERS),
    ("GET", "/audit/demo/flags", READERS),
    ("GET", "/audit/demo/responses", READERS),
    ("POST", "/audit/demo/responses/review", READERS),
    ("GET", "/audit/responses/1", READERS),
    ("POST", "/audit/responses/1/review", READERS),
    ("GET", "/audit/demo/reverify", READERS),
    ("POST", "/audit/demo/reverify/draw", READERS),
    ("POST", "/audit/responses/1/outcome", READERS),
    # Corrections of answers: Sở Nội vụ only; the auditor changes no response.
    ("POST", "/audit/responses/1/correct", ADMIN),
    ("GET", "/results/", RESULTS),
    ("GET", "/results/demo", RESULTS),
    ("GET", "/results/demo/chart/ranking.png", RESULTS),
    ("GET", "/results/demo/indices.csv", RESULTS),
    # Response rows never reach an agency's own officer (anonymity of respondents).
    ("GET", "/results/demo/responses.csv", READERS),
    ("GET", "/results/demo/codebook.csv", RESULTS),
    ("GET", "/results/demo/export.xlsx", READERS),
    ("GET", "/results/demo/report", RESULTS),
    ("GET", "/results/demo/report.pdf", RESULTS),
    ("GET", "/results/demo/comments", RESULTS),
    ("POST", "/results/demo/comments", READERS),
    ("GET", "/results/demo/plan", READERS),
    ("POST", "/results/demo/plan", ADMIN),
    # The official report: every results reader; an officer only their own agency's.
    ("GET", "/results/official", RESULTS),
    ("POST", "/results/official", RESULTS),
]


@pytest.fixture
def paper_forms(demo):
    """DEMO-000001, a paper form not yet entered, and DEMO-000002, keyed twice with
    different answers (campaign `demo` switched to double entry)."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import IssuedForm, PaperEntry, User
    from survey_app.services import issuance

    with demo.app_context():
        campaign, agency, _ = issuance.get_scope("demo", "X-SONDUONG")
        campaign.double_entry = True
        issuance.issue_batch(campaign, agency, 2, "Người phát thử")
        form = db.session.scalar(select(IssuedForm).filter_by(serial="DEMO-000002"))
        for username, score in (("nhaplieu", 4), ("admin", 5)):
            clerk = db.session.scalar(select(User).filter_by(username=username))
            db.session.add(PaperEntry(form_id=form.id, clerk_id=clerk.id,
                                      answers=f'{{"TC1":{score}}}'))
        db.session.commit()


def test_matrix_covers_every_protected_route(app):
    """A new protected page must be added to the matrix, or this fails."""
    covered = {path for _, path, _ in MATRIX}
    rules = {r.rule for r in app.url_map.iter_rules()
             if r.endpoint.startswith(("admin.", "entry.", "results.", "audit."))}
    templated = {
        "/admin/agencies/<code>/edit": "/admin/agencies/TQ/edit",
        "/admin/questionnaires/<int:version_id>": "/admin/questionnaires/1",
        "/admin/questionnaires/<int:version_id>/preview": "/admin/questionnaires/1/preview",
        "/admin/questionnaires/<int:version_id>/definition.json":
            "/admin/questionnaires/1/definition.json",
        "/admin/questionnaires/<int:version_id>/edit": "/admin/questionnaires/1/edit",
        "/admin/questionnaires/<int:version_id>/translation.csv":
            "/admin/questionnaires/1/translation.csv",
        "/admin/questionnaires/<int:version_id>/translations":
            "/admin/questionnaires/1/translations",
        "/admin/questionnaires/<int:version_id>/translations/<lang>/remove":
            "/admin/questionnaires/1/translations/tyz/remove",
        "/admin/questionnaires/<int:version_id>/audio": "/admin/questionnaires/1/audio",
        "/admin/questionnaires/<int:version_id>/audio/make":
            "/admin/questionnaires/1/audio/make",
        "/admin/questionnaires/<int:version_id>/audio/upload":
            "/admin/questionnaires/1/audio/upload",
        "/admin/questionnaires/<int:version_id>/audio/remove":
            "/admin/questionnaires/1/audio/remove",
        "/admin/campaigns/<code>": "/admin/campaigns/demo",
        "/admin/campaigns/<code>/archive": "/admin/campaigns/demo/archive",
        "/admin/users/<int:user_id>/edit": "/admin/users/1/edit",
        "/admin/users/<int:user_id>/reset": "/admin/users/1/reset",
        "/admin/campaigns/<code>/poster/<agency_code>.<any(pdf, png, svg):fmt>":
            "/admin/campaigns/demo/poster/X-SONDUONG.pdf",
        "/admin/campaigns/<code>/issue": "/admin/campaigns/demo/issue",
        "/admin/campaigns/<code>/register": "/admin/campaigns/demo/register",
        "/admin/campaigns/<code>/register.csv": "/admin/campaigns/demo/register.csv",
        "/admin/forms/<serial>": "/admin/forms/DEMO-000001",
        "/admin/campaigns/<code>/invitations": "/admin/campaigns/demo/invitations",
        "/admin/campaigns/<code>/invitations/column-map":
            "/admin/campaigns/demo/invitations/column-map",
        "/admin/campaigns/<code>/invitations/import": "/admin/campaigns/demo/invitations/import",
        "/admin/campaigns/<code>/invitations/send": "/admin/campaigns/demo/invitations/send",
        "/admin/kiosks/<int:kiosk_id>/link": "/admin/kiosks/1/link",
        "/admin/kiosks/<int:kiosk_id>/revoke": "/admin/kiosks/1/revoke",
        "/admin/forms/<serial>/void": "/admin/forms/DEMO-000001/void",
        "/entry/form/<serial>": "/entry/form/DEMO-000001",
        "/entry/disagreements/<serial>": "/entry/disagreements/DEMO-000002",
        "/audit/<code>": "/audit/demo",
        "/audit/<code>/checkpoint": "/audit/demo/checkpoint",
        "/audit/<code>/bundle.zip": "/audit/demo/bundle.zip",
        "/audit/<code>/reconciliation": "/audit/demo/reconciliation",
        "/audit/<code>/reconciliation.xlsx": "/audit/demo/reconciliation.xlsx",
        "/audit/<code>/flags": "/audit/demo/flags",
        "/audit/<code>/responses": "/audit/demo/responses",
        "/audit/<code>/responses/review": "/audit/demo/responses/review",
        "/audit/responses/<int:rid>": "/audit/responses/1",
        "/audit/responses/<int:rid>/review": "/audit/responses/1/review",
        "/audit/<code>/reverify": "/audit/demo/reverify",
        "/audit/<code>/reverify/draw": "/audit/demo/reverify/draw",
        "/audit/responses/<int:rid>/outcome": "/audit/responses/1/outcome",
        "/audit/responses/<int:rid>/correct": "/audit/responses/1/correct",
        "/results/<code>": "/results/demo",
        "/results/<code>/chart/<any(ranking, heatmap, likert, trend):kind>.<any(png, svg):fmt>":
            "/results/demo/chart/ranking.png",
        "/results/<code>/indices.csv": "/results/demo/indices.csv",
        "/results/<code>/responses.csv": "/results/demo/responses.csv",
        "/results/<code>/codebook.csv": "/results/demo/codebook.csv",
        "/results/<code>/export.xlsx": "/results/demo/export.xlsx",
        "/results/<code>/report": "/results/demo/report",
        "/results/<code>/report.<any(xlsx, pdf):fmt>": "/results/demo/report.pdf",
        "/results/<code>/plan": "/results/demo/plan",
        "/results/<code>/comments": "/results/demo/comments",
    }
    missing = {templated.get(r, r) for r in rules} - covered
    assert not missing, f"pages missing from the role matrix: {sorted(missing)}"


@pytest.fixture
def a_response(demo):
    """Response 1: one citizen's answer through X-SONDUONG's open link."""
    from sqlalchemy import select
    from web_helpers import answer_form

    from survey_app.extensions import db
    from survey_app.models import CampaignAgency

    with demo.app_context():
        code = db.session.scalar(select(CampaignAgency.open_code).where(
            CampaignAgency.agency.has(code="X-SONDUONG")))
    assert answer_form(demo.test_client(), f"/k/{code}").status_code == 303


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(demo, paper_forms, a_response, client, login, make_user, role):
    make_user(f"t-{role}", role, "X-SONDUONG" if role == "officer" else None)
    login(f"t-{role}")
    token = csrf_token(client.get("/staff").text)
    for method, path, allowed in MATRIX:
        if method == "GET":
            resp = client.get(path)
        else:
            # An empty (but CSRF-valid) submission: allowed roles get a form error or a
            # redirect, never a 403; refused roles get 403 before anything is read.
            resp = client.post(path, data={"csrf_token": token})
        if role in allowed:
            assert resp.status_code in (200, 302, 400), f"{role} {method} {path}: {resp.status_code}"
        else:
            assert resp.status_code == 403, f"{role} {method} {path}: {resp.status_code}"


def test_anonymous_is_sent_to_login(demo, client):
    for method, path, _ in MATRIX:
        resp = client.open(path, method=method)
        if method == "POST":
            # CSRF is checked first: no token, no action.
            assert resp.status_code in (302, 400), path
        else:
            assert resp.status_code == 302, path
            assert "/auth/login" in resp.headers["Location"]


def test_refused_post_changes_nothing(demo, client, login, make_user, db):
    from survey_app.models import Agency

    make_user("aud2", "auditor")
    login("aud2")
    page = client.get("/admin/agencies/TQ/edit")
    resp = client.post("/admin/agencies/TQ/edit", data={
        "csrf_token": csrf_token(page.text), "code": "TQ", "name": "Hacked", "kind": "province"})
    assert resp.status_code == 403
    assert db.session.query(Agency).filter_by(code="TQ").one().name == "UBND tỉnh Tuyên Quang"
