"""The 6-month and annual reports: an XLSX workbook and a PDF (and the text the HTML
print view shares with them), in Vietnamese, stating the method and the n behind every
figure.

A report covers what :func:`results.combined_indices` computes: one campaign (a 6-month
round) or, for the annual report, several campaigns of a year taken together (their
tallies summed, their respondents pooled).
"""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd

import analysis
from analysis import official_tables

from ..printing import fonts
from . import results as res
from .campaigns import LOCAL_TZ
from .formatting import NUMBER_MARKS, cell, interval, number  # noqa: F401  (public names)

REPORT_CHARTS = ("ranking", "heatmap", "likert")
#: The level of a row of the long sheet, in Vietnamese (the verifier reads these back).
LEVEL_LABELS = {"criterion": "tiêu chí", "element": "yếu tố", "service": "chỉ số chung"}
CHART_CAPTIONS = {
    "ranking": "Biểu đồ 1. Chỉ số hài lòng về sự phục vụ hành chính theo cơ quan, với khoảng "
               "tin cậy 95 %; cột xám: chưa đủ phiếu để xếp hạng.",
    "heatmap": "Biểu đồ 2. Chỉ số theo yếu tố và cơ quan (%).",
    "likert": "Biểu đồ 3. Tỷ lệ các mức đánh giá theo tiêu chí (không tính “Không áp dụng”).",
}
#: The workbook's sheet stating the ledger checkpoint and the method
#: (`python -m analysis verify --report` reads it).
INFO_SHEET = "Thông tin"
REPORT_HEADING = ("BÁO CÁO KẾT QUẢ KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC ĐỐI VỚI "
                  "SỰ PHỤC VỤ CỦA CƠ QUAN HÀNH CHÍNH NHÀ NƯỚC")


def _likert_labels() -> tuple[str, ...]:
    from analysis.charts import LIKERT_LABELS_VI

    return ("Không áp dụng", *LIKERT_LABELS_VI)


# --- text -------------------------------------------------------------------------------

def kind_label(results: res.Results) -> str:
    return "Báo cáo tổng hợp năm" if results.combined else "Báo cáo kết quả đợt khảo sát"


def subtitle(results: res.Results) -> list[str]:
    lines = [f"{c['name']} (mã {c['code']}, kỳ {c['period']})" for c in results.campaigns]
    # The scope's code closes the line: `python -m analysis verify --report` reads it.
    lines.append(f"Phạm vi: {results.scope_name}"
                 + (f" (mã {results.scope})" if results.scope else ""))
    # The day only: a published file carries no time finer than a day.
    lines.append(f"Lập ngày {datetime.now(LOCAL_TZ):%d/%m/%Y}")
    return lines


