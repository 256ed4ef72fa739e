"""Masking of identifying details in citizens' comments, on realistic Vietnamese text."""

import unicodedata

import pytest

from analysis.redact import EMAIL, IDENTITY, NAME, PHONE, redact


@pytest.mark.parametrize("number", [
    "0912 345 678", "0912345678", "091.234.5678", "091-234-5678", "+84 912345678",
    "+84912345678", "(+84) 912 345 678", "84 912 345 678", "0207 3822 123",
])
def test_phone_numbers_in_every_usual_format(number):
    text = f"Cần liên hệ lại thì gọi {number} nhé, cảm ơn."
    assert redact(text) == f"Cần liên hệ lại thì gọi {PHONE} nhé, cảm ơn."


def test_identity_numbers_nine_and_twelve_digits():
    text = "Tôi nộp hồ sơ bằng CCCD 001099012345, CMND cũ 123456789, mã hồ sơ 000.22.31.H60-240101-0012."
    out = redact(text)
    assert out.startswith(f"Tôi nộp hồ sơ bằng CCCD {IDENTITY}, CMND cũ {IDENTITY}, ")
    # Numbers that are neither 9 nor 12 digits (a file number, a count) stay.
    assert "000.22.31.H60-240101-0012" in out
    assert redact("Chờ 3 ngày, nộp 150000 đồng.") == "Chờ 3 ngày, nộp 150000 đồng."


def test_email_addresses():
    assert redact("Gửi kết quả vào nguyen.thi.hoa+hs@gmail.com.vn giúp tôi") == \
        f"Gửi kết quả vào {EMAIL} giúp tôi"


def test_names_after_a_form_of_address():
    text = ("Anh Nguyễn Văn Đức ở bộ phận một cửa rất nhiệt tình, còn chị Lan thì hơi chậm. "
            "Cảm ơn chú Tư và bác Hoàng Thị Ánh Tuyết; ông Ưng thì không có mặt.")
    assert redact(text) == (
        f"Anh {NAME} ở bộ phận một cửa rất nhiệt tình, còn chị {NAME} thì hơi chậm. "
        f"Cảm ơn chú {NAME} và bác {NAME}; ông {NAME} thì không có mặt.")


def test_ordinary_words_after_a_form_of_address_stay():
    text = "Bà con rất hài lòng, cô ấy hướng dẫn kỹ, em bé được ưu tiên. Ông bà ta nói vậy."
    assert redact(text) == text


def test_decomposed_diacritics_are_normalised_first():
    text = unicodedata.normalize("NFD", "Chị Đặng Thị Hằng gọi 0987 654 321.")
    assert redact(text) == f"Chị {NAME} gọi {PHONE}."


def test_everything_at_once_and_nothing_to_mask():
    text = "Em Trần Minh (SĐT: 0912.345.678, email tran.minh@yahoo.com) góp ý: phòng chờ nóng."
    assert redact(text) == f"Em {NAME} (SĐT: {PHONE}, email {EMAIL}) góp ý: phòng chờ nóng."
    assert redact("Thủ tục nhanh gọn, cán bộ lịch sự.") == "Thủ tục nhanh gọn, cán bộ lịch sự."
    assert redact("") == "" and redact(None) == ""
