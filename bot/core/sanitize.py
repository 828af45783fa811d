"""Untrusted text (titles, abstracts, LLM output) made safe before any surface sees it.

`clean_text` is for everything we print. `clean_generated` is stricter, for what an LLM wrote:
a paper can plant links, mentions and markup in it. Surfaces still escape for themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection

ELLIPSIS = "…"
_MAX_PASSES = 8  # after the first pass each pass only shrinks the text: a fixed point comes fast

# Invisible or direction-changing characters, C0/C1 controls (but \n and \t), lone surrogates,
# Unicode tags and the variation selectors supplement (both used to smuggle hidden text).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but a newline
_LINE_EDGES = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")

# What an LLM may not pass on. Patterns avoid nested or overlapping repeats (and anchor with
# look-behinds), so a hostile 20k-character answer is cleaned in linear time.
# ASCII-only case folding: with Unicode folding "i" would match U+0131 and end a URL early.
_AI = re.I | re.A
# Stop at whitespace, <, >, " and non-ASCII (CJK text often follows a URL). Written as the ASCII
# characters that continue a URL: the same set as [^\s<>"\u0080-\U0010ffff] under re.A, but a class
# spanning all of Unicode costs ~10 ms to compile at every start-up.
_URL_CHARS = r"[\x00-\x08\x0e-\x1f!\#-;=\?-\x7f]*"
_MD_IMAGE = re.compile(r"!\[[^\[\]]*\]\([^()\s]*\)")
_MD_LINK = re.compile(r"\[([^\[\]]*)\]\([^()\s]*\)")
_SLACK_LINK = re.compile(r"<[a-z][a-z0-9+.-]*:[^<>|]*\|([^<>]*)>", _AI)
_TAG = re.compile(r"<[a-z/!?@#:][^<>]*>", _AI)  # HTML, Slack <!here> <@U1>, Discord <@1> <#1> <:e:1>
_STRAY_TAG_OPEN = re.compile(r"(?<!<)<+(?=[@#!])")
# Each pattern starts at the beginning of a run of URL-ish characters (the look-behind), so
# "1https://x" or ".evil.com/x" cannot hide a link and each run is scanned once.
_SCHEME_URL = re.compile(r"(?<![a-z0-9+.-])[a-z0-9+.-]*://" + _URL_CHARS, _AI)
_HTTP_NO_SLASHES = re.compile(r"(?<![a-z0-9+.-])[a-z0-9+.-]*https?:" + _URL_CHARS, _AI)
# Prose says "data: 10k samples", so these need something right after the colon.
_OTHER_SCHEMES = re.compile(
    r"(?<![a-z0-9+.-])[a-z0-9+.-]*(?:javascript|vbscript|data|file|mailto|tel|sms|ftp|slack|discord):"
    + _URL_CHARS.replace("]*", "]+"),
    _AI,
)
_WWW = re.compile(r"(?<![a-z0-9.-])[a-z0-9.-]*www\." + _URL_CHARS, _AI)
_DOMAIN_PATH = re.compile(r"(?<![a-z0-9.-])\.*(?:[a-z0-9-]+\.+)+[a-z]{2,63}/" + _URL_CHARS, _AI)
# Bare domains that chat clients turn into links on their own.
_BARE_DOMAIN = re.compile(
    r"(?<![a-z0-9.-])\.*(?:[a-z0-9-]+\.+)+"
    r"(?:com|net|org|io|ai|co|dev|app|xyz|ly|me|gg|info|link|site|online|top|ru|cn|tk|biz|click)\b",
    _AI,
)
_MASS_MENTION = re.compile(r"(?<!@)@+(?=everyone|here|channel)", _AI)

_INJECTION = re.compile(
    r"|".join(
        [
            r"\b(?:ignore|disregard|forget|override|skip)\b[\w\s,'-]{0,40}?"
            r"\b(?:previous|prior|above|earlier|preceding|all|your|the|any|these)\b[\w\s,'-]{0,20}?"
            r"\b(?:instructions?|prompts?|rules|directions|guidelines|context|messages?)\b",
            r"\bsystem\s*prompt\b",
            r"\byou\s+are\s+now\b",
            r"\bfrom\s+now\s+on\b",
            r"\bnew\s+instructions?\b",
            r"\b(?:developer|jailbreak|dan)\s+mode\b",
            r"\bjailbreak",
            r"\b(?:reveal|print|show|repeat|output)\s+(?:your|the)\s+(?:system\s+)?(?:prompt|instructions)\b",
            r"\b(?:as|note\s+to)\s+(?:an?\s+)?(?:ai|llm|language\s+model|assistant|reviewer)s?\b[^.]{0,40}"
            r"\b(?:must|should|shall)\b",
            r"\bgive\s+(?:a\s+)?(?:positive|favou?rable|good)\s+(?:review|rating|summary)\b",
            r"\b(?:do\s+not|don't)\s+(?:mention|highlight|reveal|summari[sz]e)\b",
            r"@(?:channel|everyone|here)\b",
            r"<!(?:channel|everyone|here|subteam)",
            r"<@[&!]?[\w]+>",
            r"\b(?:ping|mention|notify|alert)\s+(?:@?everyone|@?here|@?channel|all\s+users)\b",
            r"\b(?:include|insert|add|post)\s+(?:this|the\s+following)\s+(?:link|url)\b",
        ]
    ),
    re.I,
)


def _drop_invisible(s: str) -> str:
    s = _INVISIBLE.sub("", s)
    if s.isascii():
        return s
    return "".join(c for c in s if unicodedata.category(c) != "Cf")  # other format characters


def _nfkc(s: str) -> str:
    # NFKC would turn our own truncation mark into "...", making clean_text grow its output.
    return ELLIPSIS.join(unicodedata.normalize("NFKC", part) for part in s.split(ELLIPSIS))


def _squash(s: str) -> str:
    s = _SPACES.sub(" ", s)
    s = _LINE_EDGES.sub("\n", s)
    return _BLANK_LINES.sub("\n\n", s).strip()


def _clean_once(s: str) -> str:
    s = _LINE_BREAKS.sub("\n", s)
    s = _drop_invisible(s)
    s = _drop_invisible(_nfkc(s))
    return _squash(s)


def _fixed_point(step: Callable[[str], str], s: str) -> str:
    for _ in range(_MAX_PASSES):
        out = step(s)
        if out == s:
            return out
        s = out
    return s


def clean_text(s: str) -> str:
    """NFKC-normalised text without invisible, bidi, tag or control characters (but \\n and \\t
    become plain spacing), spaces collapsed, stripped. Idempotent; keeps "…" as is."""
    return _fixed_point(_clean_once, s or "")


def one_line(s: str) -> str:
    """clean_text, then every run of whitespace (newlines too) as one space: for titles, names."""
    return " ".join(clean_text(s).split())


def truncate(s: str, max_chars: int) -> str:
    """`s` if it fits, else cut at a word boundary with a trailing "…", at most max_chars long."""
    if max_chars <= 0:
        return ""
    if len(s) <= max_chars:
        return s
    cut = s[: max_chars - 1]
    if not s[max_chars - 1].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > max_chars // 2:  # else one very long word: cut it rather than lose most text
            cut = cut[:space]
    return cut.rstrip(" \n,;:") + ELLIPSIS


def _strip_markup(s: str) -> str:
    s = _MD_IMAGE.sub("", s)
    s = _MD_LINK.sub(r"\1", s)
    s = _SLACK_LINK.sub(r"\1", s)
    s = _TAG.sub("", s)
    for pattern in (_SCHEME_URL, _HTTP_NO_SLASHES, _OTHER_SCHEMES, _WWW, _DOMAIN_PATH, _BARE_DOMAIN):
        s = pattern.sub("", s)
    s = _MASS_MENTION.sub("", s)
    return _STRAY_TAG_OPEN.sub("", s)


# URLs a paper gives for itself ("Code: https://github.com/a/b."): https only, a plain host name
# (no userinfo, no port, no IP), then only characters that are safe in every surface's link syntax
# (no `|`, `<`, `>`, quotes, backticks, braces, backslashes, `@` or whitespace); `%` only as an escape.
MAX_URL_CHARS = 512  # Discord's limit for a link button; Slack allows 3000
# A URL starts a word: after a space, an opening bracket or quote, or prose punctuation, never inside
# another token ("javascript:x//https://...", "a|https://...").
_URL_START = re.compile(r"(?<![a-z0-9+._~%@&=?#!$|^`>/\\-])https://", _AI)
# Up to whitespace or non-ASCII, as chat clients do: [^\s\u0080-\U0010ffff] in ASCII terms (as above).
_URL_RUN = re.compile(r"[\x00-\x08\x0e-\x1b!-\x7f]+")
_STRICT_URL = re.compile(
    r"https://((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})"
    r"(?:[/?#](?:[a-z0-9\-._~!$&'()*+,;=:/?#]|%[0-9a-f]{2})*)?",
    _AI,
)
_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim_url(run: str) -> str:
    """A URL as prose ends it: without the sentence's punctuation or a closing bracket it did not open."""
    unopened = {close: run.count(close) - run.count(open_) for close, open_ in _CLOSERS.items()}
    end = len(run)
    while end:
        last = run[end - 1]
        if last in _CLOSERS and unopened[last] > 0:
            unopened[last] -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return run[:end]


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of each strictly valid https URL in `text`, in order. A run that is not a
    whole valid URL once trailing punctuation is trimmed is not a URL at all (no prefix is taken)."""
    found: list[tuple[int, int, str]] = []
    scanned = 0  # each run is looked at once, so "https://https://..." stays linear
    for start in _URL_START.finditer(text):
        if start.start() < scanned:
            continue
        run = _URL_RUN.match(text, start.start())
        scanned = run.end() if run else start.end()
        if run is None or len(run.group()) > MAX_URL_CHARS + 64:  # too long to be one, even with punctuation
            continue
        url = _trim_url(run.group())
        if len(url) <= MAX_URL_CHARS and _STRICT_URL.fullmatch(url):
            found.append((start.start(), start.start() + len(url), url))
    return found


# What a chat client would turn into a link on its own (Discord links any scheme://, up to a space or `<`).
# Surfaces show these pieces inert (in a code span). A backtick, `|` or `@` ends one, so the span stays
# whole, and so does non-ASCII (CJK text often follows a URL): what is left has no scheme to link from.
# [^\s<>`|@\u0080-\U0010ffff] in ASCII terms (as above).
_LOOSE_URL = re.compile(r"(?<![a-z0-9+.-])[a-z0-9+.-]+://[\x00-\x08\x0e-\x1f!-;=\?A-_a-\{\}-\x7f]*", _AI)


def split_urls(text: str) -> list[tuple[str, bool]]:
    """`text` in order as (piece, is_url): every scheme://... run (without the sentence's trailing
    punctuation) is its own piece, so a surface can show it as inert text rather than a live link."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in _LOOSE_URL.finditer(text):
        url = _trim_url(match.group())
        if match.start() > at:
            pieces.append((text[at : match.start()], False))
        pieces.append((url, True))
        at = match.start() + len(url)
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def url_host(url: str) -> str:
    """The lower-cased host of a URL find_urls returned."""
    match = _STRICT_URL.fullmatch(url)
    return match.group(1).lower() if match else ""


