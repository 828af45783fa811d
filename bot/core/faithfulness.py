"""Faithfulness, checked in code: a takeaway stands only on a passage the paper really contains.

Each takeaway the LLM writes carries a quote and the id of the paragraph it copied it from. A takeaway is
unsupported when its quote is not verbatim in the paper (exact, after NFKC and whitespace normalisation, math as the
reader flattened it: `$alttext$`), or when it gives a number its quote does not. Numbers are compared as written,
up to spacing and thousands separators (`12.5 %` = `12.5%`, `1,000` = `1000`, TeX's `10\\,000` and `37.5\\%` too);
no unit conversions (`0.125` is not `12.5%`). Names with digits (GPT-4, Llama-3-8B, Qwen-2.5-7B, ResNet-50,
pass@1) and references (Figure 3, Table 2) are not numbers to check. A quote may sit in another paragraph than
the one named: the evidence then links to where it was found.

The tl;dr has no quote: a number in it must at least appear somewhere in the paper (or its title).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.excerpt import Excerpt, Passage
from bot.core.models import Citation, Evidence, Summary
from bot.core.sanitize import clean_text

MIN_TAKEAWAYS = 3  # fewer supported than this and the summary is not worth showing
MIN_QUOTE_CHARS = 20  # "the model" is in every paper: a quote must say something
_QUOTE_MARKS = "\"'“”‘’«»「」"
_ELLIPSIS = re.compile(r"^(?:\.\.\.|…)\s*|\s*(?:\.\.\.|…)$")

# TeX as the reader flattened math: `37.5\%`, `10\,000`, `1{,}000`.
_TEX_PERCENT = re.compile(r"\\%")
_TEX_THIN_SPACE = re.compile(r"(?<=\d)\\[,;:! ](?=\d)|(?<=\d)~(?=\d)")
_TEX_BRACED_COMMA = re.compile(r"(?<=\d)\{,\}(?=\d)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_BARE_FRACTION = re.compile(r"(?<![\w.])\.(?=\d)")  # ".5" is 0.5
# A word of letters and digits, joined by . - _ @ ("GPT-4o", "Qwen2.5-7B", "pass@1", "3-5", "12.5").
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.\-_@][A-Za-z0-9]+)*")
# A number with a scale or a multiplier is still a number: 3x, 10k, 1.2M, 7B.
_SCALED = re.compile(r"(\d+(?:\.\d+)?)(?:x|k|K|M|B|bn)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Words after which a number is a name, not a quantity: references and model families written with a space.
_NAME_HEADS = frozenset(
    "figure fig figs figures table tab tables section sec sections eq eqs equation equations appendix algorithm "
    "alg step stage phase version theorem lemma definition corollary proposition chapter line lines "
    "llama gpt qwen gemini claude mistral mixtral phi gemma palm bert t5 opt bloom falcon yolo deepseek "
    "olmo pythia vicuna stable diffusion sd sdxl dall-e whisper".split()
)
_HEAD_THEN_NUMBER = re.compile(r"([A-Za-z][A-Za-z-]*)\.?\s*\(?$")


def normalized(text: str) -> str:
    """What quotes are compared as: NFKC, no invisible characters, one space for any whitespace."""
    return " ".join(clean_text(text).split())


# A paper's passages are normalised once for all the takeaways (and the retry) that are checked against them.
_normalized_passage = functools.lru_cache(maxsize=4096)(normalized)


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, each in one canonical spelling ("12.50 %" -> "12.5"); names and references
    with digits are left out."""
    text = _TEX_PERCENT.sub("%", text)
    text = _TEX_THIN_SPACE.sub("", text)
    text = _TEX_BRACED_COMMA.sub("", text)
    text = _BARE_FRACTION.sub("0.", _THOUSANDS.sub("", unicodedata.normalize("NFKC", text)))
    found: set[str] = set()
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if not any(c.isdigit() for c in token) or _is_name(token) or _after_name_head(text[: match.start()]):
            continue
        scaled = _SCALED.fullmatch(token)
        parts = [scaled.group(1)] if scaled else _NUMBER.findall(token)
        found.update(_canonical(part) for part in parts)
    return found


@functools.lru_cache(maxsize=4096)
def _passage_numbers(text: str) -> frozenset[str]:
    return frozenset(numbers_in(text))


def _is_name(token: str) -> bool:
    has_letter = any(c.isalpha() for c in token)
    return has_letter and any(c.isdigit() for c in token) and not _SCALED.fullmatch(token)


def _after_name_head(before: str) -> bool:
    head = _HEAD_THEN_NUMBER.search(before[-40:])
    return head is not None and head.group(1).lower() in _NAME_HEADS


def _canonical(number: str) -> str:
    whole, _, fraction = number.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


@dataclass(frozen=True)
class Verdict:
    """One takeaway, checked: the evidence it stands on, or why it does not stand."""

    evidence: Evidence | None
    problem: str | None = None  # None: supported


