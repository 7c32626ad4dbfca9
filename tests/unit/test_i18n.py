"""Both languages have every string, and lookups behave."""
import re

from cnndemo import i18n


def test_english_and_korean_have_the_same_keys():
    en, ko = i18n.strings("en"), i18n.strings("ko")
    assert set(en) == set(ko), sorted(set(en) ^ set(ko))
    for key in en:
        assert set(re.findall(r"{(\w+)", en[key])) == set(re.findall(r"{(\w+)", ko[key])), key
        assert ko[key].strip(), key


def test_lookup_and_formatting():
    assert i18n.t("nav.draw", "ko") == "숫자 그리기"
    assert i18n.t("common.device", "en", device="CPU") == "Computing on: **CPU**"
    assert i18n.t("no.such.key", "ko") == "no.such.key"
