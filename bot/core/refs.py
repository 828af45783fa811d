"""Every way a person writes an arXiv reference, turned into an `ArxivRef`.

Strict on purpose: an exact host allow-list, arXiv's id grammar (only ids that can exist) and
nothing more, so a hostile, mistyped or impossible reference never becomes a request. Every
pattern here is linear-time (no nested quantifiers), so a 50k-character message costs a few
milliseconds.
"""

from __future__ import annotations

import re

from bot.core.errors import InvalidReference
from bot.core.models import ArxivRef

__all__ = ["find_invalid_links", "find_refs", "parse_ref"]

# arXiv's archives from before April 2007, the only ones with old-style ids (archive/YYMMNNN).
_OLD_ARCHIVES = (
    "acc-phys adap-org alg-geom ao-sci astro-ph atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas "
    "cond-mat cs dg-ga funct-an gr-qc hep-ex hep-lat hep-ph hep-th math math-ph mtrl-th nlin nucl-ex "
    "nucl-th patt-sol physics plasm-ph q-alg q-bio quant-ph solv-int supr-con"
).split()

# Ids that can exist (arXiv's own identifier rules): months 01-12; numbers start at 1.
# Old style archive/YYMMNNN ran 9108-0703; new style YYMM.NNNN 0704-1412, then YYMM.NNNNN from 1501.
_MONTH = "(?:0[1-9]|1[0-2])"
_OLD_YYMM = rf"(?:91(?:0[89]|1[0-2])|(?:9[2-9]|0[0-6]){_MONTH}|070[1-3])"
_NEW_ID = (
    rf"(?:07(?:0[4-9]|1[0-2])|(?:0[89]|1[0-4]){_MONTH})\.(?!0000)[0-9]{{4}}"
    rf"|(?:1[5-9]|[2-9][0-9]){_MONTH}\.(?!00000)[0-9]{{5}}"
)
_ARCHIVE = rf"(?i:{'|'.join(map(re.escape, _OLD_ARCHIVES))})"
_NUMBER = rf"{_OLD_YYMM}(?!000)[0-9]{{3}}"

_ID = re.compile(
    rf"(?:(?P<new>{_NEW_ID})|(?P<archive>{_ARCHIVE})(?:\.[A-Za-z]{{2,4}}(?:-[A-Za-z]{{2,4}})?)?/(?P<number>{_NUMBER}))"
    r"(?:v(?P<version>[1-9][0-9]{0,4}))?"
    r"/?",  # one trailing slash, as arXiv accepts (physics/0303098/, html/2505.22653v1/)
    re.ASCII,
)

# arXiv's DataCite DOIs as citation managers paste them (10.48550/arXiv.ID, any case), bare, as
# doi:, or on doi.org / dx.doi.org only. Canonical ids only: arXiv mints no DOI for a version or a
# subject class, so `10.48550/arXiv.2505.22653v2` is refused rather than guessed at.
_DOI = re.compile(
    r"(?i:(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:)?10\.48550/arxiv\.)"
    rf"(?:(?P<new>{_NEW_ID})|(?P<archive>{_ARCHIVE})/(?P<number>{_NUMBER}))",
    re.ASCII,
)

# Exact hosts and the path kinds each serves; anything else (subdomains, look-alikes) is refused.
_ARXIV = frozenset({"abs", "pdf", "html"})
_HOSTS = {
    "arxiv.org": _ARXIV,
    "www.arxiv.org": _ARXIV,
    "export.arxiv.org": _ARXIV,
    "alphaxiv.org": frozenset({"abs", "overview"}),
    "www.alphaxiv.org": frozenset({"abs", "overview"}),
    "ar5iv.org": frozenset({"abs", "html"}),
    "ar5iv.labs.arxiv.org": frozenset({"abs", "html"}),
    "huggingface.co": frozenset({"papers"}),
}
_DEFAULT_PORTS = ("", "80", "443")

# Host may hold userinfo or a port: both are checked against the allow-list, not skipped.
_URL = re.compile(
    r"(?i:https?://)?(?P<host>[^/?#]+)/(?P<kind>abs|pdf|html|overview|papers)/(?P<path>[^?#]*)(?:[?#].*)?",
    re.ASCII | re.DOTALL,
)

# A chat "word": URL characters and letters/digits (any script, so `x2505.22653` or `请看2505.22653`
# stays glued and is refused); whitespace, brackets, quotes, `|`, `,`, `;`, `*`, `!` separate words.
_WORD = re.compile(r"[\w\-.~:/?#@&+=%\\]+")
_EDGE = "_~.:?"  # markdown emphasis and sentence punctuation around a word
# Closed fenced blocks, then ``double`` and `single` inline code; unclosed fences stay text,
# as Slack and Discord render them.
_CODE = re.compile(r"```[\s\S]*?```|``[^`]*``|`[^`]*`")
_MENTIONS_ARXIV = re.compile(r"arxiv|ar5iv|alphaxiv|huggingface\.co/papers", re.IGNORECASE | re.ASCII)
_LOOKS_LIKE_ID = re.compile(r"[0-9]{4}\.[0-9]|[0-9]{7}", re.ASCII)


def _parse_id(text: str, grammar: re.Pattern[str] = _ID) -> ArxivRef | None:
    m = grammar.fullmatch(text)
    if m is None:
        return None
    version = m.groupdict().get("version")  # a DOI has no version group
    version = int(version) if version else None
    if m["new"]:
        return ArxivRef(m["new"], version)
    # arXiv's canonical old-style id drops the subject class: math.CO/0601001 -> math/0601001.
    return ArxivRef(f"{m['archive'].lower()}/{m['number']}", version)


def _match(text: str) -> ArxivRef | None:
    url = _URL.fullmatch(text)
    if url is not None:
        host, _, port = url["host"].lower().partition(":")
        if url["kind"] not in _HOSTS.get(host, ()) or port not in _DEFAULT_PORTS:
            return None
        path = url["path"]
        if url["kind"] == "pdf":
            path = path.removesuffix(".pdf")
        return _parse_id(path)
    if text[:6].lower() == "arxiv:":
        return _parse_id(text[6:])
    return _parse_id(text) or _parse_id(text, _DOI)


def parse_ref(text: str) -> ArxivRef:
    """One reference as typed on a command line; raises InvalidReference for anything else."""
    ref = _match(text.strip())
    if ref is None:
        raise InvalidReference(text)
    return ref


def _words(text: str) -> list[str]:
    """The candidate words of a chat message, code spans removed, edge punctuation trimmed."""
    prose = _CODE.sub(" ", text)
    return [w for w in (m.group().strip(_EDGE) for m in _WORD.finditer(prose)) if w]


def find_refs(text: str) -> list[ArxivRef]:
    """Every reference in chat text, in order of first appearance, each (id, version) once."""
    found: dict[ArxivRef, None] = {}
    for word in _words(text):
        ref = _match(word)
        if ref is not None:
            found.setdefault(ref)
    return list(found)


def find_invalid_links(text: str) -> list[str]:
    """Link-like words that name arXiv (or a mirror) and an id-like number but are not references.

    For a "not an arXiv link" reply; the words are returned as written (untrusted, unescaped).
    """
    bad: dict[str, None] = {}
    for word in _words(text):
        if (
            ("/" in word or ":" in word)
            and _MENTIONS_ARXIV.search(word)
            and _LOOKS_LIKE_ID.search(word)
            and _match(word) is None
        ):
            bad.setdefault(word)
    return list(bad)
