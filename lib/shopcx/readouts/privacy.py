"""Safe to share: redact personal data from customer text and escape it for HTML.

Every piece of customer text that reaches a readout or the index goes through
:func:`safe_text` (or :func:`verbatim_table`): e-mail addresses become
``[email]``, phone numbers ``[phone]``, and the result is HTML-escaped so
markup in feedback (``<script>``, ``onerror=`` attributes) shows as text.

Phone numbers are found three ways, erring on the side of removing too much:
numbers valid for the market's region (Google's libphonenumber, via the
``phonenumbers`` package), anything written in international form (``+`` and
digits), and any run of nine or more digits with spaces, dots, dashes or
brackets between them that is not a date.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import pandas as pd
import phonenumbers

__all__ = ["redact", "safe_text", "verbatim_table"]

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
INTERNATIONAL = re.compile(r"\+\s?\d[\d\s().-]{5,}\d")
DIGIT_RUN = re.compile(r"\(?\d[\d\s().-]{7,}\d\)?")
DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _long_number(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = sum(ch.isdigit() for ch in raw)
    if digits >= 9 and not DATE.match(raw.strip("() ")):
        return "[phone]"
    return raw


def redact(text: str | None, region: str | None = None) -> str | None:
    """Replace e-mail addresses and phone numbers in ``text``.

    >>> redact("mail jo.tan+cx@example.co.id or call +62 812-3456-7890 on 2026-11-12")
    'mail [email] or call [phone] on 2026-11-12'
    >>> redact("0917 555 1234 / (415) 555-0143", region="PH")
    '[phone] / [phone]'
    >>> redact("SG: 9123 4567", region="SG")
    'SG: [phone]'
    """
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    text = EMAIL.sub("[email]", str(text))
    if region:
        try:
            found = list(phonenumbers.PhoneNumberMatcher(text, region.upper(),
                                                         leniency=phonenumbers.Leniency.VALID))
        except Exception:  # an unknown region: the patterns below still apply
            found = []
        for m in reversed(found):
            text = text[:m.start] + "[phone]" + text[m.end:]
    text = INTERNATIONAL.sub("[phone]", text)
    return DIGIT_RUN.sub(_long_number, text)


def safe_text(text: str | None, region: str | None = None) -> str:
    """Redacted and HTML-escaped text, ready to place in a page ('' for null).

    >>> safe_text('<img src=x onerror="alert(1)"> mail a@b.com')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; mail [email]'
    """
    cleaned = redact(text, region)
    return "" if cleaned is None else html.escape(cleaned, quote=True)


def verbatim_table(frame: pd.DataFrame, text_column: str = "text",
                   columns: Iterable[str] = (), region: str | None = None) -> str:
    """An HTML table of verbatims: text redacted and every cell escaped.

    Identifier columns of buyers (``buyer_id``) are never shown, even if asked for.
    """
    keep = [c for c in columns if c != "buyer_id" and c in frame.columns]
    rows = []
    for _, r in frame.iterrows():
        cells = "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in keep)
        rows.append(f"<tr>{cells}<td class='verbatim'>{safe_text(r[text_column], region)}"
                    "</td></tr>")
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in keep)
    return (f"<table class='shopcx-verbatims'><thead><tr>{head}<th>what the customer said</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
