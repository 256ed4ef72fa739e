"""Helpers shared by the web tests (importable by name; conftest.py is not)."""

import re

PASSWORD = "correct horse battery"


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)
