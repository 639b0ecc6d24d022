"""Bounded quoting for error messages.

A message quotes what the user gave: column names, level labels, formula pieces.  Those can
be huge (a file with 10⁶ columns, a 5 MB cell), and a message must stay a readable line, so
every quote goes through these functions: long texts are cut, long lists show their first
items and a count, and a missing name is matched to its nearest candidates.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Collection

TEXT_LIMIT = 80
LIST_LIMIT = 20
# difflib compares the name with each candidate; beyond this many it would take seconds
NEAREST_CANDIDATES = 10_000


def shorten(text: object, limit: int = TEXT_LIMIT) -> str:
    """``str(text)`` cut to `limit` characters, the cut marked with "…"."""
    whole = str(text)
    return whole if len(whole) <= limit else whole[: limit - 1] + "…"


def quote(text: object, limit: int = TEXT_LIMIT) -> str:
    """`text` shortened and quoted as Python's ``repr`` of a string (``'Days'``)."""
    return repr(shorten(text, limit))


def quote_list(items: Collection[object], limit: int = LIST_LIMIT) -> str:
    """``['a', 'b']``: the first `limit` items, each shortened, then how many more."""
    shown = ", ".join(quote(item) for item in itertools.islice(items, limit))
    more = f", … and {len(items) - limit} more" if len(items) > limit else ""
    return f"[{shown}{more}]"


def nearest(name: str, candidates: Collection[object], n: int = 3) -> list[str]:
    """Up to `n` candidates spelt like `name` (difflib's ratio ≥ 0.6), best first."""
    if len(candidates) > NEAREST_CANDIDATES or len(name) > TEXT_LIMIT:
        return []
    texts = [str(c) for c in candidates if len(str(c)) <= 2 * TEXT_LIMIT]
    return difflib.get_close_matches(name, texts, n=n)
