"""The official report's content (a `Document`) from what `gather` collected: scope and
method, indices, rankings within comparable groups, priorities, who answered, comments,
the change from the earlier period, data quality, and the figures' ledger checkpoint."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

import analysis
from analysis import official as off
from analysis import official_tables as tables
from analysis.disclosure import legend

from .. import reports
from .. import results as res
from ..campaigns import LOCAL_TZ
from ..labels import FLAG_LABELS
from .document import Column, Document, Figure, Heading, Paragraph, Section, Signature, Table
from .gather import Gathered

SUBJECT = ("Kết quả khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của cơ "
           "quan hành chính nhà nước")


def _setting(name: str, default: str) -> str:
    return str(current_app.config.get(name) or default)


def _province(g: Gathered) -> str:
    """The province's body as the agency tree names it ("UBND tỉnh Tuyên Quang"), or ""."""
    root = next((c for c, p in g.parents.items() if p is None and g.kinds[c] == "province"),
                None)
    return g.names.get(root, "") if root else ""


def heading(g: Gathered, today: datetime) -> Heading:
    """Decree 30/2020/NĐ-CP: the issuing body under its superior, the number, the place
    and date (days below 10 and months below 3 written with a leading zero), the kind."""
    order = g.order
    province = _province(g)
    if order.kind == "agency":
        agency = order.agency
        parent_code = g.parents.get(agency.code)
        parent = g.names.get(parent_code, "") if parent_code else ""
        issuer, short = agency.name, agency.code
    else:
        parent = province
        issuer = _setting("REPORT_ISSUER", "Sở Nội vụ")
        short = _setting("REPORT_ISSUER_SHORT", "SNV")
    place = _setting("REPORT_PLACE", province.replace("UBND tỉnh", "").strip() or "……")
    day = f"{today.day:02d}" if today.day < 10 else str(today.day)
    month = f"{today.month:02d}" if today.month < 3 else str(today.month)
    return Heading(parent=parent.upper(), issuer=issuer.upper(),
                   number=order.number or f"Số:       /BC-{short}",
                   place_date=f"{place}, ngày {day} tháng {month} năm {today.year}",
                   kind="BÁO CÁO", subject=f"{SUBJECT} {period(g)}")


def period(g: Gathered) -> str:
    order = g.order
    if order.kind == "annual":
        return f"năm {order.year or order.campaigns[0].opens_at.year}"
    names = ", ".join(c.name for c in order.campaigns)
    return f"({names})" if names else ""


def _table(key, title, columns, rows, note="") -> Table:
    return Table(key=key, title=title, columns=columns, rows=rows, note=note)


# --- I. scope and method ------------------------------------------------------------------

def scope_section(g: Gathered) -> Section:
    r, order = g.results, g.order
    section = Section("I. PHẠM VI VÀ PHƯƠNG PHÁP KHẢO SÁT")
    scope = off.scope_label(g.covered, g.serving if order.agency is None else g.covered,
                            g.names, _province(g).replace("UBND tỉnh", "").strip())
    if order.agency is not None:  # the code closes the line: the verifier reads it
        scope = (f"{order.agency.name} và {len(g.covered) - 1} đơn vị trực thuộc"
                 if len(g.covered) > 1 else order.agency.name) + f" (mã {order.agency.code})"
    version = order.campaigns[0].version
    rounds = "; ".join(
        f"{c.name} (mã {c.code}, từ {c.opens_at:%d/%m/%Y} đến {c.closes_at:%d/%m/%Y})"
        for c in order.campaigns)
    section.add(
        Paragraph(f"1. Đợt khảo sát: {rounds}."),
        Paragraph(f"2. Phạm vi: {scope}" + ("" if order.agency is not None else ".")),
        Paragraph(f"3. Phiếu khảo sát: {version.title_vi} (phiên bản {version.label})."),
        Paragraph(f"4. Số phiếu nhận được: {r.responses}; bị loại sau kiểm tra: {r.rejected}; "
                  f"được tính: {r.counted}."))
    planned = [[row["agency_name"], row["planned"], row["achieved"], row["achieved_pct"]]
               for row in g.reconciliation]
    section.add(_table("sample", "Cỡ mẫu theo kế hoạch và số phiếu thu được theo cơ quan",
                       [Column("Cơ quan", "label", 80), Column("Cỡ mẫu kế hoạch", "int", 28),
                        Column("Số phiếu thu được", "int", 28), Column("Đạt (%)", "share", 24)],
                       planned))
    section.add(_table("channels", "Số phiếu theo kênh trả lời",
                       [Column("Cơ quan", "label", 50),
                        *[Column(label, "int", 20) for label in res.CHANNEL_LABELS.values()],
                        Column("Tổng", "int", 16), Column("Bị loại", "int", 14)],
                       reports.channel_rows(r), note=legend(res.min_cell())))
    if g.rejected_reasons:
        section.add(Paragraph("Lý do loại phiếu:"))
        section.add(*[Paragraph(f"{reason}: {n} phiếu.", "bullet")
                      for reason, n in g.rejected_reasons])
    section.add(Paragraph("5. Phương pháp tính:"))
    section.add(*[Paragraph(line, "bullet") for line in reports.method_lines(r)])
    return section


