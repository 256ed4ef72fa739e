"""A CSV file as an official saves it from Excel or LibreOffice, read in one place: the
encodings they produce (UTF-8 with or without BOM is taken; UTF-16 "Unicode Text" and
legacy code pages are refused with how to save it again) and the separator (Excel set up
for Vietnamese writes ";", a tab-separated export "\\t")."""

from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

from . import ServiceError

SEPARATORS = ",;\t"


def csv_rows(data: bytes) -> list[list[str]]:
    """Every row of the file, its separator the one its first line uses most (a tie: ",").
    ServiceError (Vietnamese, saying nothing changed) when it cannot be read."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise ServiceError(_("Tệp được lưu bằng mã UTF-16 (Excel: \"Unicode Text\"), không "
                             "phải UTF-8. Hãy lưu lại dưới dạng \"CSV UTF-8\"; không có gì "
                             "thay đổi."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServiceError(_("Tệp không phải văn bản UTF-8 (byte thứ %(n)d không đọc được; "
                             "có thể tệp được lưu bằng Windows-1258 hay mã khác). Hãy lưu "
                             "lại dưới dạng \"CSV UTF-8\"; không có gì thay đổi.",
                             n=exc.start + 1)) from exc
    first = text.split("\n", 1)[0]
    try:
        return list(csv.reader(io.StringIO(text), delimiter=max(SEPARATORS, key=first.count)))
    except csv.Error as exc:
        raise ServiceError(_("Tệp CSV không đọc được: %(e)s; không có gì thay đổi.",
                             e=str(exc))) from exc
