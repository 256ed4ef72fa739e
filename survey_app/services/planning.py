"""Sample planning for a campaign: how many forms each agency should collect, from its
population (people who completed a procedure there in the period), by the 1383/QĐ-BNV
formula (Yamane) or Cochran's, per agency or as one total allocated across agencies in
proportion to population with a minimum each (:mod:`analysis.sampling`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _

import analysis

from ..extensions import db
from ..models import Campaign
from . import ServiceError, audit
from .campaigns import ensure_writable

METHODS = {"yamane": "Yamane, n = N / (1 + N·e²) (Quyết định 1383/QĐ-BNV)",
           "cochran": "Cochran có hiệu chỉnh tổng thể hữu hạn (p = 0,5; z = 1,96)"}
BASES = {"agency": "Mỗi cơ quan một cỡ mẫu theo dân số của cơ quan đó",
         "total": "Một cỡ mẫu chung cho cả đợt, phân bổ theo tỷ lệ dân số (có mức tối thiểu)"}
MAX_POPULATION = 100_000_000


@dataclass
class Plan:
    method: str = "yamane"
    margin: float = 0.05
    minimum: int = analysis.MIN_N_FOR_RANKING
    basis: str = "agency"
    total: int | None = None
    populations: dict = field(default_factory=dict)   # agency code -> int | None


def _int(text, name: str, errors: list[str], low: int = 0, high: int = MAX_POPULATION):
    text = (text or "").strip().replace(".", "").replace(" ", "")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        errors.append(f"{name}: '{text}' không phải số nguyên")
        return None
    if not low <= value <= high:
        errors.append(f"{name}: phải từ {low} đến {high}")
        return None
    return value


def parse(campaign: Campaign, form: Mapping) -> Plan:
    """Read a plan from form fields (method, margin, minimum, basis, total, pop_<CODE>);
    empty fields fall back to the campaign's stored populations and the defaults."""
    errors: list[str] = []
    plan = Plan()
    plan.method = form.get("method") or plan.method
    if plan.method not in METHODS:
        errors.append(f"công thức '{plan.method}' không hợp lệ")
    plan.basis = form.get("basis") or plan.basis
    if plan.basis not in BASES:
        errors.append(f"cách tính '{plan.basis}' không hợp lệ")
    margin = (form.get("margin") or "").strip().replace(",", ".")
    if margin:
        try:
            plan.margin = float(margin)
        except ValueError:
            errors.append(f"sai số: '{margin}' không phải số")
        else:
            if not 0 < plan.margin < 1:
                errors.append("sai số phải lớn hơn 0 và nhỏ hơn 1 (ví dụ 0,05)")
    minimum = _int(form.get("minimum"), "mức tối thiểu", errors, 0, 100_000)
    plan.minimum = plan.minimum if minimum is None else minimum
    plan.total = _int(form.get("total"), "tổng cỡ mẫu", errors, 1)
    for scope in campaign.scope:
        key = f"pop_{scope.agency.code}"
        if key in form:
            plan.populations[scope.agency.code] = _int(form.get(key), scope.agency.code, errors)
        else:
            plan.populations[scope.agency.code] = scope.population
    if errors:
        raise ServiceError("Không tính được cỡ mẫu.", details=errors)
    return plan


def propose(campaign: Campaign, plan: Plan) -> tuple[list[dict], int]:
    """One row per agency in scope (code, name, population, planned now, proposed) and
    the proposed total. Agencies without a population get no proposal."""
    size = analysis.yamane if plan.method == "yamane" else analysis.cochran
    known = {code: n for code, n in plan.populations.items() if n}
    proposed: dict[str, int] = {}
    if known and plan.basis == "agency":
        for code, population in known.items():
            proposed[code] = min(population, max(size(population, plan.margin), plan.minimum))
    elif known:
        total = plan.total or size(sum(known.values()), plan.margin)
        proposed = {k: int(v) for k, v in
                    analysis.allocate(total, known, minimum=plan.minimum).items()}
    rows = [{"code": s.agency.code, "name": s.agency.name,
             "population": plan.populations.get(s.agency.code), "planned": s.planned,
             "proposed": proposed.get(s.agency.code)} for s in campaign.scope]
    return rows, sum(proposed.values())


def save(campaign: Campaign, plan: Plan) -> tuple[list[dict], int]:
    """Store populations and proposed sizes on the campaign's scope (agencies without a
    population keep what they had) and record the change in the audit log."""
    ensure_writable(campaign, _("Không lưu được kế hoạch mẫu"))
    rows, total = propose(campaign, plan)
    if not total:
        raise ServiceError("Chưa có dân số của cơ quan nào: không có gì để lưu.")
    by_code = {s.agency.code: s for s in campaign.scope}
    before, after = {}, {}
    for row in rows:
        if row["proposed"] is None:
            continue
        scope = by_code[row["code"]]
        before[row["code"]] = {"population": scope.population, "planned": scope.planned}
        scope.population, scope.planned = row["population"], row["proposed"]
        after[row["code"]] = {"population": scope.population, "planned": scope.planned}
    db.session.flush()
    audit.record("campaign.plan", "campaign", campaign.code, before,
                 {"method": plan.method, "margin": plan.margin, "minimum": plan.minimum,
                  "basis": plan.basis, "total": total, "agencies": after})
    return rows, total
