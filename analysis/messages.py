"""What ``python -m analysis`` says to its user, in Vietnamese (the default) or English:
each message once, as a ``str.format`` template per language, looked up by key.

The language is chosen by ``--lang`` on the command line, else the environment variable
``SURVEY_ANALYSIS_LANG``, else Vietnamese. Messages are formatted when something is said
(a finding, an error), never per record checked. A verdict line starts with a fixed
English keyword (``OK:``, ``FAILED:``, ``ALTERED:`` …) that is not part of these
templates, so that scripts read the same token in either language.
"""

from __future__ import annotations

import contextlib
import errno
import os

LANGUAGES = ("vi", "en")
ENV = "SURVEY_ANALYSIS_LANG"


def default_language() -> str:
    value = os.environ.get(ENV, "").strip().lower()
    return value if value in LANGUAGES else "vi"


_language = default_language()


def language() -> str:
    return _language


def set_language(lang: str) -> None:
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _language = lang


@contextlib.contextmanager
def using(lang: str):
    """Speak `lang` inside the block, and the language before it afterwards."""
    before = _language
    set_language(lang)
    try:
        yield
    finally:
        set_language(before)


def say(key: str, **fields) -> str:
    """Message `key` in the current language, its fields filled in."""
    return MESSAGES[key][_language].format(**fields)


def os_reason(exc: OSError) -> str:
    """An operating-system error as "what went wrong: file" in the current language."""
    key = {errno.ENOENT: "os.not_found", errno.EACCES: "os.permission",
           errno.EISDIR: "os.is_dir", errno.ENOTDIR: "os.not_dir"}.get(exc.errno)
    if key is not None and (_language == "vi" or not exc.strerror):
        return say(key, file=exc.filename)
    return say("os.other", reason=exc.strerror or str(exc), file=exc.filename)


