"""What ``python -m analysis verify --report`` says about a published report: its
statement, its file, its verdict and what differs (see :mod:`analysis.messages`)."""

REPORT: dict[str, dict[str, str]] = {
    # --- a report's statement --------------------------------------------------------------
    "statement.not_whole": {
        "vi": "{label}: {value!r} không phải số nguyên",
        "en": "{label}: {value!r} is not a whole number"},
    "statement.negative": {
        "vi": "{label}: {value!r} là số âm",
        "en": "{label}: {value!r} is negative"},
    "statement.not_digest": {
        "vi": "{label}: {value!r} không phải chuỗi mốc kiểm tra",
        "en": "{label}: {value!r} is not a checkpoint digest"},
    "statement.lacks": {
        "vi": "phần ghi chú thiếu: {labels}",
        "en": "the statement lacks: {labels}"},
    "statement.rejected": {
        "vi": "{label}: {value!r} không phải {out!r} cũng không phải {inside!r}",
        "en": "{label}: {value!r} is neither {out!r} nor {inside!r}"},
    "statement.at_least_1": {
        "vi": "{label}: phải từ 1 trở lên",
        "en": "{label}: must be at least 1"},
    # --- verify --report: the file ---------------------------------------------------------
    "report.not_readable_kind": {
        "vi": "{path}: không phải tệp báo cáo mà lệnh này đọc được ({kinds})",
        "en": "{path}: not a report file this command reads ({kinds})"},
    "report.no_file": {
        "vi": "{path}: không có tệp này",
        "en": "{path}: no such file"},
    "report.mistyped": {
        "vi": "{path}: {reason}",
        "en": "{path}: {reason}"},
    "report.statement": {
        "vi": "{path}: phần ghi mốc kiểm tra sổ cái và phương pháp không đọc được: {reason}",
        "en": "{path}: the statement of the ledger checkpoint and method is not readable: "
              "{reason}"},
    "report.no_statement": {
        "vi": "{path}: tệp không ghi mốc kiểm tra sổ cái nào: đây không phải báo cáo của nền "
              "tảng khảo sát, hoặc được tạo trước khi báo cáo ghi mốc này",
        "en": "{path}: the file states no ledger checkpoint: it is not a report of the survey "
              "platform, or was made before reports stated one"},
    "report.not_utf8": {
        "vi": "{path}: không phải tệp văn bản UTF-8",
        "en": "{path}: not a UTF-8 text file"},
    "report.not_xlsx": {
        "vi": "{path}: không phải bảng tính XLSX đọc được ({reason})",
        "en": "{path}: not a readable XLSX workbook ({reason})"},
    "report.not_docx": {
        "vi": "{path}: không đọc được tệp Word ({reason})",
        "en": "{path}: not a readable Word document ({reason})"},
    "report.no_sheet": {
        "vi": "{path}: bảng tính không có trang {sheet!r}",
        "en": "{path}: the workbook has no sheet {sheet!r}"},
    "report.sheet_columns": {
        "vi": "{path}: trang {sheet!r} thiếu các cột {columns}",
        "en": "{path}: sheet {sheet!r} lacks the columns {columns}"},
    "report.no_pdftotext": {
        "vi": "{path}: muốn đọc báo cáo PDF cần chương trình pdftotext (gói poppler-utils), "
              "nhưng không tìm thấy trong PATH; hãy cài đặt, hoặc kiểm tra báo cáo XLSX được "
              "tạo với cùng thiết lập",
        "en": "{path}: reading a PDF report needs the program pdftotext (package "
              "poppler-utils), which is not on PATH; install it or check the XLSX report "
              "made with the same settings"},
    "report.pdftotext_failed": {
        "vi": "{path}: pdftotext bị lỗi ({reason})",
        "en": "{path}: pdftotext failed ({reason})"},
    "report.not_pdf": {
        "vi": "{path}: không phải tệp PDF đọc được (pdftotext: {reason})",
        "en": "{path}: not a readable PDF file (pdftotext: {reason})"},
    "report.tree_lacks": {
        "vi": "agencies.csv của gói kiểm toán thiếu các cơ quan có phiếu trả lời: {codes}",
        "en": "agencies.csv of the bundle lacks agencies that have responses: {codes}"},
    "report.scope": {
        "vi": "phạm vi {scope} của báo cáo không phải một cơ quan trong gói kiểm toán",
        "en": "the report's scope {scope} is not an agency of the bundle"},
    "report.unrelated": {
        "vi": "{path}: báo cáo thuộc (các) đợt khảo sát {wanted}, còn (các) gói kiểm toán "
              "thuộc {given}: chúng không liên quan với nhau",
        "en": "{path}: the report is about campaign(s) {wanted}, the bundle(s) about "
              "{given}: they are unrelated"},
    "report.missing_bundles": {
        "vi": "{path}: báo cáo gộp các đợt khảo sát {wanted}: hãy đưa gói kiểm toán của từng "
              "đợt (còn thiếu: {lacking})",
        "en": "{path}: a combined report of campaigns {wanted}: give the audit bundle of each "
              "(missing: {lacking})"},
    "report.beyond": {
        "vi": "báo cáo được tính ở một trạng thái sổ cái mà gói kiểm toán không chứa: mục "
              "{seq}, trong khi sổ cái của gói có {entries} mục (hãy xuất gói mới hơn)",
        "en": "the report was computed at a ledger state the bundle does not contain: entry "
              "{seq}, and the bundle's ledger has {entries} entries (export a newer bundle)"},
    "report.rewritten": {
        "vi": "báo cáo được tính ở một trạng thái sổ cái mà gói kiểm toán không chứa: mục "
              "{seq} của gói không khớp với chuỗi {digest} (sổ cái đã bị viết lại sau khi báo "
              "cáo được tạo, hoặc chuỗi này thuộc một sổ cái khác)",
        "en": "the report was computed at a ledger state the bundle does not contain: its "
              "entry {seq} does not match the digest {digest} (the ledger was rewritten after "
              "the report was made, or the digest is of another ledger)"},
    # --- verify --report: the verdict and what differs -------------------------------------
    "report.failed_problem": {
        "vi": "{path}: {problem}",
        "en": "{path}: {problem}"},
    "report.not_fully": {
        "vi": "{path} (mốc kiểm tra sổ cái {marks}): đã kiểm tra {checked} số liệu, tất cả "
              "đều khớp, nhưng {unchecked} phần không kiểm tra được với gói kiểm toán này",
        "en": "{path} (ledger checkpoint {marks}): {checked} figures checked, all agree, but "
              "{unchecked} part(s) could not be checked with this bundle"},
    "report.ok": {
        "vi": "{path} (mốc kiểm tra sổ cái {marks}): đã kiểm tra {checked} số liệu, tất cả "
              "đều khớp.",
        "en": "{path} (ledger checkpoint {marks}): {checked} figures checked, all agree."},
    "report.failed": {
        "vi": "{path} (mốc kiểm tra sổ cái {marks}): {count} trong {checked} số liệu khác với "
              "kết quả tính lại từ gói kiểm toán",
        "en": "{path} (ledger checkpoint {marks}): {count} of {checked} figures differ from "
              "their recomputation from the bundle"},
    "report.table_missing": {
        "vi": "{table}: bảng này không có trong báo cáo",
        "en": "{table}: the report lacks this table"},
    "report.table_rows": {
        "vi": "{table}: báo cáo có {published} dòng, tính lại được {recomputed} dòng",
        "en": "{table}: the report has {published} rows, the recomputation {recomputed}"},
    "report.table_header": {
        "vi": "{table}: tiêu đề cột {published!r}, tính lại được {recomputed!r}",
        "en": "{table}: column titles {published!r}, recomputed {recomputed!r}"},
    "report.official_unchecked": {
        "vi": "{table}: không tính lại được từ gói kiểm toán ({why})",
        "en": "{table}: cannot be recomputed from the audit bundle ({why})"},
    "why.planned": {"vi": "cỡ mẫu kế hoạch không có trong gói",
                    "en": "planned sample sizes are not in the bundle"},
    "why.issuance": {"vi": "sổ phát phiếu không có trong gói",
                     "en": "the issuance register is not in the bundle"},
    "why.flags": {"vi": "cảnh báo tính theo ngưỡng của hệ thống, xem lệnh flags",
                  "en": "flags depend on the system's thresholds; see the flags command"},
    "why.baseline": {"vi": "cần gói kiểm toán của kỳ trước",
                     "en": "needs the earlier period's audit bundle"},
    "why.released": {"vi": "việc công bố ý kiến không có trong gói",
                     "en": "comment releases are not in the bundle"},
    "why.tree": {"vi": "gói không có loại cơ quan trong agencies.csv",
                 "en": "the bundle's agencies.csv has no agency kinds"},
    "where.table_row": {"vi": "{table}, dòng {number}", "en": "{table}, row {number}"},
    "report.figure": {
        "vi": "{name} ({where}): báo cáo ghi {published}, tính lại được {recomputed}",
        "en": "{name} ({where}): published {published}, recomputed {recomputed}"},
    "report.not_number": {
        "vi": "{name} ({where}): giá trị báo cáo ghi {published!r} không phải là số",
        "en": "{name} ({where}): published {published!r} is not a number"},
    "report.empty": {
        "vi": "(trống)",
        "en": "(empty)"},
    "report.no_such_figure": {
        "vi": "{name} ({where}): có trong báo cáo, nhưng các phiếu trả lời của gói kiểm toán "
              "không cho ra số liệu này",
        "en": "{name} ({where}): published, but the bundle's responses give no such figure"},
    "report.not_published": {
        "vi": "{name}: tính lại được, nhưng không có trong trang {sheet}",
        "en": "{name}: recomputed, but not published in sheet {sheet}"},
    "report.row_missing": {
        "vi": "{where}: {label}: tính lại được, nhưng báo cáo không có dòng này",
        "en": "{where}: {label}: recomputed, but the report has no such row"},
    "report.row_extra": {
        "vi": "{where}: báo cáo ghi {row!r}, nhưng kết quả tính lại không có dòng này",
        "en": "{where}: published {row!r}, but the recomputation has no such row"},
    "report.unknown_agency": {
        "vi": "{sheet}: báo cáo ghi cơ quan {shown!r} ({where}), nhưng cơ quan này không có "
              "phiếu trả lời nào trong gói kiểm toán",
        "en": "{sheet}: published agency {shown!r} ({where}), but it has no responses in the "
              "bundle"},
    "report.ambiguous_agency": {
        "vi": "{sheet}: báo cáo ghi cơ quan {shown!r} ({where}), nhưng nhiều cơ quan trong "
              "gói kiểm toán có tên này",
        "en": "{sheet}: published agency {shown!r} ({where}), but several agencies of the "
              "bundle have that name"},
    "report.agency_no_row": {
        "vi": "{sheet}, cơ quan {code}: có phiếu trả lời trong gói kiểm toán, nhưng báo cáo "
              "không có dòng nào",
        "en": "{sheet}, agency {code}: has responses in the bundle, but no row in the report"},
    "report.no_sheet_here": {
        "vi": "trang {sheet}: bảng tính không có trang này",
        "en": "sheet {sheet}: the workbook has no such sheet"},
    "report.sheet_no_tree": {
        "vi": "trang {sheet}: không kiểm tra được với gói kiểm toán này (gói không có "
              "agencies.csv, cây cơ quan dùng để cộng dồn: hãy xuất gói mới hơn)",
        "en": "sheet {sheet}: not checkable with this bundle (it has no agencies.csv, the "
              "agency tree the roll-ups are computed over: export a newer bundle)"},
    "report.pdf_counts": {
        "vi": "PDF: không tìm thấy dòng ghi số phiếu trả lời",
        "en": "PDF: the line of response counts was not found"},
    "report.pdf_names": {
        "vi": "bảng II và V của PDF: tên các cơ quan (gói kiểm toán không có agencies.csv): "
              "các dòng của bảng II được so theo thứ tự, bảng V không được so",
        "en": "PDF tables II and V: the agencies' names (the bundle has no agencies.csv): the "
              "rows of table II are compared in order, table V not at all"},
    "report.pdf_no_tree": {
        "vi": "bảng {table} của PDF: không kiểm tra được với gói kiểm toán này (gói không có "
              "agencies.csv, cây cơ quan: hãy xuất gói mới hơn)",
        "en": "PDF table {table}: not checkable with this bundle (it has no agencies.csv, the "
              "agency tree: export a newer bundle)"},
    # names of figures and places in a report, inside the lines above
    "where.line": {"vi": "dòng {number}", "en": "line {number}"},
    "where.row": {"vi": "dòng {number}", "en": "row {number}"},
    "where.sheet_row": {"vi": "trang {sheet}, dòng {number}",
                        "en": "sheet {sheet}, row {number}"},
    "where.page": {"vi": "trang {number}", "en": "page {number}"},
    "where.sheet": {"vi": "trang {sheet}", "en": "sheet {sheet}"},
    "where.pdf_table": {"vi": "bảng {table} của PDF", "en": "PDF table {table}"},
    "name.agency": {"vi": "cơ quan {code}", "en": "agency {code}"},
    "name.unit": {"vi": "đơn vị {code} cùng các đơn vị trực thuộc",
                  "en": "unit {code} with its subordinate units"},
    "name.criterion": {"vi": "tiêu chí {code}", "en": "criterion {code}"},
    "name.element": {"vi": "yếu tố {code}", "en": "element {code}"},
    "name.service": {"vi": "chỉ số chung {code}", "en": "service {code}"},
    "name.responses": {"vi": "số phiếu {which}", "en": "responses {which}"},
}
