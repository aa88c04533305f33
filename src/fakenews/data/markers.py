"""Marker stripping: take source signatures out of title and text (``prepare --strip-markers``).

A detector trained on one data set learns its sources' signatures — the ``WASHINGTON (Reuters) -``
dateline of every real WELFake article, the ``Featured image via …`` sign-off of its fakes — and
fails on other sources. :data:`BUILTIN_MARKERS` removes the common ones, in this order (each
named in the manifest step ``strip_markers`` with the articles it changed):

=================  =================================================================================
``dateline``       agency datelines at the start of a line: ``WASHINGTON (Reuters) -``,
                   ``WASHINGTON, D.C. (AP) —``, ``Kiev (CNN)``
``agency_tag``     the tag anywhere else: ``(Reuters)``, ``(AP)``, ``(AFP)``, ``(CNN)``, ``(UPI)``
``featured_image`` ``Featured image via …`` to the end of its line (at most 150 characters)
``photo_credit``   any credit in brackets, ``(Photo: Matt Rourke, AP)``; else one that ends in an
                   agency or site: ``Photo by …/Getty Images``, ``Image: … via Flickr``
``agency_credit``  ``Ameer Alhalbi/AFP/Getty Images``, ``REUTERS/Kevin Lamarque``
``getty_images``   what is left of ``Getty Images``
``pic_twitter``    ``pic.twitter.com/…``
``url``            ``https://…``, ``www.…``, bare ``name.com/…`` links
``handle``         ``@handles``
=================  =================================================================================

``--strip-pattern REGEX`` (repeatable) adds the user's own, run after these, named ``custom_1``,
``custom_2``… A change leaves no empty ``()`` or ``[]`` behind and no blanks at the ends.

Stripping never catches everything: after it, ``prepare``'s shortcut audit shows what is left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fakenews.errors import FakeNewsError

AGENCIES = r"Reuters|AP|AFP|CNN|UPI|Associated Press|Bloomberg"
CREDITS = (
    r"getty images|reuters|\bap\b|afp|epa|shutterstock|flickr|wikimedia(?: commons)?|"
    r"usa today|cc by(?:-sa)? [\d.]+"
)
_NAME = r"[A-Z][\w.'’-]*"
_CREDIT_LEAD = r"(?:photo|image|picture)s?(?: credit)?\s*(?::|by\b|via\b|courtesy(?: of)?)"


@dataclass(frozen=True)
class MarkerPattern:
    """One named pattern whose matches are removed from title and text."""

    name: str
    regex: re.Pattern[str]


BUILTIN_MARKERS: tuple[MarkerPattern, ...] = tuple(
    MarkerPattern(name, re.compile(regex))
    for name, regex in (
        ("dateline", rf"(?m)^[ \t]*(?:{_NAME}(?:[ ,/]+)){{0,6}}?\((?:{AGENCIES})\)\s*[-–—]*[ \t]*"),
        ("agency_tag", rf"\((?:{AGENCIES})\)"),
        ("featured_image", r"(?im)featured image(?:[^\n]{0,150}$| via\b)?"),
        (
            "photo_credit",
            rf"(?i)\({_CREDIT_LEAD}[^\n()]{{0,80}}\)"
            rf"|\b{_CREDIT_LEAD}[^\n()]{{0,80}}?(?:{CREDITS})(?:\s?/\s?(?:{CREDITS}))*\.?",
        ),
        (
            "agency_credit",
            rf"\(?(?:{_NAME}[ -]){{0,3}}{_NAME}\s?/\s?(?:[A-Z]+/)*(?:Getty Images|AFP|AP|REUTERS|Reuters|EPA)\b\)?"
            rf"|\b(?:REUTERS|AP|AFP|EPA)/{_NAME}(?: {_NAME}){{0,3}}",
        ),
        ("getty_images", r"(?i)(?:\bvia )?\bGetty Images\b"),
        ("pic_twitter", r"\bpic\.twitter\.com/\w+"),
        (
            "url",
            r"(?i)\b(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+(?:com|org|net|gov|co|ly|ws|it|me)/\S*",
        ),
        ("handle", r"(?<![\w@.])@\w{1,30}"),
    )
)
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")


def custom_pattern(regex: str, index: int) -> MarkerPattern:
    """``--strip-pattern REGEX`` as :class:`MarkerPattern` ``custom_<index>``; one-line error if bad."""
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise FakeNewsError(
            f"--strip-pattern {regex!r} is not a valid regular expression ({exc}); "
            "fix it (Python `re` syntax) and quote it for the shell."
        ) from None
    return MarkerPattern(f"custom_{index}", compiled)


def marker_patterns(*, builtin: bool, custom: Sequence[str] = ()) -> tuple[MarkerPattern, ...]:
    """The patterns ``prepare`` strips: the built-in ones (with ``builtin``), then ``custom``."""
    own = tuple(custom_pattern(regex, i + 1) for i, regex in enumerate(custom))
    return (BUILTIN_MARKERS if builtin else ()) + own


def strip_text(text: str, patterns: Sequence[MarkerPattern]) -> tuple[str, list[str]]:
    """``text`` without the patterns' matches, and the names of the patterns that changed it."""
    changed = []
    for pattern in patterns:
        text, n = pattern.regex.subn("", text)
        if n:
            changed.append(pattern.name)
    if changed:
        text = _EMPTY_BRACKETS.sub("", text).strip()
    return text, changed


def strip_markers(
    frame: pd.DataFrame, patterns: Sequence[MarkerPattern]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Strip ``patterns`` from the ``title`` and ``text`` of ``frame``; the manifest step."""
    counts = {p.name: 0 for p in patterns}
    titles, texts, changed_rows = [], [], 0
    for title, text in zip(frame["title"], frame["text"], strict=True):
        new_title, by_title = strip_text(title, patterns)
        new_text, by_text = strip_text(text, patterns)
        for name in set(by_title) | set(by_text):
            counts[name] += 1
        changed_rows += bool(by_title or by_text)
        titles.append(new_title)
        texts.append(new_text)
    out = frame.assign(title=titles, text=texts)
    return out, {
        "name": "strip_markers",
        "rows_in": len(frame),
        "removed": 0,
        "rows_out": len(out),
        "removed_ids": [],
        "articles_changed": changed_rows,
        "patterns": [
            {"name": p.name, "pattern": p.regex.pattern, "articles_changed": counts[p.name]}
            for p in patterns
        ],
    }
