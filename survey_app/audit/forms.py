"""Forms of the MTTQ audit pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..services.labels import (  # noqa: F401  (the pages' names)
    CHANNEL_LABELS,
    DECISION_LABELS,
    FLAG_LABELS,
    OUTCOME_LABELS,
    STATE_LABELS,
)

COLLECTOR_LABELS = {**CHANNEL_LABELS, "invitation": _l("(lời mời qua API)")}
#: The settings of `analysis.quality.Thresholds`.
THRESHOLD_LABELS = {
    "speeder_ratio": _l("Quá nhanh: dưới tỷ lệ này × thời gian trả lời trung vị"),
    "speeder_min_n": _l("Quá nhanh: số phiếu có thời gian tối thiểu để tính trung vị"),
    "straight_min_items": _l("Một mức cho mọi câu: số câu trả lời tối thiểu"),
    "duplicate_share": _l("Gần trùng: tỷ lệ câu giống nhau tối thiểu"),
    "duplicate_min_common": _l("Gần trùng: số câu cả hai cùng trả lời tối thiểu"),
    "duplicate_max_group": _l("Gần trùng: số phiếu tối đa so sánh trong một cơ quan"),
    "duplicate_seed": _l("Gần trùng: hạt giống chọn mẫu so sánh"),
    "burst_count": _l("Dồn dập: số phiếu tối thiểu"),
    "burst_window_s": _l("Dồn dập: trong khoảng (giây)"),
}
#: The kinds of ledger entries (`ledger.append`) and why a checkpoint was recorded.
LEDGER_KIND_LABELS = {
    "response": _l("Phiếu trả lời"), "review": _l("Quyết định duyệt"),
    "correction": _l("Đính chính"), "reverify": _l("Kết quả phúc tra"),
    "sample": _l("Rút mẫu phúc tra"), "void": _l("Hủy phiếu"),
}
CHECKPOINT_REASON_LABELS = {
    "manual": _l("ghi tay"), "daily": _l("hằng ngày"), "close": _l("đóng đợt"),
    "archive": _l("lưu trữ"),
}
#: Column headers of the tables keyed by a frame's column.
COLUMN_LABELS = {"agency_code": _l("Cơ quan"), "collector": _l("Người phát phiếu")}


class ActionForm(FlaskForm):
    """A button with nothing to fill in (CSRF only)."""


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Quyết định"),
                           choices=[SelectChoice(k, v) for k, v in DECISION_LABELS.items()])
    reason = TextAreaField(_l("Lý do (bắt buộc khi có vấn đề hoặc loại)"),
                           validators=[Optional(), Length(max=1000)])


class BulkReviewForm(FlaskForm):
    # No decision is preselected, and a reason is required whatever the decision (checked
    # by review.plan_bulk, so that the message is the service's).
    decision = SelectField(_l("Quyết định"), choices=[SelectChoice("", _l("— chọn —"))] + [
        SelectChoice(k, v) for k, v in DECISION_LABELS.items()])
    reason = TextAreaField(_l("Lý do (bắt buộc)"), validators=[Optional(), Length(max=1000)])
    overwrite = BooleanField(_l("Cũng thay đổi các phiếu đã có quyết định"))
    # Empty: show the preview; the preview's confirmation carries what it showed.
    fingerprint = HiddenField()
    agency = HiddenField()
    collector = HiddenField()
    channel = HiddenField()
    state = HiddenField()
    flag = HiddenField()


class DrawForm(FlaskForm):
    rate_pct = DecimalField(_l("Tỷ lệ phúc tra (%)"), places=None, default=10,
                            validators=[InputRequired(), NumberRange(min=0.01, max=100)])
    seed = IntegerField(_l("Hạt giống (seed) do giám sát viên chọn"),
                        validators=[InputRequired(), NumberRange(min=0, max=2**63 - 1)])
    oversample = DecimalField(_l("Hệ số ưu tiên phiếu bị gắn cờ"), places=None, default=2,
                              validators=[InputRequired(), NumberRange(min=1, max=100)])


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("Kết quả phúc tra"),
                          choices=[SelectChoice(k, v) for k, v in OUTCOME_LABELS.items()])
    note = TextAreaField(_l("Ghi chú (bắt buộc khi trả lời khác)"),
                         validators=[Optional(), Length(max=1000)])


class CorrectionForm(FlaskForm):
    """New values are typed in inputs named ``new-<item code>`` (one per item, built from
    the questionnaire), read by the view; the form holds the reason."""

    reason = TextAreaField(_l("Lý do đính chính (bắt buộc)"),
                           validators=[Optional(), Length(max=1000)])
