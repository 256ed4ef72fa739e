"""Language codes a questionnaire can be translated into: any ISO 639 code, normalised,
named in Vietnamese for the languages of Viet Nam; anything else refused."""

import pytest

from survey_app import languages


@pytest.mark.parametrize("given, kept, shown", [
    ("tyz", "tyz", "Tiếng Tày"), ("ium", "ium", "Tiếng Dao (Iu Miền)"),
    ("hnj", "hnj", "Tiếng H'Mông (Mông Lềnh)"), ("VIE", "vi", "Tiếng Việt"),
    (" en ", "en", "Tiếng Anh"), ("fra", "fr", "French")])
def test_known_codes_are_normalised_and_named(given, kept, shown):
    assert languages.normalise(given) == kept
    assert languages.name(kept) == shown


@pytest.mark.parametrize("given", ["", None, "xx", "zzz", "vi-VN", "t1z", "tày"])
def test_unknown_codes_are_refused(given):
    assert languages.normalise(given) == ""
    assert not languages.known(given)
