"""The registry of question types is the one place that knows a type: no other module
branches on a type's name, and a new type is one class, which the citizen's page, the
submission and its receipt, the export, the printed form and paper entry then handle."""

from __future__ import annotations

import ast
import csv
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from web_helpers import answer_form, csrf_token, full_answers, signed_in

from survey_app.models import Campaign, CampaignAgency, Response, utcnow
from survey_app.questions import (
    REGISTRY,
    Entry,
    Grid,
    InvalidAnswer,
    Legend,
    QuestionType,
    register,
    unregister,
)

ROOT = Path(__file__).resolve().parent.parent
# Modules allowed to name types: the registry itself, and the analysis package's one
# module of kinds (the analysis package cannot import the application).
OWNERS = (("survey_app", "questions"), ("analysis", "kinds.py"))
# "text" is both a type and the field holding an item's wording ({"text": {"vi": …}});
# for such a word only a comparison or a table of types is a type's name.
ITEM_FIELDS = {"code", "group", "type", "required", "text", "choices"}


# --- no other module branches on a type's name ---------------------------------------------

def _modules():
    for package in ("survey_app", "analysis"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts or rel.name.startswith("messages"):
                continue
            if any(rel.parts[:len(owner)] == owner for owner in OWNERS):
                continue
            yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}


def _type_positions(tree, names) -> set[int]:
    """Constants where a word can only be a type's name: compared with something, or in
    a tuple, list, set or dict keys made of type names alone (a mixed tuple such as
    ("code", "text") lists fields)."""
    found = set()

    def names_only(nodes):
        return nodes and all(isinstance(n, ast.Constant) and n.value in names for n in nodes)

    for node in ast.walk(tree):
        operands = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)) and names_only(node.elts):
            operands = node.elts
        elif isinstance(node, ast.Dict) and names_only(node.keys):
            operands = node.keys
        found.update(id(n) for n in operands if isinstance(n, ast.Constant))
    return found


def type_names_in(tree, names) -> list[tuple[int, str]]:
    """(line, name) of every type's name a module's code spells out, SQL text included."""
    docs, positions = _docstrings(tree), _type_positions(tree, names)
    alternatives = "|".join(map(re.escape, names))
    quoted = re.compile(rf"'({alternatives})'")
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) \
                or id(node) in docs:
            continue
        if node.value in names and (node.value not in ITEM_FIELDS or id(node) in positions):
            out.append((node.lineno, node.value))
        out += [(node.lineno, m.group(1)) for m in quoted.finditer(node.value)]
    return out


def test_the_check_finds_a_branch_on_a_type_name():
    names = {"satisfaction", "text"}
    code = '''
"""Docstrings may say satisfaction."""
def f(item, row):
    """Or 'text'."""
    if item.type == "satisfaction":
        return row["text"], {"code": 1, "text": 2}
    if item.type in ("text",) and "x" not in ("code", "text"):
        return "SELECT code FROM item WHERE type = 'satisfaction'"
    return {"satisfaction": 1, "text": 2}.get(item.type)
'''
    assert sorted(type_names_in(ast.parse(code), names)) == [
        (5, "satisfaction"), (7, "text"), (8, "satisfaction"), (9, "satisfaction"),
        (9, "text")]


def test_no_module_outside_the_registry_names_a_type():
    names = set(REGISTRY)
    named = {str(rel): sorted({name for _, name in found})
             for rel, tree in _modules() if (found := type_names_in(tree, names))}
    assert named == {}, f"modules that branch on type names: {named}"


def test_no_template_names_a_type():
    names = "|".join(map(re.escape, REGISTRY))
    quoted = re.compile(rf"""(['"])({names})\1""")
    named = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for tag in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", path.read_text(encoding="utf-8"), re.S):
            named.setdefault(str(path.relative_to(ROOT)), set()).update(
                m.group(2) for m in quoted.finditer(tag))
    assert {k: sorted(v) for k, v in named.items() if v} == {}


# --- the export writes each type's export value ------------------------------------------

