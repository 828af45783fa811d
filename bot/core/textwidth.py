"""Text as a terminal shows it: display width and wrapping for Chinese, Japanese and Korean.

A wide character (East Asian Width W or F: CJK ideographs, kana, Hangul, full-width forms, most emoji)
takes two columns; a combining mark or format character takes none. textwrap counts characters, so
its CJK lines come out about twice the width asked for, and a Chinese or Japanese sentence, which has
no spaces, is one unbreakable "word" to it.

wrap() breaks at spaces and between two CJK characters, never inside a run of other characters
(a URL or a hyphenated word stays whole, like textwrap with break_long_words=False), and follows the
basic line-breaking rules of CJK typesetting: a line does not start with closing punctuation (。，」)
nor end with opening punctuation (「（). Korean separates words with spaces, so Hangul wraps at spaces.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# A line never starts with these (closing brackets, full stops, commas, small kana, the prolonged sound mark).
_NO_BREAK_BEFORE = frozenset(
    "、。，．：；？！）］｝〕〉》」』】〙〗〟’”｠»ー々〻ゝゞヽヾ・…‥〜"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ"
    ",.;:!?)]}%"
)
# ... and never ends with these (opening brackets).
_NO_BREAK_AFTER = frozenset("（［｛〔〈《「『【〘〖〝‘“｟«([{")


@lru_cache(maxsize=4096)
def char_width(char: str) -> int:
    """Columns one character takes in a terminal: 2 wide, 0 combining or format, else 1."""
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf", "Cc"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal (one line)."""
    return sum(char_width(c) for c in text)


def truncate_to_width(text: str, width: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `width` columns, ending in `ellipsis` when cut."""
    if display_width(text) <= width:
        return text
    room = width - display_width(ellipsis)
    kept: list[str] = []
    used = 0
    for char in text:
        used += char_width(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ellipsis if room >= 0 else ""


def _breaks_between_characters(char: str) -> bool:
    """A wide character other than Hangul: a line may break before or after it with no space."""
    return char_width(char) == 2 and not unicodedata.name(char, "").startswith("HANGUL")


def _units(text: str) -> list[tuple[bool, str]]:
    """The pieces a line may break between, each with whether a space came before it."""
    units: list[tuple[bool, str]] = []
    for word in text.split():
        spaced, piece = True, ""
        if units and word[0] in _NO_BREAK_BEFORE and char_width(word[0]) == 2:
            # Full-width closing punctuation after a space ("详见 URL 。") still may not start a line.
            spaced, piece = units.pop()
            piece += " "
        for char in word:
            if piece and _may_break(piece[-1], char):
                units.append((spaced, piece))
                spaced, piece = False, ""
            piece += char
        units.append((spaced, piece))
    return units


def _may_break(before: str, after: str) -> bool:
    if after in _NO_BREAK_BEFORE or before in _NO_BREAK_AFTER:
        return False
    return _breaks_between_characters(before) or _breaks_between_characters(after)


def wrap(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "") -> list[str]:
    """`text` in lines of at most `width` columns, indents included; a single piece wider than that
    (a long URL) gets a line of its own. Runs of whitespace become one space; [] for blank text."""
    lines: list[str] = []
    line, used = initial_indent, display_width(initial_indent)
    fresh = True  # nothing but the indent on this line yet
    for spaced, piece in _units(text):
        gap = " " if spaced and not fresh else ""
        needed = display_width(gap) + display_width(piece)
        if not fresh and used + needed > width:
            lines.append(line.rstrip())
            line, used, gap = subsequent_indent, display_width(subsequent_indent), ""
            needed = display_width(piece)
        line += gap + piece
        used += needed
        fresh = False
    if not fresh:
        lines.append(line.rstrip())
    return lines
