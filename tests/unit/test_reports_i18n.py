"""Report languages: templates exist for every message in every language, numbers and dates follow the locale."""

from __future__ import annotations

import string
from datetime import date

from reports.i18n import MESSAGES, Lang


def test_every_language_has_every_message_with_the_same_placeholders():
    fields = {k: {f for _, f, _, _ in string.Formatter().parse(v) if f} for k, v in MESSAGES["en"].items()}
    for code, messages in MESSAGES.items():
        assert set(messages) == set(fields), code
        for key, text in messages.items():
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert used <= fields[key], (code, key, used - fields[key])


def test_locale_formatting():
    zh, en = Lang.for_seller("zh"), Lang.for_seller("en")
    assert zh.money(1234.5, "CNY") == "¥1,234.50"
    assert en.money(1234.5, "CNY") == "CN¥1,234.50"
    assert zh.date(date(2026, 6, 22)) == "2026年6月22日"
    assert en.date(date(2026, 6, 22)) == "Jun 22, 2026"
    assert en.percent(0.1234) == "12.3%"
    assert en.money(None, "USD") == "–"


def test_unsupported_language_falls_back_to_english_and_says_so():
    vi = Lang.for_seller("vi")
    assert vi.code == "en" and vi.is_fallback
    assert not Lang.for_seller("zh").is_fallback