def method_lines(results: res.Results) -> list[str]:
    """How every figure of the report was computed, in Vietnamese."""
    lines = [
        "Chỉ số hài lòng theo tiêu chí = 100 × (số ý kiến “Hài lòng” (4) và “Rất hài lòng” "
        "(5)) ÷ (số ý kiến từ 1 đến 5). Ý kiến “Không áp dụng” và câu bỏ trống không tính "
        "vào mẫu số.",
        "Chỉ số theo yếu tố = trung bình cộng chỉ số các tiêu chí của yếu tố; chỉ số hài lòng "
        "về sự phục vụ hành chính (chỉ số chung) = trung bình cộng chỉ số các yếu tố (phương "
        "pháp SIPAS, Quyết định 1001/QĐ-BNV). Tiêu chí không có ý kiến nào được bỏ qua, "
        "không tính là 0. Điểm trung bình (1–5) được trình bày như thước đo thứ hai.",
        "n của tiêu chí là số ý kiến từ 1 đến 5; n của yếu tố và của chỉ số chung là n lớn "
        "nhất trong các tiêu chí của nó (số người trả lời tối thiểu đã góp vào con số đó).",
    ]
    if results.bootstrap:
        lines.append(
            "Khoảng tin cậy 95 %: với tiêu chí là khoảng Wilson; với yếu tố và chỉ số chung là "
            f"khoảng bootstrap phân vị, lấy mẫu lại người trả lời {results.bootstrap} lần "
            f"(hạt giống {results.seed}). Có thể tính lại từ tệp xuất dữ liệu bằng lệnh "
            "python -m analysis indices responses.csv --codebook codebook.csv --out indices.csv"
            f" --bootstrap {results.bootstrap} --seed {results.seed}"
            + (" --exclude-rejected" if results.exclude_rejected else "") + ".")
        if results.cap:
            text = (f"Nhóm có hơn {results.cap} người trả lời được bootstrap trên một mẫu ngẫu "
                    f"nhiên (theo hạt giống) {results.cap} người, đặt quanh chỉ số tính trên "
                    "toàn bộ dữ liệu: khoảng tin cậy của nhóm đó rộng hơn thực tế (thận trọng).")
            if len(results.capped):
                text += " Áp dụng cho: " + ", ".join(
                    f"{results.name(g)} ({t} người)" for g, t in
                    zip(results.capped["group"], results.capped["total"], strict=True)) + "."
            lines.append(text)
    elif results.bootstrap_skipped:
        lines.append("Khoảng tin cậy 95 % của tiêu chí là khoảng Wilson. Đợt có nhiều phiếu nên "
                     "trang web không tính khoảng tin cậy bootstrap cho yếu tố và chỉ số chung "
                     "(để trang hiện nhanh); báo cáo lập bằng lệnh flask report có tính.")
    else:
        lines.append("Khoảng tin cậy 95 % của tiêu chí là khoảng Wilson; báo cáo này không tính "
                     "khoảng tin cậy cho yếu tố và chỉ số chung.")
    lines += [
        f"Cơ quan có n dưới {analysis.MIN_N_FOR_RANKING} vẫn được trình bày nhưng không xếp "
        "hạng: với ít ý kiến như vậy, khoảng tin cậy quá rộng để so sánh các cơ quan.",
        "Chỉ số cộng dồn của một đơn vị cấp trên được tính từ tổng số ý kiến của đơn vị đó và "
        "mọi đơn vị trực thuộc, không phải trung bình chỉ số của các đơn vị.",
    ]
    if results.exclude_rejected:
        lines.append(f"Không tính {results.rejected} phiếu bị loại sau kiểm tra (trạng thái "
                     "“bị loại”); phiếu đang được xem xét vẫn được tính.")
    else:
        lines.append(f"Có tính cả {results.rejected} phiếu bị loại sau kiểm tra.")
    if results.combined:
        lines.append("Báo cáo tổng hợp nhiều đợt: số ý kiến của các đợt được cộng lại như một "
                     "đợt; người trả lời của các đợt được gộp khi tính bootstrap.")
    return lines


# --- tables shared by the HTML view, the workbook and the PDF --------------------------------

def elements_rows(results: res.Results) -> list[list]:
    """The whole scope: one row per element, then the service index (the official
    report's builder: one definition of the table)."""
    return official_tables.elements_table(results.overall, results.codebook).rows


def ranking_rows(results: res.Results, summary: pd.DataFrame | None = None,
                 ranked: bool = True) -> list[list]:
    summary = results.summary if summary is None else summary
    rows = []
    for r in summary.to_dict("records"):
        rank = r.get("rank") if ranked else None
        rows.append([
            "" if rank is None or rank is pd.NA or pd.isna(rank) else int(rank),
            results.name(r["agency_code"]), int(r["n"]), r["index"], r["ci_low"], r["ci_high"],
            *[r[code] for code, _ in results.elements]])
    return rows


def criteria_rows(results: res.Results) -> list[list]:
    return official_tables.criteria_table(results.overall, results.codebook).rows


def _count(value):
    return value if isinstance(value, str) else int(value)


def channel_rows(results: res.Results) -> list[list]:
    """Responses per agency and channel as a report publishes them: small cells hidden
    (:func:`results.disclosed_channel_table`)."""
    table = res.disclosed_channel_table(results)
    return [[results.name(r["agency_code"]), *[_count(r[c]) for c in res.CHANNEL_LABELS],
             int(r["total"]), _count(r["rejected"])] for r in table.to_dict("records")]


def suppression_legend() -> str:
    """What a hidden cell of a published breakdown means."""
    from analysis.disclosure import legend

    return legend(res.min_cell())


def report_charts(results: res.Results, dpi: int = 150) -> dict[str, bytes]:
    return {kind: res.chart(kind, results, "png", dpi=dpi) for kind in REPORT_CHARTS}


# --- XLSX -------------------------------------------------------------------------------

