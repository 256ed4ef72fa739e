"""Forms of the Sở Nội vụ administration pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..models import AGENCY_KINDS, ROLES

KIND_LABELS = {
    "province": _l("Tỉnh"), "department": _l("Sở, ngành"), "commune": _l("Xã"),
    "ward": _l("Phường"), "one_stop": _l("Bộ phận một cửa"), "other": _l("Khác"),
}
ROLE_LABELS = {
    "admin": _l("Quản trị (Sở Nội vụ)"), "officer": _l("Cán bộ cơ quan"),
    "clerk": _l("Nhập liệu"), "auditor": _l("Giám sát (MTTQ)"),
}


class AgencyForm(FlaskForm):
    code = StringField(_l("Mã"), validators=[InputRequired(), Length(max=32)])
    name = StringField(_l("Tên"), validators=[InputRequired(), Length(max=200)])
    kind = SelectField(_l("Loại"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in AGENCY_KINDS])
    parent_code = StringField(_l("Mã cơ quan cấp trên"), validators=[Optional(), Length(max=32)])
    valid_from = DateField(_l("Hiệu lực từ"), validators=[Optional()])
    valid_to = DateField(_l("Hiệu lực đến"), validators=[Optional()])


class UploadForm(FlaskForm):
    file = FileField(_l("Tệp"), validators=[FileRequired()])


class CampaignForm(FlaskForm):
    code = StringField(_l("Mã đợt"), validators=[InputRequired(), Length(max=40)])
    name = StringField(_l("Tên đợt"), validators=[InputRequired(), Length(max=200)])
    period = StringField(_l("Kỳ (ví dụ 2026-H2)"), validators=[InputRequired(), Length(max=20)])
    version = SelectField(_l("Phiếu khảo sát"))
    opens = DateField(_l("Ngày mở"), validators=[InputRequired()])
    closes = DateField(_l("Ngày đóng"), validators=[InputRequired()])
    agencies = SelectMultipleField(_l("Cơ quan trong phạm vi"), validators=[InputRequired()])
    double_entry = BooleanField(_l("Nhập phiếu giấy hai lần độc lập"))


class CampaignEditForm(FlaskForm):
    name = StringField(_l("Tên đợt"), validators=[InputRequired(), Length(max=200)])
    opens = DateField(_l("Ngày mở"), validators=[InputRequired()])
    closes = DateField(_l("Ngày đóng"), validators=[InputRequired()])


class ArchiveForm(FlaskForm):
    confirm = BooleanField(
        _l("Tôi hiểu rằng sau khi lưu trữ, đợt khảo sát chỉ còn để xem và các số điện thoại "
           "liên hệ phúc tra bị xóa vĩnh viễn."),
        validators=[DataRequired(_l("Cần đánh dấu xác nhận trước khi lưu trữ."))])


class UserForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[InputRequired(), Length(max=80)])
    full_name = StringField(_l("Họ tên"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Vai trò"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])
    agency_code = StringField(_l("Mã cơ quan (với cán bộ cơ quan)"),
                              validators=[Optional(), Length(max=32)])
    password = PasswordField(_l("Mật khẩu"), validators=[Optional()])
    active = BooleanField(_l("Đang hoạt động"), default=True)


class QuestionnaireEditForm(FlaskForm):
    label = StringField(_l("Nhãn phiên bản mới"), validators=[InputRequired(), Length(max=200)])
    definition = TextAreaField(_l("Nội dung (JSON)"), validators=[InputRequired()])


class _VietnameseInvalid:
    """Replace WTForms' English "not a valid …" message (it has no Vietnamese catalogue)."""

    invalid_message = None

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(self.invalid_message)) from exc


class CountField(_VietnameseInvalid, IntegerField):
    invalid_message = _l("Số phiếu phải là một số nguyên.")


class DayField(_VietnameseInvalid, DateField):
    invalid_message = _l("Ngày phải có dạng YYYY-MM-DD.")


ALLOW_LOCAL_LABEL = _l("Tôi hiểu mã QR in ra sẽ không mở được từ điện thoại của người dân "
                       "và các đường dẫn không cấp lại được; vẫn in với địa chỉ này.")


class IssueForm(FlaskForm):
    # Ranges and required values are checked by the issuance service, so the web page and
    # the command line refuse the same things with the same words.
    agency = SelectField(_l("Cơ quan"), validate_choice=False)
    count = CountField(_l("Số phiếu"), validators=[Optional()])
    collector = StringField(_l("Người nhận phiếu (người đi phát)"))
    deadline = DayField(_l("Hạn nộp lại"), validators=[Optional()])
    lang = SelectField(_l("In bằng ngôn ngữ"), validate_choice=False)
    # Shown only while PUBLIC_BASE_URL is not a public https address.
    allow_local_url = BooleanField(ALLOW_LOCAL_LABEL)


class VoidForm(FlaskForm):
    reason = StringField(_l("Lý do hủy"),
                         validators=[Length(max=500, message=_l("Lý do tối đa 500 ký tự."))])


class TranslationUploadForm(FlaskForm):
    lang = StringField(_l("Mã ngôn ngữ (ISO 639, ví dụ tyz)"),
                       validators=[InputRequired(), Length(max=8)])
    file = FileField(_l("Tệp bản dịch (CSV)"), validators=[FileRequired()])


class ConfirmForm(FlaskForm):
    """A button that changes something, with its CSRF token and nothing else."""


class AudioForm(FlaskForm):
    """A button on the audio page: make the clips of a language, or remove a part's."""

    lang = HiddenField()
    part = HiddenField()


class AudioUploadForm(AudioForm):
    # What the file holds is checked from its bytes (speech.codec), not from this list:
    # it only helps the file picker.
    file = FileField(_l("Tệp ghi âm"), validators=[FileRequired(_l("Chưa chọn tệp âm thanh."))])

    ACCEPT = ".opus,.ogg,.oga,.mp3,.wav,.flac,audio/*"


class ColumnMapForm(FlaskForm):
    """Which header of the one-stop system's export holds each field."""

    case_id = StringField(_l("Cột mã hồ sơ"), validators=[Length(max=100)])
    procedure = StringField(_l("Cột mã thủ tục"), validators=[Length(max=100)])
    agency = StringField(_l("Cột mã cơ quan"), validators=[Length(max=100)])
    completed_on = StringField(_l("Cột ngày hoàn thành"), validators=[Length(max=100)])
    phone = StringField(_l("Cột số điện thoại"), validators=[Length(max=100)])
    email = StringField(_l("Cột e-mail"), validators=[Length(max=100)])
    consent = StringField(_l("Cột đồng ý được liên hệ"), validators=[Length(max=100)])
    consent_values = StringField(_l("Giá trị nghĩa là đồng ý (cách nhau bởi dấu phẩy)"),
                                 validators=[Length(max=300)])
    prefer = SelectField(_l("Có cả số điện thoại và e-mail thì gửi qua"),
                         choices=[SelectChoice("sms", "SMS"), SelectChoice("email", "E-mail")])


class CaseImportForm(FlaskForm):
    file = FileField(_l("Tệp hồ sơ đã giải quyết (.csv hoặc .xlsx)"),
                     validators=[FileRequired()])


class SendForm(FlaskForm):
    pass


class KioskForm(FlaskForm):
    # The name's length and the agency are checked by the kiosk service, so the page and
    # the command line refuse the same things with the same words.
    agency = SelectField(_l("Cơ quan"), validate_choice=False)
    name = StringField(_l("Tên máy (ví dụ: Quầy 1 – Bộ phận một cửa)"))
