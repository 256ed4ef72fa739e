"""Agencies as a tree with validity dates: CSV import/export, create and edit."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlalchemy import select

from ..extensions import db
from ..models import AGENCY_KINDS, Agency
from . import ServiceError, audit

CSV_COLUMNS = ["code", "name", "kind", "parent_code", "valid_from", "valid_to"]
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


def _parse_date(value: str, field: str, errors: list[str], where: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{where}: {field} '{value}' không phải ngày dạng YYYY-MM-DD")
        return None


def validate_fields(code, name, kind, valid_from, valid_to, where: str, errors: list[str]) -> None:
    if not CODE_RE.match(code or ""):
        errors.append(f"{where}: mã '{code}' không hợp lệ (chữ, số, _ . -, tối đa 32 ký tự)")
    if not (name or "").strip():
        errors.append(f"{where}: thiếu tên cơ quan")
    elif len(name) > 200:
        errors.append(f"{where}: tên quá dài (tối đa 200 ký tự)")
    if kind not in AGENCY_KINDS:
        errors.append(f"{where}: loại '{kind}' không hợp lệ (một trong: {', '.join(AGENCY_KINDS)})")
    if valid_from and valid_to and valid_to < valid_from:
        errors.append(f"{where}: valid_to trước valid_from")


def _read_rows(text: str, errors: list[str]) -> dict[str, dict]:
    """The file's rows by code, each checked on its own (problems go to `errors`)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ServiceError(
            "Tệp CSV thiếu cột: " + ", ".join(missing)
            + f". Cần đúng các cột: {','.join(CSV_COLUMNS)}"
        )
    rows: dict[str, dict] = {}
    for lineno, raw in enumerate(reader, start=2):
        if None in raw or any(v is None for v in raw.values()):
            errors.append(f"dòng {lineno}: số cột không khớp với tiêu đề")
            continue
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        where = f"dòng {lineno}"
        row["valid_from"] = _parse_date(row["valid_from"], "valid_from", errors, where)
        row["valid_to"] = _parse_date(row["valid_to"], "valid_to", errors, where)
        validate_fields(row["code"], row["name"], row["kind"], row["valid_from"],
                        row["valid_to"], where, errors)
        if row["code"] in rows:
            errors.append(f"{where}: mã '{row['code']}' bị trùng trong tệp")
            continue
        row["lineno"] = lineno
        rows[row["code"]] = row
    if not rows and not errors:
        errors.append("tệp không có dòng dữ liệu nào")
    return rows


def _check_tree(rows: dict[str, dict], existing: dict[str, Agency], errors: list[str]) -> None:
    """Every parent exists (in the file or the database) and the tree has no cycle."""
    for code, row in rows.items():
        parent = row["parent_code"]
        if parent and parent not in rows and parent not in existing:
            errors.append(f"dòng {row['lineno']}: cơ quan cấp trên '{parent}' không tồn tại")
        if parent == code:
            errors.append(f"dòng {row['lineno']}: cơ quan không thể là cấp trên của chính nó")
    # The file may re-parent existing agencies: check the resulting tree has no cycle.
    parent_of = {c: (a.parent.code if a.parent else "") for c, a in existing.items()}
    parent_of.update({c: r["parent_code"] for c, r in rows.items()})
    for code in rows:
        seen, cur = set(), code
        while cur:
            if cur in seen:
                errors.append(f"mã '{code}': quan hệ cấp trên tạo thành vòng lặp")
                break
            seen.add(cur)
            cur = parent_of.get(cur, "")


