"""The official report's content (a `Document`) from what `gather` collected: scope and
method, indices, rankings within comparable groups, priorities, who answered, comments,
the change from the earlier period, data quality, and the figures' ledger checkpoint."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from flask import current_app

import analysis
from analysis import official as off
from analysis.disclosure import legend

from .. import reports
from .. import results as res
from ..campaigns import LOCAL_TZ
from ..labels import FLAG_LABELS
from .document import Column, Document, Figure, Heading, Paragraph, Section, Signature, Table
from .gather import Gathered

INDEX_COLUMNS = [Column("n", "int", 14), Column("Chỉ số (%)", "index", 17),
                 Column("KTC 95 % dưới", "index", 17), Column("KTC 95 % trên", "index", 17)]
SUBJECT = ("Kết quả khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của cơ "
           "quan hành chính nhà nước")


def _setting(name: str, default: str) -> str:
    return str(current_app.config.get(name) or default)


def heading(g: Gathered, today: datetime) -> Heading:
    """Decree 30/2020/NĐ-CP: the issuing body under its superior, the number, the place
    and date (days below 10 and months below 3 written with a leading zero), the kind."""
    order = g.order
    root = next((c for c, p in g.parents.items() if p is None and g.kinds[c] == "province"),
                None)
    province = g.names.get(root, "") if root else ""
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
    root = next((c for c, k in g.kinds.items() if k == "province"), None)
    scope = off.scope_label(g.covered, g.serving if order.agency is None else g.covered,
                            g.names, "" if root is None else g.names[root].replace(
                                "UBND tỉnh", "").strip())
    if order.agency is not None:
        scope = f"{order.agency.name} và các đơn vị trực thuộc ({len(g.covered)} đơn vị)" \
            if len(g.covered) > 1 else order.agency.name
    version = order.campaigns[0].version
    rounds = "; ".join(
        f"{c.name} (mã {c.code}, từ {c.opens_at:%d/%m/%Y} đến {c.closes_at:%d/%m/%Y})"
        for c in order.campaigns)
    section.add(
        Paragraph(f"1. Đợt khảo sát: {rounds}."),
        Paragraph(f"2. Phạm vi: {scope}."),
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

def _summary_rows(summary: pd.DataFrame, names, elements, ranked=True) -> list[list]:
    rows = []
    for rec in summary.to_dict("records"):
        rank = rec.get("rank") if ranked else None
        rows.append(["" if rank is None or pd.isna(rank) else int(rank),
                     names.get(rec["agency_code"], rec["agency_code"]), int(rec["n"]),
                     rec["index"], rec["ci_low"], rec["ci_high"],
                     *[rec.get(code) for code, _ in elements]])
    return rows


def _ranking_columns(elements, first="Hạng") -> list[Column]:
    return [Column(first, "label", 10), Column("Cơ quan, đơn vị", "label", 48),
            *INDEX_COLUMNS[:1], Column("Chỉ số chung (%)", "index", 16),
            *INDEX_COLUMNS[2:], *[Column(f"{code} (%)", "index", 12) for code, _ in elements]]


def results_section(g: Gathered) -> Section:
    r = g.results
    section = Section("II. KẾT QUẢ KHẢO SÁT")
    section.add(Paragraph("1. Chỉ số hài lòng chung và theo yếu tố", "subheading"),
                _table("elements", "Chỉ số hài lòng về sự phục vụ hành chính và theo yếu tố",
                       [Column("Mã", "label", 12), Column("Yếu tố", "label", 64), *INDEX_COLUMNS,
                        Column("Điểm TB (1–5)", "score", 16)],
                       reports.elements_rows(r)))
    section.add(Paragraph("2. Chỉ số theo tiêu chí", "subheading"),
                _table("criteria", "Chỉ số theo tiêu chí",
                       [Column("Mã", "label", 11), Column("Tiêu chí", "label", 70),
                        Column("n", "int", 13), Column("Số hài lòng", "int", 15),
                        *INDEX_COLUMNS[1:], Column("Điểm TB (1–5)", "score", 15)],
                       reports.criteria_rows(r)))
    section.add(Paragraph("3. Xếp hạng theo nhóm cơ quan", "subheading"),
                Paragraph(f"Mỗi cơ quan chỉ được so sánh với các cơ quan cùng nhóm; chỉ số của "
                          f"từng cơ quan tính trên phiếu của chính cơ quan đó. Cơ quan có n dưới "
                          f"{analysis.MIN_N_FOR_RANKING} được trình bày nhưng không xếp hạng."))
    for key, label, ranked in off.ranking_groups(r.agencies, g.kinds):
        summary = analysis.report.summary_table(
            r.agencies[r.agencies["agency_code"].isin(ranked["agency_code"])], r.codebook,
            ranked)
        section.add(_table(f"ranking-{key}", f"Xếp hạng: {label}", _ranking_columns(r.elements),
                           _summary_rows(summary, r.names, r.elements)))
    if len(r.subtree_summary):
        section.add(_table("subtrees", "Chỉ số cộng dồn của đơn vị cấp trên (gồm các đơn vị "
                           "trực thuộc; không dùng để xếp hạng)", _ranking_columns(r.elements, ""),
                           _summary_rows(r.subtree_summary, r.names, r.elements, False)))
    return section


def priorities_block(g: Gathered) -> list:
    items = [i for i in g.items if not _groups(i)]
    if not items:
        return []
    table = off.priorities(g.answers, pd.DataFrame(
        [{"item_code": i.code, "text": i.text_vi} for i in items]))
    rows = [[None if pd.isna(t.rank) else int(t.rank), t.item_code, t.text, t.n, t.top, t.share]
            for t in table.itertuples()]
    return [Paragraph("4. Nội dung người dân đề nghị ưu tiên cải thiện", "subheading"),
            _table("priorities", "Nội dung cần ưu tiên cải thiện (tỷ lệ chọn “Rất nhiều”)",
                   [Column("Thứ tự", "int", 14), Column("Mã", "label", 12),
                    Column("Nội dung", "label", 80), Column("Số trả lời", "int", 18),
                    Column("Số chọn “Rất nhiều”", "int", 22),
                    Column("Tỷ lệ (%)", "share", 18)], rows)]


def _groups(item) -> bool:
    from ...questions import get_type

    return get_type(item.type).groups


def profile_block(g: Gathered) -> list:
    from ...questions import get_type

    items = [i for i in g.items if _groups(i)]
    if not items:
        return []
    frame = pd.DataFrame([{"item_code": i.code, "text": i.text_vi,
                           "choices": [(c["code"], c["label"]["vi"]) for c in i.choices],
                           "multiple": get_type(i.type).multiple} for i in items])
    table = off.profile(g.answers, frame, res.min_cell())
    rows = [[t.item, t.label, t.n, t.share] for t in table.itertuples()]
    return [Paragraph("5. Thông tin về người trả lời", "subheading"),
            _table("profile", "Người trả lời theo đặc điểm",
                   [Column("Đặc điểm", "label", 60), Column("Lựa chọn", "label", 60),
                    Column("Số người", "int", 22), Column("Tỷ lệ (%)", "share", 22)], rows,
                   note=legend(res.min_cell()) + " Câu hỏi chọn nhiều đáp án không có tỷ lệ.")]


def comments_block(g: Gathered) -> list:
    rows = [[g.names.get(code, code), n] for code, n in sorted(g.comment_counts.items())]
    out = [Paragraph("6. Ý kiến góp ý của người dân", "subheading"),
           _table("comments", "Số phiếu có ý kiến góp ý theo cơ quan",
                  [Column("Cơ quan", "label", 100), Column("Số phiếu có ý kiến", "int", 40)],
                  rows)]
    if g.comments:
        out.append(Paragraph("Một số ý kiến tiêu biểu (đã che thông tin cá nhân, đã công bố):"))
        out += [Paragraph(f"“{text}” ({name})", "quote") for name, _, text in g.comments[:30]]
    else:
        out.append(Paragraph("Chưa có ý kiến nào được công bố."))
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
    results.add(*priorities_block(g), *profile_block(g), *comments_block(g), *change_block(g))
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