_SET_ASIDE = re.compile("[\ue100-\ue1ff]")  # private-use marks standing in for kept URLs while cleaning
_MAX_KEPT = 0x100


def _set_aside(text: str, keep: frozenset[str]) -> tuple[str, list[str]]:
    """`text` with each URL in `keep` replaced by a private-use mark no markup pattern touches."""
    kept: list[str] = []
    out: list[str] = []
    at = 0
    for start, end, url in find_urls(text):
        if url in keep and len(kept) < _MAX_KEPT:
            out += [text[at:start], chr(0xE100 + len(kept))]
            kept.append(url)
            at = end
    return "".join(out) + text[at:], kept


def clean_generated(s: str, *, max_chars: int, keep_urls: Collection[str] = ()) -> str:
    """What an LLM wrote, safe to show: clean_text, then no URLs, markdown images or links
    (a link keeps its label), Slack or Discord mention tokens, mass mentions or HTML tags,
    capped at max_chars on a word boundary. Idempotent on its own output.

    The one exception is `keep_urls`: the URLs the paper itself gives in its abstract or comment
    (card.paper_urls), kept where the LLM repeated one verbatim and as a whole (a translated
    abstract keeps "code at https://github.com/a/b" whole). Such a URL stays plain text: never a
    markdown or Slack link, and every surface shows it inert (sanitize.split_urls). Any other URL,
    even one differing only in case or a trailing slash, is removed as before."""
    s = (s or "")[: 8 * max(max_chars, 0) + 4096]  # nothing past this could survive the cap
    keep = frozenset(keep_urls)

    def step(text: str) -> str:
        text, kept = _set_aside(_SET_ASIDE.sub("", clean_text(text)), keep)
        text = _squash(_strip_markup(text))
        text = _SET_ASIDE.sub(lambda m: kept[ord(m.group()) - 0xE100], text)
        return truncate(text, max_chars)

    return _fixed_point(step, s)


def looks_like_injection(s: str) -> bool:
    """Heuristic: does this text try to instruct the model or ping a channel? Used to flag, not block."""
    return bool(_INJECTION.search(one_line(s)))
