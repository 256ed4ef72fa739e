"""Versioned questionnaires loaded from data files. Versions are immutable once stored:
an edit always makes a new version, so a campaign's questionnaire never changes under it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select

from ..extensions import db
from ..models import Item, QuestionGroup, Questionnaire, QuestionnaireVersion
from ..questions import REGISTRY
from . import ServiceError, audit

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SIPAS_FILE = DATA_DIR / "sipas-2023.json"
CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def _text(obj, field, where, errors) -> dict:
    value = obj.get(field)
    if isinstance(value, str):
        value = {"vi": value}
    if not isinstance(value, dict) or not str(value.get("vi") or "").strip():
        errors.append(f"{where}: thiếu {field}.vi (nội dung tiếng Việt)")
        return {"vi": "", "en": ""}
    return {"vi": str(value["vi"]), "en": str(value.get("en") or "")}


def validate_definition(data) -> list[str]:
    """Every problem with a questionnaire definition, as messages naming where it is."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return ["tệp phải là một đối tượng JSON"]
    if not CODE_RE.match(str(data.get("code", ""))):
        errors.append("code của phiếu thiếu hoặc không hợp lệ")
    _text(data, "title", "phiếu", errors)
    groups = data.get("groups")
    items = data.get("items")
    if not isinstance(groups, list) or not groups:
        errors.append("thiếu danh sách groups")
        groups = []
    if not isinstance(items, list) or not items:
        errors.append("thiếu danh sách items")
        items = []
    group_codes: dict[str, str] = {}
    for i, g in enumerate(groups, 1):
        where = f"group {i}"
        if not isinstance(g, dict):
            errors.append(f"{where}: phải là đối tượng")
            continue
        code = str(g.get("code", ""))
        if not CODE_RE.match(code):
            errors.append(f"{where}: code không hợp lệ")
        if code in group_codes:
            errors.append(f"{where}: code '{code}' bị trùng")
        if g.get("kind") not in ("element", "section"):
            errors.append(f"{where}: kind phải là element hoặc section")
        group_codes[code] = g.get("kind")
        _text(g, "name", where, errors)
    seen: set[str] = set()
    for i, it in enumerate(items, 1):
        where = f"item {i}"
        if not isinstance(it, dict):
            errors.append(f"{where}: phải là đối tượng")
            continue
        code = str(it.get("code", ""))
        where = f"item {i} ({code})"
        if not CODE_RE.match(code):
            errors.append(f"{where}: code không hợp lệ")
        if code in seen:
            errors.append(f"{where}: code bị trùng")
        seen.add(code)
        qtype = REGISTRY.get(it.get("type"))
        if qtype is None:
            errors.append(f"{where}: type '{it.get('type')}' không hợp lệ "
                          f"(một trong: {', '.join(REGISTRY)})")
        else:
            errors.extend(f"{where}: {e}" for e in qtype.check_options(it))
        group = it.get("group")
        # The index's elements hold the scored items, and only those.
        scored = qtype is not None and qtype.scored
        if group not in group_codes:
            errors.append(f"{where}: group '{group}' không có trong groups")
        elif scored and group_codes[group] != "element":
            errors.append(f"{where}: câu hỏi hài lòng phải thuộc một element")
        elif not scored and group_codes[group] == "element":
            errors.append(f"{where}: element chỉ chứa câu hỏi hài lòng")
        if not isinstance(it.get("required", False), bool):
            errors.append(f"{where}: required phải là true/false")
        _text(it, "text", where, errors)
    for code, kind in group_codes.items():
        if kind == "element" and not any(isinstance(it, dict) and it.get("group") == code
                                         for it in items):
            errors.append(f"element '{code}' không có câu hỏi nào")
    return errors


def parse_file(path: str | Path) -> dict:
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ServiceError(f"Không tìm thấy tệp '{path}'.") from exc
    except UnicodeDecodeError as exc:
        raise ServiceError(f"Tệp '{path}' không phải văn bản UTF-8.") from exc
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ServiceError(f"Tệp '{path}' không phải JSON hợp lệ: dòng {exc.lineno}, "
                           f"cột {exc.colno}: {exc.msg}") from exc


def create_version(data: dict) -> QuestionnaireVersion:
    """Store a definition as the next version of its questionnaire (a new one if needed)."""
    errors = validate_definition(data)
    if errors:
        raise ServiceError("Phiếu khảo sát không hợp lệ; không có gì thay đổi.", details=errors)
    q = db.session.scalar(select(Questionnaire).filter_by(code=data["code"]))
    if q is None:
        q = Questionnaire(code=data["code"])
        db.session.add(q)
        db.session.flush()
    number = (db.session.scalar(
        select(func.max(QuestionnaireVersion.number)).filter_by(questionnaire_id=q.id)) or 0) + 1
    title = _text(data, "title", "", [])
    intro = data.get("intro") or {}
    if isinstance(intro, str):
        intro = {"vi": intro}
    version = QuestionnaireVersion(
        questionnaire=q, number=number, label=str(data.get("label") or f"{q.code} v{number}"),
        title_vi=title["vi"], title_en=title["en"],
        intro_vi=str(intro.get("vi") or ""), intro_en=str(intro.get("en") or ""),
    )
    db.session.add(version)
    groups = {}
    for pos, g in enumerate(data["groups"]):
        name = _text(g, "name", "", [])
        groups[g["code"]] = QuestionGroup(version=version, code=g["code"], kind=g["kind"],
                                          name_vi=name["vi"], name_en=name["en"], position=pos)
        db.session.add(groups[g["code"]])
    for pos, it in enumerate(data["items"]):
        text = _text(it, "text", "", [])
        options = {k: v for k, v in it.items()
                   if k not in ("code", "group", "type", "required", "text")}
        db.session.add(Item(version=version, group=groups[it["group"]], code=it["code"],
                            type=it["type"], required=bool(it.get("required", False)),
                            position=pos, text_vi=text["vi"], text_en=text["en"],
                            options=options))
    db.session.flush()
    audit.record("questionnaire.version", "questionnaire_version", version.name, None,
                 {"label": version.label, "items": len(data["items"])})
    return version


def load_file(path: str | Path) -> QuestionnaireVersion:
    return create_version(parse_file(path))


def get_version(ref: str) -> QuestionnaireVersion:
    """'sipas' (latest version) or 'sipas:2' / 'sipas v2'."""
    m = re.match(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:(?::|\s+v)(\d+))?\s*$", ref or "")
    if not m:
        raise ServiceError(f"Không hiểu phiên bản phiếu '{ref}' (ví dụ: sipas hoặc sipas:2).")
    q = db.session.scalar(select(Questionnaire).filter_by(code=m.group(1)))
    if q is None or not q.versions:
        raise ServiceError(f"Không có phiếu khảo sát mã '{m.group(1)}'.")
    if m.group(2) is None:
        return q.latest
    for v in q.versions:
        if v.number == int(m.group(2)):
            return v
    raise ServiceError(f"Phiếu '{m.group(1)}' không có phiên bản {m.group(2)}.")