MESSAGES: dict[str, dict[str, str]] = {
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
    # --- verify: the verdict ---------------------------------------------------------------
    "verify.ok": {
        "vi": "đợt khảo sát {campaign}: đã kiểm tra {entries} mục sổ cái ({responses} phiếu "
              "trả lời, {events} sự kiện sau đó) và {checkpoints} mốc kiểm tra, tất cả đều khớp.",
        "en": "campaign {campaign}: {entries} ledger entries ({responses} responses, {events} "
              "later events) and {checkpoints} checkpoints verified."},
    "verify.failed": {
        "vi": "đợt khảo sát {campaign}: {count} vấn đề",
        "en": "campaign {campaign}: {count} problem(s)"},
    "more": {
        "vi": "… và {count} mục nữa",
        "en": "… and {count} more"},
    "audit.none": {
        "vi": "gói kiểm toán không có audit_log.csv (gói được tạo trước khi nhật ký thay đổi "
              "được nối chuỗi): không kiểm tra.",
        "en": "the bundle has no audit_log.csv (a bundle made before the audit log was "
              "chained): not checked."},
    "audit.summary": {
        "vi": "đã kiểm tra {entries} mục; {events} sự kiện về tài khoản, vai trò, đặt lại, "
              "vô hiệu hoá hoặc thiết lập:",
        "en": "{entries} entries checked; {events} account, role, reset, disabling or setting "
              "event(s):"},
    "digest.unchecked": {
        "vi": "chuỗi mốc kiểm tra không có ký tự kiểm tra (được ghi trước khi có ký tự này), "
              "nên không kiểm tra được việc chép lại có đúng không",
        "en": "the digest has no check character (written before they were added), so whether "
              "it was copied correctly could not be checked"},
    # --- verify: bad bundles ---------------------------------------------------------------
    "bundle.no_member": {
        "vi": "gói kiểm toán không có {name}",
        "en": "the bundle has no {name}"},
    "bundle.cannot_open": {
        "vi": "không mở được {path} như một gói kiểm toán: {reason}",
        "en": "cannot open {path} as an audit bundle: {reason}"},
    "bundle.not_zip": {
        "vi": "không phải tệp ZIP",
        "en": "File is not a zip file"},
    "bundle.no_manifest": {
        "vi": "gói kiểm toán không có manifest.json đọc được",
        "en": "the bundle has no readable manifest.json"},
    "bundle.columns": {
        "vi": "{name} không có các cột như quy định",
        "en": "{name} does not have the expected columns"},
    "bundle.responses_header": {
        "vi": "responses.csv không khớp định dạng xuất dữ liệu và bảng mã (codebook) của nó",
        "en": "responses.csv does not match the export format and its codebook"},
    "bundle.checkpoint_seq": {
        "vi": "checkpoints.csv có một dòng không có số thứ tự mục",
        "en": "checkpoints.csv has a row without an entry number"},
    "bundle.unreadable": {
        "vi": "gói kiểm toán thiếu manifest, codebook hoặc sổ cái đọc được ({reason})",
        "en": "the bundle lacks a readable manifest, codebook or ledger ({reason})"},
    "bundle.agencies_unreadable": {
        "vi": "agencies.csv không đọc được ({reason})",
        "en": "agencies.csv is not readable ({reason})"},
    "bundle.agencies_columns": {
        "vi": "agencies.csv không có các cột code, name, parent_code",
        "en": "agencies.csv does not have the columns code, name, parent_code"},
    "bundle.ledger_width": {
        "vi": "ledger.csv: một dòng có {count} trường",
        "en": "ledger.csv: a line of {count} fields"},
    "hashing.failed": {
        "vi": "tiến trình kiểm tra mã băm của sổ cái bị lỗi: {reason}",
        "en": "the process checking the ledger's hashes failed: {reason}"},
    "hashing.no_result": {
        "vi": "tiến trình kết thúc mà không có kết quả",
        "en": "it ended without a result"},
    "hashing.stopped": {
        "vi": "tiến trình thứ nhất đã ngừng gửi sổ cái",
        "en": "the first process stopped sending the ledger"},
    # --- verify: findings ------------------------------------------------------------------
    "ledger.jump": {
        "vi": "số thứ tự sổ cái nhảy từ {before} lên {seq}",
        "en": "ledger sequence jumps from {before} to {seq}"},
    "ledger.jump_missing": {
        "vi": "số thứ tự sổ cái nhảy từ {before} lên {seq} (thiếu các mục {first}–{last})",
        "en": "ledger sequence jumps from {before} to {seq} (entries {first}–{last} missing)"},
    "ledger.not_following": {
        "vi": "mục sổ cái {seq} ({ref}) không nối tiếp mục {before}: một mục đã bị chèn, xoá "
              "hoặc di chuyển trước nó",
        "en": "ledger entry {seq} ({ref}) does not follow entry {before}: an entry was "
              "inserted, removed or moved before it"},
    "ledger.hash": {
        "vi": "mục sổ cái {seq} ({kind} {ref}) không khớp với mã băm của nó",
        "en": "ledger entry {seq} ({kind} {ref}) does not match its hash"},
    "ledger.unreadable_payload": {
        "vi": "mục sổ cái {seq} có nội dung không đọc được",
        "en": "ledger entry {seq} has an unreadable payload"},
    "ledger.malformed": {
        "vi": "dòng sổ cái sai định dạng sau seq {seq}",
        "en": "malformed ledger line after seq {seq}"},
    "correction.orphan": {
        "vi": "mục sổ cái {seq}: một lần sửa phiếu trả lời {rid!r}, phiếu này không có mục "
              "phiếu trả lời nào trước đó trong sổ cái",
        "en": "ledger entry {seq}: a correction of response {rid!r}, which has no earlier "
              "response entry in the ledger"},
    "correction.unknown_item": {
        "vi": "mục sổ cái {seq}: lần sửa phiếu trả lời {rid} nêu một câu hỏi không có trong "
              "bảng mã: {code!r}",
        "en": "ledger entry {seq}: correction of response {rid} names an item not in the "
              "codebook: {code!r}"},
    "correction.mismatch": {
        "vi": "mục sổ cái {seq}: lần sửa phiếu trả lời {rid} đổi {code} từ {before!r}, nhưng "
              "câu trả lời đã ghi là {recorded!r}",
        "en": "ledger entry {seq}: correction of response {rid} changes {code} from "
              "{before!r}, but the recorded answer is {recorded!r}"},
    "response.removed": {
        "vi": "phiếu trả lời {rid} (mã biên nhận {receipt}, mục sổ cái {seq}) có trong sổ cái "
              "nhưng không có trong các phiếu trả lời",
        "en": "response {rid} (receipt {receipt}, ledger entry {seq}) is in the ledger but "
              "not in the responses"},
    "response.no_id": {
        "vi": "một dòng phiếu trả lời không có mã hợp lệ: {cells}",
        "en": "a response line without a valid id: {cells}"},
    "response.inserted": {
        "vi": "phiếu trả lời {rid} không có mục trong sổ cái: được thêm sau khi thu thập hoặc "
              "bị làm giả",
        "en": "response {rid} has no ledger entry: added after collection or forged"},
    "response.fields": {
        "vi": "phiếu trả lời {rid} (mã biên nhận {receipt}): {fields} khác với mục sổ cái {seq}",
        "en": "response {rid} (receipt {receipt}): {fields} differ from ledger entry {seq}"},
    "response.answers": {
        "vi": "phiếu trả lời {rid} (mã biên nhận {receipt}): câu trả lời khác với mục sổ cái "
              "{seq}: {shown}",
        "en": "response {rid} (receipt {receipt}): answers differ from ledger entry {seq}: "
              "{shown}"},
    "response.answer": {
        "vi": "{code}: sổ cái {ledger!r}, gói {bundle!r}",
        "en": "{code}: ledger {ledger!r} bundle {bundle!r}"},
    "response.width": {
        "vi": "(số cột)",
        "en": "(number of columns)"},
    "response.state": {
        "vi": "phiếu trả lời {rid}: trạng thái xét duyệt {shown!r}, sổ cái ghi {state!r}",
        "en": "response {rid}: review state {shown!r}, ledger says {state!r}"},
    "checkpoint.mismatch": {
        "vi": "mốc kiểm tra lúc {at} (mục {seq}) không khớp với sổ cái: các mục đến mốc này "
              "đã bị thay đổi",
        "en": "checkpoint of {at} (entry {seq}) does not match the ledger: entries up to it "
              "were changed"},
    "checkpoint.merkle": {
        "vi": "gốc Merkle của mốc kiểm tra {at} không khớp",
        "en": "Merkle root of checkpoint {at} does not match"},
    "checkpoint.other_campaign": {
        "vi": "mốc kiểm tra bạn giữ thuộc đợt khảo sát {held}, còn gói kiểm toán thuộc đợt "
              "{campaign}",
        "en": "the checkpoint you hold is for campaign {held}, the bundle for {campaign}"},
    "checkpoint.beyond": {
        "vi": "mốc kiểm tra bạn giữ bao gồm {seq} mục; sổ cái chỉ có {entries}",
        "en": "the checkpoint you hold covers {seq} entries; the ledger has only {entries}"},
    "checkpoint.rewritten": {
        "vi": "sổ cái không khớp với mốc kiểm tra bạn giữ ở mục {seq}: sổ cái đã bị viết lại "
              "sau mốc đó",
        "en": "the ledger does not match the checkpoint you hold at entry {seq}: it was "
              "rewritten after that checkpoint"},
    "audit.columns": {
        "vi": "audit_log.csv không có các cột như quy định",
        "en": "audit_log.csv does not have the expected columns"},
    "audit.malformed": {
        "vi": "dòng nhật ký thay đổi sai định dạng sau seq {seq}",
        "en": "malformed audit-log line after seq {seq}"},
    "audit.jump": {
        "vi": "nhật ký thay đổi: seq nhảy từ {before} lên {seq} (thiếu mục {missing} của nhật "
              "ký thay đổi)",
        "en": "audit log: seq jumps from {before} to {seq} (audit-log entry {missing} "
              "missing)"},
    "audit.out_of_place": {
        "vi": "mục {seq} của nhật ký thay đổi ({action} {object}) đứng sau mục {before}: đã bị "
              "di chuyển hoặc chèn vào",
        "en": "audit-log entry {seq} ({action} {object}) comes after entry {before}: moved or "
              "inserted"},
    "audit.not_following": {
        "vi": "mục {seq} của nhật ký thay đổi ({action} {object}) không nối tiếp mục {before}: "
              "một mục đã bị chèn, xoá hoặc di chuyển trước nó",
        "en": "audit-log entry {seq} ({action} {object}) does not follow entry {before}: an "
              "entry was inserted, removed or moved before it"},
    "audit.hash": {
        "vi": "mục {seq} của nhật ký thay đổi ({action} {object}, {at}) không khớp với mã băm "
              "của nó: đã bị sửa",
        "en": "audit-log entry {seq} ({action} {object}, {at}) does not match its hash: it "
              "was changed"},
    # --- checkpoint digests --------------------------------------------------------------
    "digest.not_digest": {
        "vi": "không phải chuỗi mốc kiểm tra: {digest!r} (dạng đúng: đợt#số:hex-hex-…)",
        "en": "not a checkpoint digest: {digest!r} (expected campaign#seq:hex-hex-…)"},
    "digest.short": {
        "vi": "chuỗi mốc kiểm tra cần ít nhất 16 chữ số thập lục phân",
        "en": "a checkpoint digest needs at least 16 hexadecimal digits"},
    "digest.mistyped": {
        "vi": "chuỗi mốc kiểm tra {digest!r} bị gõ sai: ký tự kiểm tra không khớp; hãy chép "
              "lại từ nơi đã lưu",
        "en": "the checkpoint digest {digest!r} is mistyped (gõ sai): its check character "
              "does not fit; copy it again from where it was kept"},
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
    "report.unsupported": {
        "vi": "{path}: chưa hỗ trợ đọc số liệu của báo cáo {kind}; hãy kiểm tra báo cáo XLSX "
              "hoặc tệp chỉ số CSV được tạo với cùng thiết lập",
        "en": "{path}: reading the figures of a {kind} report is not supported yet; check the "
              "XLSX or the indices CSV made with the same settings"},
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