# --- II. results ----------------------------------------------------------------------------

def results_section(g: Gathered) -> Section:
    r = g.results
    section = Section("II. KẾT QUẢ KHẢO SÁT")
    section.add(Paragraph("1. Chỉ số hài lòng chung và theo yếu tố", "subheading"),
                tables.elements_table(r.overall, r.codebook),
                Paragraph("2. Chỉ số theo tiêu chí", "subheading"),
                tables.criteria_table(r.overall, r.codebook),
                Paragraph("3. Xếp hạng theo nhóm cơ quan", "subheading"),
                Paragraph(f"Mỗi cơ quan chỉ được so sánh với các cơ quan cùng nhóm; chỉ số của "
                          f"từng cơ quan tính trên phiếu của chính cơ quan đó. Cơ quan có n dưới "
                          f"{analysis.MIN_N_FOR_RANKING} được trình bày nhưng không xếp hạng."),
                *tables.ranking_tables(r.agencies, r.codebook, g.kinds, r.names),
                tables.subtree_table(r.subtrees, r.codebook, r.names))
    priorities = tables.priorities_table(g.answers, r.codebook)
    if priorities is not None:
        section.add(Paragraph("4. Nội dung người dân đề nghị ưu tiên cải thiện", "subheading"),
                    priorities)
    profile = tables.profile_table(g.answers, r.codebook, res.min_cell())
    if profile is not None:
        section.add(Paragraph("5. Thông tin về người trả lời", "subheading"), profile)
    section.add(Paragraph("6. Ý kiến góp ý của người dân", "subheading"),
                tables.comments_table(g.comment_counts, g.names))
    section.add(*comments_by_element(g))
    return section


def comments_by_element(g: Gathered) -> list:
    """The released comments counted by the element they were filed under, then a few
    of each, as released (masked)."""
    if not g.comments:
        return [Paragraph("Chưa có ý kiến nào được công bố.")]
    names = {**dict(g.results.elements), None: "Chưa xếp theo yếu tố"}
    order = [*dict(g.results.elements), None]
    counted = {code: [t for _, e, t in g.comments if e == code] for code in order}
    by_name = {code: [(n, t) for n, e, t in g.comments if e == code] for code in order}
    out = [_table("comments-elements", "Ý kiến đã công bố theo yếu tố",
                  [Column("Yếu tố", "label", 100), Column("Số ý kiến", "int", 30)],
                  [[names[code], len(counted[code])] for code in order if counted[code]]),
           Paragraph("Một số ý kiến tiêu biểu (đã che thông tin cá nhân, đã công bố):")]
    for code in order:
        if by_name[code]:
            out.append(Paragraph(f"{names[code]}:", "body"))
            out += [Paragraph(f"“{text}” ({name})", "quote") for name, text in by_name[code][:8]]
    return out


def change_block(g: Gathered) -> list:
    if g.before is None:
        return []
    before, after = g.before, g.results
    diff = off.difference_interval(before.overall.assign(agency_code="*"),
                                   after.overall.assign(agency_code="*"))
    diff = diff[diff["level"] != "criterion"]
    names = {**dict(after.elements), analysis.SERVICE_CODE: "Chỉ số chung (SIPAS)"}
    rows = [[names.get(d.code, d.code), d.index_before, d.index_after, d.change, d.change_low,
             d.change_high, "có" if d.significant else "không"] for d in diff.itertuples()]
    out = [Paragraph("7. So sánh với kỳ trước", "subheading"),
           Paragraph("Kỳ trước: " + ", ".join(c.name for c in g.order.baseline) + ". Khoảng "
                     "tin cậy 95 % của mức thay đổi tính theo phương pháp MOVER (Newcombe) từ "
                     "khoảng tin cậy của hai kỳ; thay đổi “có ý nghĩa” khi khoảng không chứa 0.")]
    scope_before = set(before.channels["agency_code"])
    scope_after = set(after.channels["agency_code"])
    if scope_before != scope_after:
        out.append(Paragraph(
            f"Lưu ý: phạm vi hai kỳ khác nhau ({len(scope_before)} và {len(scope_after)} cơ "
            "quan có phiếu; "
            f"{len(scope_before ^ scope_after)} cơ quan chỉ có ở một kỳ), nên mức thay đổi "
            "phản ánh cả sự khác nhau về phạm vi, không chỉ về chất lượng phục vụ."))
    out.append(_table("change", "Thay đổi so với kỳ trước (điểm phần trăm)",
                      [Column("Chỉ số", "label", 60), Column("Kỳ trước (%)", "index", 18),
                       Column("Kỳ này (%)", "index", 18), Column("Thay đổi", "change", 18),
                       Column("KTC 95 % dưới", "change", 18),
                       Column("KTC 95 % trên", "change", 18),
                       Column("Có ý nghĩa", "label", 16)], rows))
    own = off.difference_interval(off.service_rows(before.agencies),
                                  off.service_rows(after.agencies))
    if len(own):
        own = own.sort_values("change", ascending=False, kind="stable")
        out.append(_table("change-agencies", "Thay đổi chỉ số chung của từng cơ quan (điểm "
                          "phần trăm; chỉ các cơ quan có phiếu ở cả hai kỳ)",
                          [Column("Cơ quan", "label", 56), Column("n kỳ trước", "int", 14),
                           Column("Kỳ trước (%)", "index", 16), Column("n kỳ này", "int", 14),
                           Column("Kỳ này (%)", "index", 16), Column("Thay đổi", "change", 16),
                           Column("KTC 95 % dưới", "change", 16),
                           Column("KTC 95 % trên", "change", 16)],
                          [[after.names.get(d.agency_code, d.agency_code), d.n_before,
                            d.index_before, d.n_after, d.index_after, d.change, d.change_low,
                            d.change_high] for d in own.itertuples()]))
    return out


