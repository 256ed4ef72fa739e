"""What ``python -m analysis`` says on its command line, when it resamples an audit and
when it reads an export: templates by key and language (see :mod:`analysis.messages`)."""

CLI: dict[str, dict[str, str]] = {
    # --- command line --------------------------------------------------------------------
    "cli.error": {
        "vi": "{prog}: lỗi: {message}",
        "en": "{prog}: error: {message}"},
    "cli.usage": {
        "vi": "cách dùng: ",
        "en": "usage: "},
    "cli.description": {
        "vi": "Phân tích khảo sát mức độ hài lòng.",
        "en": "Satisfaction survey analysis."},
    "cli.lang": {
        "vi": "ngôn ngữ của thông báo: vi (tiếng Việt, mặc định) hoặc en; mặc định lấy từ "
              "biến môi trường SURVEY_ANALYSIS_LANG",
        "en": "language of the messages: vi (Vietnamese, the default) or en; the default "
              "comes from the environment variable SURVEY_ANALYSIS_LANG"},
    # help texts (argparse: a literal percent sign is written %%)
    "cli.positionals": {"vi": "tham số vị trí", "en": "positional arguments"},
    "cli.options": {"vi": "tuỳ chọn", "en": "options"},
    "cli.help": {"vi": "in hướng dẫn này rồi thoát", "en": "show this help message and exit"},
    "help.draw_seed": {
        "vi": "hạt giống của lần rút mẫu",
        "en": "the seed of the draw"},
    "help.indices": {
        "vi": "tính chỉ số tiêu chí, yếu tố và chỉ số chung từ dữ liệu xuất",
        "en": "compute criterion, element and service indices from an export"},
    "help.exclude_rejected": {
        "vi": "bỏ các phiếu trả lời bị loại khi xét duyệt",
        "en": "leave out responses reviewed as rejected"},
    "help.bootstrap": {
        "vi": "số lần lặp bootstrap cho khoảng tin cậy của yếu tố và chỉ số chung",
        "en": "bootstrap replicates for element and service intervals"},
    "help.bootstrap_seed": {
        "vi": "hạt giống bootstrap (mặc định 0)",
        "en": "bootstrap seed (default 0)"},
    "help.sample_size": {
        "vi": "in cỡ mẫu cho một tổng thể",
        "en": "print the sample size for a population"},
    "help.population": {
        "vi": "quy mô tổng thể",
        "en": "population size"},
    "help.margin": {
        "vi": "sai số cho phép (mặc định 0.05)",
        "en": "margin of error (default 0.05)"},
    "help.method": {
        "vi": "công thức (mặc định yamane)",
        "en": "formula (default yamane)"},
    "help.verify": {
        "vi": "kiểm tra gói kiểm toán: chuỗi băm, phiếu trả lời, mốc kiểm tra, nhật ký thay "
              "đổi",
        "en": "check an audit bundle: hash chain, responses, checkpoints, audit log"},
    "help.bundles": {
        "vi": "gói kiểm toán; với báo cáo gộp, gói của từng đợt khảo sát trong báo cáo",
        "en": "the audit bundle; for a combined report, the bundle of each of its campaigns"},
    "help.checkpoint": {
        "vi": "chuỗi mốc kiểm tra lưu bên ngoài hệ thống, ví dụ "
              "demo#1234:3f2a-91bc-07de-55aa-c0e1-d (ký tự cuối dùng để kiểm tra nó)",
        "en": "a checkpoint digest kept outside the system, e.g. "
              "demo#1234:3f2a-91bc-07de-55aa-c0e1-d (its last character checks it)"},
    "help.report": {
        "vi": "kiểm tra thêm một báo cáo đã công bố (tệp chỉ số CSV, báo cáo XLSX hoặc PDF): "
              "tính lại số liệu từ (các) gói kiểm toán tại (các) mốc kiểm tra sổ cái mà báo "
              "cáo ghi",
        "en": "also check a published report (indices CSV, XLSX or PDF report): recompute "
              "its figures from the bundle(s) as of the ledger checkpoint(s) it states"},
    "help.resample": {
        "vi": "tính lại lần rút mẫu phúc tra từ gói kiểm toán và hạt giống của nó",
        "en": "recompute a re-verification draw from an audit bundle and its seed"},
    "help.rate": {
        "vi": "ví dụ 0.1 cho 10 %%",
        "en": "e.g. 0.1 for 10 %%"},
    "help.oversample": {
        "vi": "trọng số của các bản ghi bị gắn cờ (mặc định: như đã ghi, nếu không thì 2)",
        "en": "weight of flagged records (default: as recorded, else 2)"},
    "help.sample_out": {
        "vi": "ghi thêm mã các phiếu trả lời được rút ra thành tệp CSV",
        "en": "also write the drawn response ids as CSV"},
    "argparse.argument": {
        "vi": "tham số {name}: {message}",
        "en": "argument {name}: {message}"},
    "argparse.required": {
        "vi": "thiếu các tham số bắt buộc: {names}",
        "en": "the following arguments are required: {names}"},
    "argparse.choice": {
        "vi": "lựa chọn không hợp lệ: {value} (chọn một trong: {choices})",
        "en": "invalid choice: {value} (choose from {choices})"},
    "argparse.unrecognized": {
        "vi": "tham số không nhận ra: {args}",
        "en": "unrecognized arguments: {args}"},
    "argparse.one_value": {
        "vi": "cần một giá trị",
        "en": "expected one argument"},
    "arg.not_whole": {
        "vi": "không phải số nguyên: {text!r}",
        "en": "not a whole number: {text!r}"},
    "arg.not_number": {
        "vi": "không phải là số: {text!r}",
        "en": "not a number: {text!r}"},
    "arg.at_least_1": {
        "vi": "phải từ 1 trở lên: {text!r}",
        "en": "must be at least 1: {text!r}"},
    "arg.not_negative": {
        "vi": "không được là số âm: {text!r}",
        "en": "must not be negative: {text!r}"},
    "arg.margin": {
        "vi": "phải nằm giữa 0 và 1: {text!r}",
        "en": "must be between 0 and 1: {text!r}"},
    "arg.rate": {
        "vi": "phải lớn hơn 0 và không quá 1: {text!r}",
        "en": "must be more than 0 and at most 1: {text!r}"},
    "sample.population_required": {
        "vi": "phương pháp yamane cần --population",
        "en": "--population is required for the yamane method"},
    "verify.one_bundle": {
        "vi": "--checkpoint chỉ kiểm tra một gói kiểm toán: chỉ đưa một BUNDLE kèm theo nó",
        "en": "--checkpoint checks one bundle: give one BUNDLE with it"},
    "os.not_found": {
        "vi": "không có tệp hoặc thư mục này: {file}",
        "en": "No such file or directory: {file}"},
    "os.permission": {
        "vi": "không có quyền truy cập: {file}",
        "en": "Permission denied: {file}"},
    "os.is_dir": {
        "vi": "đây là một thư mục, không phải tệp: {file}",
        "en": "Is a directory: {file}"},
    "os.not_dir": {
        "vi": "không phải là thư mục: {file}",
        "en": "Not a directory: {file}"},
    "os.other": {
        "vi": "{reason}: {file}",
        "en": "{reason}: {file}"},
    # --- resample ------------------------------------------------------------------------
    "resample.recorded": {
        "vi": "Lần rút mẫu được ghi ở mục {seq} của sổ cái: hạt giống {seed}, tỷ lệ {rate}, "
              "bản ghi bị gắn cờ x{oversample}, {population} phiếu liên lạc lại được trong "
              "{considered} phiếu trả lời được nối chuỗi đến mục {as_of}.",
        "en": "Draw recorded in ledger entry {seq}: seed {seed}, rate {rate}, flagged records "
              "x{oversample}, {population} re-contactable of the {considered} responses "
              "chained up to entry {as_of}."},
    "resample.unrecorded": {
        "vi": "Sổ cái không ghi lần rút mẫu nào với hạt giống {seed} và tỷ lệ {rate}: rút từ "
              "{population} phiếu liên lạc lại được trong {considered} phiếu trả lời của gói "
              "({flagged} phiếu bị gắn cờ trong audit.csv).",
        "en": "No draw with seed {seed} and rate {rate} is recorded in the ledger: drawing "
              "from the {population} re-contactable of the {considered} responses of the "
              "bundle ({flagged} flagged in audit.csv)."},
    "resample.recomputed": {
        "vi": "Tính lại: {selected} trên {population} bản ghi{verdict}.",
        "en": "Recomputed: {selected} of {population} records{verdict}."},
    "resample.match": {
        "vi": " — MATCH: đúng các bản ghi mà sổ cái nêu",
        "en": " — MATCH: the same records as the ledger names"},
    "resample.mismatch": {
        "vi": " — MISMATCH: sổ cái nêu các bản ghi khác",
        "en": " — MISMATCH: the ledger names other records"},
    "resample.flags_changed": {
        "vi": "audit.csv hiện gắn cờ {now} trong các bản ghi này; lần rút mẫu đã dùng {then} "
              "bản ghi bị gắn cờ lúc rút (như sổ cái ghi)",
        "en": "audit.csv now flags {now} of these records; the draw used the {then} flagged "
              "when it was made (as the ledger records)"},
    "resample.older_bundle": {
        "vi": "audit.csv không có các cột paper_form/phone_kept (gói kiểm toán cũ): rút từ "
              "mọi phiếu trả lời",
        "en": "audit.csv has no paper_form/phone_kept columns (an older bundle): drawing "
              "from every response"},
    "resample.responses_columns": {
        "vi": "responses.csv thiếu cột response_id/agency_code/channel",
        "en": "responses.csv lacks response_id/agency_code/channel"},
    "resample.audit_columns": {
        "vi": "audit.csv không có các cột {columns}",
        "en": "audit.csv does not have the columns {columns}"},
    "resample.paper_form": {
        "vi": "audit.csv thiếu cột paper_form mà lần rút mẫu này cần",
        "en": "audit.csv lacks the paper_form column this draw needs"},
    # --- reading exports (indices) ---------------------------------------------------------
    "io.unreadable_csv": {
        "vi": "{path}: không phải tệp CSV UTF-8 đọc được ({reason})",
        "en": "{path}: not a readable UTF-8 CSV file ({reason})"},
    "io.missing_columns": {
        "vi": "{what}: thiếu các cột: {columns}",
        "en": "{what}: missing columns: {columns}"},
    "io.item_not_integer": {
        "vi": "{what}: {column} không phải số nguyên ở câu hỏi {item}",
        "en": "{what}: {column} is not an integer for item {item}"},
    "io.empty_item": {
        "vi": "{what}: item_code bị trống",
        "en": "{what}: empty item_code"},
    "io.duplicate_item": {
        "vi": "{what}: item_code {item} bị lặp",
        "en": "{what}: duplicate item_code {item}"},
    "io.no_element": {
        "vi": "{what}: câu hỏi về mức độ hài lòng không có element_code",
        "en": "{what}: satisfaction item without element_code"},
    "io.scale": {
        "vi": "{what}: câu hỏi về mức độ hài lòng {item} không dùng thang {low}-{high}",
        "en": "{what}: satisfaction item {item} is not on the {low}-{high} scale"},
    "io.value": {
        "vi": "cột {column}: giá trị {value!r} (phiếu trả lời {rid}) không phải số nguyên từ "
              "{low} đến {high}",
        "en": "column {column}: value {value!r} (response {rid}) is not an integer from {low} "
              "to {high}"},
    "io.times": {
        "vi": "cột submitted_at: không phải thời điểm theo ISO 8601 ({reason})",
        "en": "column submitted_at: not ISO 8601 times ({reason})"},
    "io.ids": {
        "vi": "{what}: response_id bị trống hoặc bị lặp",
        "en": "{what}: response_id is empty or repeated"},
    "io.empty_agency": {
        "vi": "{what}: agency_code bị trống",
        "en": "{what}: empty agency_code"},
    "io.unknown_values": {
        "vi": "{what}: giá trị {column} không xác định: {shown}",
        "en": "{what}: unknown {column} value(s): {shown}"},
}