@dataclass(frozen=True)
class Checked:
    """A summary after the check: the takeaways that stand, each with its evidence, and what was dropped and why."""

    summary: Summary  # only the supported takeaways, with their evidence and a lead figure the paper has
    dropped: tuple[tuple[int, str, str], ...]  # (1-based position, the takeaway, why)
    tldr_problem: str | None = None

    @property
    def kept(self) -> int:
        return len(self.summary.takeaways)

    @property
    def usable(self) -> bool:
        return self.tldr_problem is None and self.kept >= MIN_TAKEAWAYS

    @property
    def flawless(self) -> bool:
        return self.tldr_problem is None and not self.dropped

    def retry_note(self) -> str:
        """What failed, for the LLM's second attempt (in our words: its own text only as numbers)."""
        problems = [f"takeaway {position}: {why}" for position, _, why in self.dropped]
        if self.tldr_problem is not None:
            problems.insert(0, f"the tl;dr: {self.tldr_problem}")
        return "; ".join(problems)

    def reasons(self) -> str:
        """Why takeaways were dropped, for the log: "2 quote not verbatim, 1 number not in its quote"."""
        counts: dict[str, int] = {}
        for _, _, why in self.dropped:
            kind = next((short for start, short in _SHORT_REASONS if why.startswith(start)), why)
            counts[kind] = counts.get(kind, 0) + 1
        return ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "none"


_SHORT_REASONS = (
    ("its quote is not verbatim", "quote not verbatim"),
    ("its quote is too short", "quote too short"),
    ("gives", "number not in its quote"),  # with a quote that lacks it, or with none
)


def check_takeaway(text: str, citation: Citation | None, excerpt: Excerpt) -> Verdict:
    """Whether one takeaway stands on its quote: verbatim in the paper, with every number the takeaway gives."""
    numbers = numbers_in(text)
    if citation is None or not citation.quote.strip():
        return Verdict(None, f"gives {_listed(numbers)} without a quote" if numbers else None)
    quote = _bare_quote(citation.quote)
    if len(quote) < MIN_QUOTE_CHARS:
        return Verdict(None, "its quote is too short to be evidence")
    passage = find_quote(quote, excerpt, near=citation.paragraph)
    if passage is None:
        return Verdict(None, "its quote is not verbatim in the paper")
    evidence = Evidence(quote=quote, anchor_url=passage.url)
    missing = numbers - numbers_in(quote)
    if missing:
        return Verdict(evidence, f"gives {_listed(missing)}, which its quote does not contain")
    return Verdict(evidence)


def find_quote(quote: str, excerpt: Excerpt, *, near: str | None = None) -> Passage | None:
    """The passage holding `quote` verbatim: the one named first, else any other."""
    wanted = normalized(quote)
    named = excerpt.passage(near) if near else None
    candidates = ([named] if named is not None else []) + [p for p in excerpt.passages if p is not named]
    return next((p for p in candidates if wanted in _normalized_passage(p.text)), None)


def check_summary(summary: Summary, citations: Sequence[Citation | None], excerpt: Excerpt) -> Checked:
    """Every takeaway checked against the paper; the unsupported ones left out (with why)."""
    kept: list[str] = []
    evidence: list[Evidence | None] = []
    dropped: list[tuple[int, str, str]] = []
    for position, text in enumerate(summary.takeaways, 1):
        citation = citations[position - 1] if position <= len(citations) else None
        verdict = check_takeaway(text, citation, excerpt)
        if verdict.problem is None:
            kept.append(text)
            evidence.append(verdict.evidence)
        else:
            dropped.append((position, text, verdict.problem))
    invented = numbers_in(summary.tldr)
    if invented:
        invented -= frozenset().union(
            _passage_numbers(excerpt.paper.title), *(_passage_numbers(p.text) for p in excerpt.passages)
        )
    tldr_problem = f"gives {_listed(invented)}, which the paper does not" if invented else None
    checked = dataclasses.replace(
        summary,
        takeaways=tuple(kept),
        evidence=tuple(evidence),
        lead_figure=figure_label(summary.lead_figure, excerpt.figure_labels),
    )
    return Checked(checked, tuple(dropped), tldr_problem)


def figure_label(named: str | None, labels: Sequence[str]) -> str | None:
    """The paper's own label for the figure the LLM named ("fig. 3" -> "Figure 3"), or None if it has none such."""
    if not named:
        return None
    wanted = re.sub(r"^fig(?:ure)?\.?\s*", "figure ", normalized(named).lower())
    return next((label for label in labels if normalized(label).lower() == wanted), None)


def _bare_quote(quote: str) -> str:
    """The quote without the quotation marks and ellipses models wrap around it."""
    text = normalized(quote)
    for _ in range(3):
        text = _ELLIPSIS.sub("", text.strip(_QUOTE_MARKS + " "))
    return text


def _listed(numbers: set[str]) -> str:
    return ", ".join(sorted(numbers))
