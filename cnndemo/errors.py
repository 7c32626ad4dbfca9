"""The one error type a page explains to a student instead of showing a traceback.

A `UserError` names its message by `code`; the text lives in the locale files
(`prefix + code`, e.g. `losses.err.negative`), filled with the error's `fmt` values, so
the same error reads in English in a log and in the student's language on a page. Each
lesson's error subclasses it with its own prefix. Pages catch it at their edge and show it
with `ui.common.show_error`; anything else is a bug and should surface in the tests.
"""
from __future__ import annotations

from typing import ClassVar

from cnndemo import i18n


class UserError(ValueError):
    # The locale namespace. "{page}" is filled by the page that shows the error, for
    # errors whose wording differs per page (the convolution and pooling pages).
    prefix: ClassVar[str] = ""
    default_page: ClassVar[str] = ""

    def __init__(self, code: str, message: str | None = None, **fmt):
        self.code = code
        self.fmt = fmt
        super().__init__(message if message is not None else self.localized("en"))

    def locale_key(self, page: str = "") -> str:
        return self.prefix.format(page=page or self.default_page) + self.code

    def localized(self, lang: str, page: str = "") -> str:
        """The message in `lang` (English when untranslated; the code's own English
        text when the locale files have none)."""
        key = self.locale_key(page)
        text = i18n.t(key, lang, **self.fmt)
        if text == key:
            return str(self.args[0]) if self.args else key
        return text
