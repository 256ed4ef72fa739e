"""What ``python -m analysis verify`` says about a bundle: its verdict, a bundle it cannot
read, each finding, and checkpoint digests (see :mod:`analysis.messages`)."""

VERIFY: dict[str, dict[str, str]] = {
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
}