def _xlsx_sheet(book, title, header, rows, widths=None, percent_from=None):
    """A sheet of one table: a bold wrapped header, text never read as a formula, the
    figures from `percent_from` on with one decimal, the header row frozen."""
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws = book.create_sheet(title)
    ws.append(header)
    for c in ws[1]:
        c.font = bold
        c.alignment = wrap
    for row in rows:
        ws.append([res.cell_value(v) for v in row])
        for c in ws[ws.max_row]:
            if isinstance(c.value, str) and c.value.startswith("="):
                c.data_type = "s"  # text, never a formula
    if percent_from is not None:
        # Indices 1 decimal, mean scores 2: the one number format.
        formats = ["0.00" if str(h).startswith("Điểm TB") else "0.0" for h in header]
        for row in ws.iter_rows(min_row=2):
            for c, fmt in zip(row[percent_from:], formats[percent_from:], strict=False):
                if isinstance(c.value, float):
                    c.number_format = fmt
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    ws.freeze_panes = "A2"
    return ws


def _xlsx_overview(book, results: res.Results) -> None:
    """The first sheet: heading, counts, the whole scope's elements, the method."""
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    overview = book.active
    overview.title = "Tổng quan"
    overview.append([REPORT_HEADING])
    overview["A1"].font = Font(bold=True, size=13)
    overview.append([kind_label(results)])
    for line in subtitle(results):
        overview.append([line])
    overview.append([])
    overview.append(["Số phiếu nhận được", results.responses])
    overview.append(["Số phiếu bị loại", results.rejected])
    overview.append(["Số phiếu được tính", results.counted])
    overview.append([])
    overview.append(["Yếu tố", "Tên", "n", "Chỉ số (%)", "KTC 95 % dưới", "KTC 95 % trên",
                     "Điểm TB"])
    for c in overview[overview.max_row]:
        c.font = bold
    for row in elements_rows(results):
        overview.append([res.cell_value(v) for v in row])
        for c in overview[overview.max_row][3:]:
            c.number_format = "0.00" if c.column == 7 else "0.0"
    overview.append([])
    overview.append(["Phương pháp"])
    overview.cell(overview.max_row, 1).font = bold
    for line in method_lines(results):
        overview.append([line])
        overview.cell(overview.max_row, 1).alignment = Alignment(wrap_text=False)
    overview.column_dimensions["A"].width = 14
    overview.column_dimensions["B"].width = 48


def _xlsx_tables(book, results: res.Results) -> None:
    """The sheets of figures: ranking, roll-ups, indices (long), criteria, channels."""
    element_headers = [f"{code} (%)" for code, _ in results.elements]
    _xlsx_sheet(book, "Xếp hạng", ["Hạng", "Cơ quan", "n", "Chỉ số chung (%)",
                                   "KTC 95 % dưới", "KTC 95 % trên", *element_headers],
                ranking_rows(results), [6, 40, 7, 12, 10, 10] + [9] * len(element_headers), 3)
    if len(results.subtree_summary):
        _xlsx_sheet(book, "Cộng dồn", ["", "Đơn vị (gồm đơn vị trực thuộc)", "n",
                                       "Chỉ số chung (%)", "KTC 95 % dưới", "KTC 95 % trên",
                                       *element_headers],
                    ranking_rows(results, results.subtree_summary, ranked=False),
                    [4, 40, 7, 12, 10, 10] + [9] * len(element_headers), 3)
    long = results.agencies.assign(name=results.agencies["agency_code"].map(results.name))
    _xlsx_sheet(book, "Chỉ số", ["Mã cơ quan", "Cơ quan", "Cấp", "Mã", "n", "Số hài lòng",
                                 "Chỉ số (%)", "KTC 95 % dưới", "KTC 95 % trên", "Điểm TB"],
                [[r.agency_code, r.name, LEVEL_LABELS[r.level], r.code, int(r.n),
                  None if pd.isna(r.satisfied) else int(r.satisfied), r.index, r.ci_low,
                  r.ci_high, r.mean_score] for r in long.itertuples()],
                [14, 36, 10, 9, 7, 10, 10, 10, 10, 8], 6)
    distribution = results.distribution()
    labels = _likert_labels()
    criteria = criteria_rows(results)
    _xlsx_sheet(book, "Tiêu chí", ["Mã", "Tiêu chí", "n", "Số hài lòng", "Chỉ số (%)",
                                   "KTC 95 % dưới", "KTC 95 % trên", "Điểm TB", *labels],
                [row + [int(distribution.loc[row[0], s]) for s in range(6)]
                 for row in criteria],
                [6, 60, 7, 10, 10, 10, 10, 8] + [12] * 6, 4)
    channels = _xlsx_sheet(book, "Theo kênh", ["Cơ quan", *res.CHANNEL_LABELS.values(), "Tổng",
                                               "Trong đó bị loại"],
                           channel_rows(results), [40, 14, 14, 14, 14, 10, 12])
    channels.append([])
    channels.append([suppression_legend()])