# --- III. data quality ----------------------------------------------------------------------

def quality_section(g: Gathered) -> Section:
    section = Section("III. KIỂM TRA CHẤT LƯỢNG DỮ LIỆU")
    rows = [[r["agency_name"], r["issued"], r["online"], r["paper"], r["void"], r["outstanding"]]
            for r in g.reconciliation]
    section.add(_table("forms", "Phiếu giấy đã phát và đã thu về theo cơ quan",
                       [Column("Cơ quan", "label", 60), Column("Đã phát", "int", 20),
                        Column("Trả lời trực tuyến", "int", 22),
                        Column("Đã nộp, đã nhập", "int", 22), Column("Hủy", "int", 16),
                        Column("Chưa thu về", "int", 20)], rows))
    flag_codes = [c for c in FLAG_LABELS if c in g.flag_counts.columns]
    flag_rows = [[g.names.get(r["agency_code"], r["agency_code"]), r["responses"], r["flagged"],
                  *[r[c] for c in flag_codes]] for r in g.flag_counts.to_dict("records")]
    section.add(_table("flags", "Phiếu có dấu hiệu cần xem xét (cảnh báo tự động, không tự "
                       "loại phiếu)",
                       [Column("Cơ quan", "label", 44), Column("Số phiếu", "int", 16),
                        Column("Có cảnh báo", "int", 16),
                        *[Column(str(FLAG_LABELS[c]), "int", 16) for c in flag_codes]],
                       flag_rows))
    reviews = "; ".join(f"{label}: {n}" for label, n in sorted(g.reviews.items())) or "chưa có"
    outcomes = "; ".join(f"{label}: {n}" for label, n in sorted(g.outcomes.items())) \
        or "chưa có"
    section.add(Paragraph(f"Kết quả xem xét phiếu (quyết định cuối cùng): {reviews}."),
                Paragraph(f"Kết quả phúc tra (liên hệ lại người trả lời): {outcomes}."))
    return section


def statement_section(g: Gathered) -> Section:
    section = Section("V. CĂN CỨ SỐ LIỆU")
    section.add(Paragraph(res.STATEMENT_HEADING + ". Mọi số liệu trong báo cáo tính lại được "
                          "từ bộ dữ liệu kiểm toán bằng lệnh python -m analysis verify."))
    section.add(*[Paragraph(f"{label}: {value}", "bullet")
                  for label, value in g.results.statement.pairs()])
    return section


def build(g: Gathered, charts: dict[str, bytes] | None = None,
          today: datetime | None = None) -> Document:
    today = today or datetime.now(LOCAL_TZ)
    results = results_section(g)
    results.add(*change_block(g))
    for kind, png in (charts or {}).items():
        results.add(Figure(png, reports.CHART_CAPTIONS[kind]))
    proposals = Section("IV. ĐỀ XUẤT, KIẾN NGHỊ").add(Paragraph(
        "(Cơ quan nêu các giải pháp cải thiện theo những nội dung người dân đề nghị ưu tiên "
        "và các tiêu chí có chỉ số thấp.)", "note"))
    order = g.order
    if order.kind == "agency":
        recipients = ["Sở Nội vụ (để tổng hợp);", "Lưu: VT."]
        authority = ["THỦ TRƯỞNG CƠ QUAN"]
    else:
        recipients = ["Ủy ban nhân dân tỉnh (để báo cáo);",
                      "Ban Thường trực Ủy ban MTTQ Việt Nam tỉnh;",
                      "Các sở, ban, ngành; UBND các xã, phường;", "Lưu: VT."]
        authority = ["GIÁM ĐỐC"]
    return Document(
        heading=heading(g, today),
        sections=[scope_section(g), results, quality_section(g), proposals,
                  statement_section(g)],
        recipients=recipients, signature=Signature(authority, order.signer),
        statement=g.results.statement.pairs(), title=f"Báo cáo {SUBJECT.lower()} {period(g)}")