def _write_rows(rows: dict[str, dict], existing: dict[str, Agency], is_demo: bool) -> dict:
    """Create or update the checked rows, then link parents and audit each change."""
    created = updated = 0
    by_code = dict(existing)
    for code, row in rows.items():
        agency = by_code.get(code)
        if agency is None:
            agency = Agency(code=code, is_demo=is_demo)
            db.session.add(agency)
            by_code[code] = agency
            before = None
            created += 1
        else:
            before = agency.as_row()
        agency.name, agency.kind = row["name"], row["kind"]
        agency.valid_from, agency.valid_to = row["valid_from"], row["valid_to"]
        row["_agency"], row["_before"] = agency, before
    for row in rows.values():
        agency = row["_agency"]
        agency.parent = by_code[row["parent_code"]] if row["parent_code"] else None
    db.session.flush()
    for row in rows.values():
        agency, before = row["_agency"], row["_before"]
        after = agency.as_row()
        if before is None:
            audit.record("agency.create", "agency", agency.code, None, after)
        elif before != after:
            updated += 1
            audit.record("agency.update", "agency", agency.code, before, after)
    return {"created": created, "updated": updated}


def import_csv(text: str, *, is_demo: bool = False) -> dict:
    """Create or update agencies from CSV text; all rows are checked before anything is written.

    Returns counts {'created': n, 'updated': m}. Raises ServiceError listing every problem.
    """
    errors: list[str] = []
    rows = _read_rows(text, errors)
    existing = {a.code: a for a in db.session.scalars(select(Agency))}
    _check_tree(rows, existing, errors)
    if errors:
        raise ServiceError("Không nhập được danh sách cơ quan; không có gì thay đổi.", details=errors)
    return _write_rows(rows, existing, is_demo)


def export_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for agency in tree_order():
        writer.writerow(agency.as_row())
    return out.getvalue()


def tree_order() -> list[Agency]:
    """All agencies, parents before children, siblings by code (for listings and exports)."""
    agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
    children: dict[int | None, list[Agency]] = {}
    for a in agencies:
        children.setdefault(a.parent_id, []).append(a)
    ordered: list[Agency] = []

    def walk(parent_id, depth):
        for a in children.get(parent_id, []):
            a.depth = depth
            ordered.append(a)
            walk(a.id, depth + 1)

    walk(None, 0)
    return ordered


def subtree_ids(agency: Agency) -> set[int]:
    """The agency and all its descendants."""
    pairs = db.session.execute(select(Agency.id, Agency.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for aid, pid in pairs:
        children.setdefault(pid, []).append(aid)
    out, stack = set(), [agency.id]
    while stack:
        cur = stack.pop()
        out.add(cur)
        stack.extend(children.get(cur, []))
    return out


def get_by_code(code: str) -> Agency:
    agency = db.session.scalar(select(Agency).filter_by(code=code))
    if agency is None:
        raise ServiceError(f"Không có cơ quan mã '{code}'.")
    return agency


def save_agency(agency: Agency | None, *, code, name, kind, parent_code, valid_from, valid_to) -> Agency:
    """Create (agency=None) or edit one agency, refusing duplicates, unknown parents and cycles."""
    errors: list[str] = []
    validate_fields(code, name, kind, valid_from, valid_to, "cơ quan", errors)
    other = db.session.scalar(select(Agency).filter_by(code=code))
    if other is not None and other is not agency:
        errors.append(f"mã '{code}' đã được dùng")
    parent = None
    if parent_code:
        parent = db.session.scalar(select(Agency).filter_by(code=parent_code))
        if parent is None:
            errors.append(f"cơ quan cấp trên '{parent_code}' không tồn tại")
        elif agency is not None and parent.id in subtree_ids(agency):
            errors.append("cơ quan cấp trên không thể là chính nó hoặc đơn vị trực thuộc của nó")
    if errors:
        raise ServiceError("Không lưu được cơ quan.", details=errors)
    before = agency.as_row() if agency is not None else None
    if agency is None:
        agency = Agency(code=code)
        db.session.add(agency)
    agency.code, agency.name, agency.kind = code, name.strip(), kind
    agency.parent, agency.valid_from, agency.valid_to = parent, valid_from, valid_to
    db.session.flush()
    audit.record("agency.create" if before is None else "agency.update", "agency", code,
                 before, agency.as_row())
    return agency