def _xlsx_info(info, results: res.Results) -> None:
    xlsx_statement(info, results.statement.pairs())


def xlsx_statement(info, pairs) -> None:
    """The sheet stating the ledger checkpoint and the method (INFO_SHEET), one (label,
    value) a row, as the verifier reads it (analysis.report_files.read_xlsx_report); the
    official report's workbook writes the same sheet."""
    from openpyxl.styles import Font

    info.append([res.STATEMENT_HEADING])
    info["A1"].font = Font(bold=True)
    for label, value in pairs:
        info.append([label, value])
    info.column_dimensions["A"].width = 40
    info.column_dimensions["B"].width = 80


def _xlsx_charts(images, charts: dict[str, bytes]) -> None:
    """The charts one below the other, each under its caption, at most 900 px wide."""
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Font

    anchor = 1
    for kind in REPORT_CHARTS:
        images.cell(anchor, 1, CHART_CAPTIONS[kind]).font = Font(bold=True)
        picture = Image(io.BytesIO(charts[kind]))
        scale = min(1.0, 900 / picture.width)
        picture.width, picture.height = picture.width * scale, picture.height * scale
        images.add_image(picture, f"A{anchor + 1}")
        anchor += int(picture.height / 20) + 4


def xlsx(results: res.Results, charts: dict[str, bytes] | None = None) -> bytes:
    """The workbook: overview and method, indices (long), ranking, roll-ups, criteria with
    the answer distribution, channels, charts (as images)."""
    from openpyxl import Workbook

    charts = report_charts(results) if charts is None else charts
    book = Workbook()
    _xlsx_overview(book, results)
    _xlsx_tables(book, results)
    images = book.create_sheet("Biểu đồ")
    _xlsx_info(book.create_sheet(INFO_SHEET), results)
    _xlsx_charts(images, charts)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF --------------------------------------------------------------------------------

class _PdfKit:
    """The PDF's fonts (DejaVu Sans: every Vietnamese letter), paragraph styles and text
    width, and the paragraphs and tables its sections are made of."""

    def __init__(self):
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm

        self.regular, bold_font = fonts.register_fonts()
        self.body = ParagraphStyle("body", fontName=self.regular, fontSize=9.5, leading=12.5,
                                   spaceAfter=3)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=9,
                                    spaceAfter=0)
        self.title = ParagraphStyle("title", parent=self.body, fontName=bold_font, fontSize=13,
                                    leading=17, alignment=1, spaceAfter=6)
        self.centre = ParagraphStyle("centre", parent=self.body, alignment=1)
        self.heading = ParagraphStyle("heading", parent=self.body, fontName=bold_font,
                                      fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
        self.width = A4[0] - 30 * mm

    def p(self, text, style=None):
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        return Paragraph(escape(str(text)), self.small if style is None else style)

    def table(self, header, rows, widths, numeric_from, digits=None):
        from reportlab.lib import colors
        from reportlab.lib.units import mm
        from reportlab.platypus import Table, TableStyle

        data = [[self.p(h) for h in header]]
        for row in rows:
            cells = []
            for i, value in enumerate(row):
                if i >= numeric_from and isinstance(value, float):
                    cells.append(number(value, (digits or {}).get(i, 1)))
                elif isinstance(value, int) and not isinstance(value, bool):
                    cells.append(number(value, 0))
                elif isinstance(value, str) and len(value) > 12:
                    cells.append(self.p(value))
                else:
                    cells.append("" if value is None else str(value))
            data.append(cells)
        t = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), self.regular),
            ("FONTSIZE", (0, 0), (-1, -1), 7.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"),
        ]))
        return t


