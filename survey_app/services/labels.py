"""What staff read for each state, decision, outcome, flag and channel: one table each,
for the audit pages and for the official report alike."""

from flask_babel import lazy_gettext as _l

from analysis.kinds import CHANNEL_NAMES

DECISION_LABELS = {
    "approved": _l("Đạt (duyệt)"), "has_issues": _l("Có vấn đề"), "rejected": _l("Loại bỏ"),
}
STATE_LABELS = {"received": _l("Mới nhận"), **DECISION_LABELS}
OUTCOME_LABELS = {
    "confirmed": _l("Xác nhận đã trả lời"), "not_confirmed": _l("Không xác nhận"),
    "unreachable": _l("Không liên lạc được"), "answers_differ": _l("Trả lời khác"),
}
FLAG_LABELS = {
    "speeder": _l("Trả lời quá nhanh"), "straight_lining": _l("Chọn một mức cho mọi câu"),
    "near_duplicate": _l("Gần trùng phiếu khác"), "burst": _l("Dồn dập từ một địa chỉ/thiết bị"),
    "kiosk_pace": _l("Máy tại quầy nhận phiếu nhanh hơn người trả lời được"),
    "outside_window": _l("Ngoài thời gian khảo sát"),
    "paper_disagreement": _l("Hai lần nhập phiếu giấy lệch nhau"),
}

#: How a response came (`models.CHANNELS`); also the collector of one that came through
#: no issued batch (`analysis.load_audit.COLLECTOR_SQL`).
CHANNEL_LABELS = {code: _l(name) for code, name in CHANNEL_NAMES.items()}
