"""Both languages have every string, and lookups behave. The one locale-parity test."""
import json
import re

from cnndemo import i18n
from ui.pages import PAGES


def _file(lang: str, name: str) -> dict:
    return json.loads((i18n.LOCALES / lang / name).read_text(encoding="utf-8"))


def test_english_and_korean_have_the_same_keys():
    en, ko = i18n.strings("en"), i18n.strings("ko")
    assert set(en) == set(ko), sorted(set(en) ^ set(ko))
    for key in en:
        assert set(re.findall(r"{(\w+)", en[key])) == set(re.findall(r"{(\w+)", ko[key])), key
        assert ko[key].strip(), key


def test_every_locale_file_has_a_twin_and_a_page_file_holds_only_its_page():
    names = {p.name for p in (i18n.LOCALES / "en").glob("*.json")}
    assert names == {p.name for p in (i18n.LOCALES / "ko").glob("*.json")}
    pages = {name for _, name, _ in PAGES}
    for name in sorted(names):
        en, ko = _file("en", name), _file("ko", name)
        assert set(en) == set(ko), (name, sorted(set(en) ^ set(ko)))
        assert all(v.strip() for v in list(en.values()) + list(ko.values())), name
        stem = name.removesuffix(".json")
        if stem in pages:
            assert all(k.startswith(stem + ".") for k in en), name


def test_lookup_and_formatting():
    assert i18n.t("nav.draw", "ko") == "숫자 그리기"
    assert i18n.t("common.device", "en", device="CPU") == "Computing on: **CPU**"
    assert i18n.t("no.such.key", "ko") == "no.such.key"