def test_the_export_writes_what_each_type_exports(demo, client, runner, db, tmp_path):
    """The export and the ledger are written by `analysis` (which cannot import the
    registry); each cell must still be what the item's type says."""
    link = db.session.scalar(select(CampaignAgency).join(CampaignAgency.campaign)
                             .where(Campaign.code == "demo"))
    answers = {**full_answers(5), "PA3": "0", "UT1": "3", "GIOI_TINH": "2",
               "KENH_TT": ["3", "1"], "Y_KIEN": "Cán bộ nhiệt tình; đúng hẹn"}
    assert answer_form(client, f"/k/{link.open_code}", answers).status_code == 303
    result = runner.invoke(args=["export-responses", "--campaign", "demo",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with (tmp_path / "responses.csv").open(encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    response = db.session.scalars(select(Response)).one()
    for item in response.campaign.version.items:
        value = response.answer_dict.get(item.code)
        assert row[item.code] == REGISTRY[item.type].export(value), item.code
    assert (row["PA3"], row["KENH_TT"]) == ("", "1;3")


# --- adding a type is one class ---------------------------------------------------------

class Rating(QuestionType):
    """How likely the citizen is to recommend the office to others, 0 to 10."""

    name = "rating_0_10"
    order = tuple(range(11))
    labels = {
        "vi": {"title": "Điểm từ 0 đến 10", "ends": {0: "Chắc chắn không", 10: "Chắc chắn có"},
               "hint": "Đánh dấu một ô: 0 = chắc chắn không, 10 = chắc chắn có.",
               "legend": "Điểm giới thiệu", "key": "Gõ 0–10"},
        "en": {"title": "Score from 0 to 10", "ends": {0: "Certainly not", 10: "Certainly"},
               "hint": "Tick one box: 0 = certainly not, 10 = certainly.",
               "legend": "Recommendation", "key": "Type 0–10"},
    }

    def choices(self, item, lang):
        ends = self.text(lang, "ends")
        return [(str(v), ends.get(v, str(v))) for v in self.order]

    def to_value(self, data):
        return int(data) if data not in (None, "") else None

    def parser(self, item):
        allowed = {str(v): v for v in self.order}

        def parse(value):
            if type(value) not in (int, str) or str(value) not in allowed:
                raise InvalidAnswer("0–10")
            return allowed[str(value)]
        return parse

    def export(self, value):
        return "" if value is None else f"{value}"

    def printed(self, item, lang):
        return Grid(columns=tuple(str(v) for v in self.order), column_mm=7.5,
                    header_size=8, hint=self.text(lang, "hint"))

    def legend(self, lang):
        ends = self.text(lang, "ends")
        return Legend(self.text(lang, "legend"), tuple((str(v), ends[v]) for v in (0, 10)))

    def entry(self, item, lang):
        return Entry(keyed=True, pattern="10|[0-9]", width=2, title=self.text(lang, "key"),
                     legend=self.text(lang, "hint"))


QUESTIONNAIRE = """{
  "code": "thu", "label": "Phiếu thử",
  "title": {"vi": "Phiếu thử loại câu hỏi mới", "en": "Trial form"},
  "groups": [
    {"code": "DV", "kind": "element", "name": {"vi": "Dịch vụ", "en": "Service"}},
    {"code": "GT", "kind": "section", "name": {"vi": "Giới thiệu", "en": "Recommending"}}
  ],
  "items": [
    {"code": "S1", "group": "DV", "type": "satisfaction", "required": true,
     "text": {"vi": "Hài lòng chung", "en": "Overall satisfaction"}},
    {"code": "NPS", "group": "GT", "type": "rating_0_10", "required": true,
     "text": {"vi": "Ông/Bà có giới thiệu nơi này cho người quen không?",
              "en": "Would you recommend this office?"}}
  ]
}"""


@pytest.fixture
def rating():
    register(Rating)
    yield REGISTRY[Rating.name]
    unregister(Rating.name)


@pytest.fixture
def trial(rating, demo, runner, db, tmp_path):
    """Campaign `thu` over a questionnaire with a Rating item, made by the operator
    commands; returns the open link's path and the serial of a printed form."""
    definition = tmp_path / "thu.json"
    definition.write_text(QUESTIONNAIRE, encoding="utf-8")
    today = utcnow().date()
    for args in (["load-questionnaire", str(definition)],
                 ["create-campaign", "--code", "thu", "--name", "Đợt thử", "--period", "2026",
                  "--questionnaire", "thu", "--opens", str(today - timedelta(days=1)),
                  "--closes", str(today + timedelta(days=30)), "--agency", "X-SONDUONG"],
                 ["issue-forms", "--campaign", "thu", "--agency", "X-SONDUONG", "--count", "1",
                  "--collector", "Người phát thử", "--out", str(tmp_path / "forms.pdf"),
                  "--csv", str(tmp_path / "forms.csv"), "--allow-local-url"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    link = db.session.scalar(select(CampaignAgency).join(CampaignAgency.campaign)
                             .where(Campaign.code == "thu"))
    with (tmp_path / "forms.csv").open(encoding="utf-8") as fh:
        serial = next(csv.DictReader(fh))["serial"]
    return {"path": f"/k/{link.open_code}", "serial": serial, "pdf": tmp_path / "forms.pdf"}


def test_a_new_type_is_answered_stored_and_exported(trial, rating, client, runner, db,
                                                    tmp_path):
    page = client.get(trial["path"])
    assert page.status_code == 200
    assert "Ông/Bà có giới thiệu nơi này cho người quen không?" in page.text
    for value, label in rating.choices(None, "vi"):
        assert re.search(rf'<input type="radio" name="NPS" value="{value}">{label}<', page.text)

    assert answer_form(client, trial["path"], {"S1": "4", "NPS": "11"}).status_code == 400
    resp = answer_form(client, trial["path"], {"S1": "4", "NPS": "9"})
    assert resp.status_code == 303
    receipt = re.search(r'class="rc">([^<]+)<', client.get(resp.headers["Location"]).text)
    assert "được tính" in client.get(f"/bien-nhan?code={receipt.group(1)}").text
    assert db.session.scalars(select(Response)).one().answer_dict["NPS"] == 9

    out = tmp_path / "export"
    result = runner.invoke(args=["export-responses", "--campaign", "thu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with (out / "responses.csv").open(encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["NPS"] == rating.export(9) == "9"


def test_a_new_type_is_printed_as_it_lays_itself_out(trial):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    lines = [" ".join(line.split()) for line in subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(trial["pdf"]), "-"],
        check=True, capture_output=True).stdout.decode().splitlines()]
    assert "Điểm giới thiệu: 0 Chắc chắn không · 10 Chắc chắn có" in lines  # its legend
    at = lines.index("II. Giới thiệu")
    assert lines[at + 1] == "Đánh dấu một ô: 0 = chắc chắn không, 10 = chắc chắn có."  # hint
    rows = [line for line in lines[at + 2:] if line][:4]  # its table: a box per value
    assert rows[0] == "Mã Nội dung 0 1 2 3 4 5 6 7 8 9 10"
    assert "NPS" in rows[2] and rows[3].endswith(" ".join(["\u2610"] * 11))


def test_a_new_type_is_keyed_from_paper(trial, demo, db):
    clerk = signed_in(demo, "nhaplieu")
    page = clerk.get(f"/entry/form/{trial['serial']}")
    assert page.status_code == 200
    assert "Đánh dấu một ô: 0 = chắc chắn không, 10 = chắc chắn có." in page.text
    box = re.search(r'<input class="key"[^>]*name="NPS"[^>]*>', page.text).group(0)
    assert 'maxlength="2"' in box and 'pattern="10|[0-9]"' in box and 'title="Gõ 0–10"' in box

    resp = clerk.post(f"/entry/form/{trial['serial']}", data={
        "csrf_token": csrf_token(page.text), "S1": "5", "NPS": "10"})
    assert resp.status_code in (302, 303), resp.text
    assert db.session.scalars(select(Response)).one().answer_dict == {"S1": 5, "NPS": 10}