def _pdf_front(kit: _PdfKit, results: res.Results) -> list:
    """Heading, campaigns and scope, the ledger statement, the counts of responses."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    p = kit.p
    story = [p(REPORT_HEADING, kit.title), p(kind_label(results), kit.centre)]
    story += [p(line, kit.centre) for line in subtitle(results)]
    story.append(Spacer(1, 2 * mm))
    story += [p(line, kit.small) for line in [res.STATEMENT_HEADING + ":",
                                              *results.statement_lines()]]
    story.append(Spacer(1, 4 * mm))
    story.append(p(f"Số phiếu nhận được: {number(results.responses, 0)}; bị loại: "
                   f"{number(results.rejected, 0)}; được tính: {number(results.counted, 0)}.",
                   kit.body))
    return story


def _pdf_tables(kit: _PdfKit, results: res.Results) -> list:
    """Sections I–V: elements, ranking, roll-ups, criteria, channels."""
    from reportlab.lib.units import mm

    p, table = kit.p, kit.table
    story = [p("I. Chỉ số chung và theo yếu tố", kit.heading)]
    story.append(table(["Mã", "Yếu tố", "n", "Chỉ số (%)", "KTC 95 % dưới", "KTC 95 % trên",
                        "Điểm TB"], elements_rows(results), [12, 78, 14, 18, 20, 20, 16], 3,
                       {6: 2}))
    element_codes = [code for code, _ in results.elements]
    story.append(p("II. Chỉ số theo cơ quan (xếp hạng)", kit.heading))
    story.append(p(f"Hạng để trống: n dưới {analysis.MIN_N_FOR_RANKING}, chưa đủ để xếp hạng. "
                   "Các cột yếu tố là chỉ số (%) của từng yếu tố.", kit.body))
    ranking_header = ["Hạng", "Cơ quan", "n", "Chỉ số chung", "KTC dưới", "KTC trên",
                      *element_codes]
    widths = [12, 54, 10, 16, 14, 14] + [(kit.width / mm - 120) / max(1, len(element_codes))] \
        * len(element_codes)
    story.append(table(ranking_header, ranking_rows(results), widths, 3))
    if len(results.subtree_summary):
        story.append(p("III. Chỉ số cộng dồn theo đơn vị cấp trên", kit.heading))
        story.append(table(["", "Đơn vị (gồm đơn vị trực thuộc)", "n", "Chỉ số chung",
                            "KTC dưới", "KTC trên", *element_codes],
                           ranking_rows(results, results.subtree_summary, ranked=False),
                           widths, 3))
    story.append(p("IV. Chỉ số theo tiêu chí", kit.heading))
    story.append(table(["Mã", "Tiêu chí", "n", "Số hài lòng", "Chỉ số (%)", "KTC dưới",
                        "KTC trên", "Điểm TB"], criteria_rows(results),
                       [10, 74, 11, 14, 15, 14, 14, 13], 4, {7: 2}))
    story.append(p("V. Số phiếu theo kênh", kit.heading))
    story.append(table(["Cơ quan", *res.CHANNEL_LABELS.values(), "Tổng", "Bị loại"],
                       channel_rows(results),
                       [54, *[14] * len(res.CHANNEL_LABELS), 14, 14], 1))
    story.append(p(suppression_legend(), kit.body))
    return story


def _pdf_charts(kit: _PdfKit, charts: dict[str, bytes]) -> list:
    """Section VI: each chart scaled to the text width (at most 200 mm high), captioned."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, KeepTogether, Spacer

    story = [kit.p("VI. Biểu đồ", kit.heading)]
    for kind in REPORT_CHARTS:
        picture = Image(io.BytesIO(charts[kind]))
        scale = min(kit.width / picture.imageWidth, 200 * mm / picture.imageHeight)
        picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, \
            picture.imageHeight * scale
        story.append(KeepTogether([picture, kit.p(CHART_CAPTIONS[kind], kit.body)]))
        story.append(Spacer(1, 4 * mm))
    return story


def pdf(results: res.Results, charts: dict[str, bytes] | None = None) -> bytes:
    """The printable report: A4, DejaVu Sans (every Vietnamese letter), charts embedded."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    charts = report_charts(results) if charts is None else charts
    kit = _PdfKit()
    story = _pdf_front(kit, results) + _pdf_tables(kit, results) + _pdf_charts(kit, charts)
    story.append(kit.p("VII. Phương pháp", kit.heading))
    story += [kit.p(line, kit.body) for line in method_lines(results)]

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(kit.regular, 7.5)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"Trang {doc.page}")
        canvas.drawString(15 * mm, 10 * mm, results.title[:90])
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm, title=results.title,
                            author="Khảo sát sự hài lòng")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
