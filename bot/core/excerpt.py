"""What of a paper the LLM reads: its abstract, introduction, results and conclusion, and its figure captions, cut to
a token budget, each passage under the id the LLM cites it by.

Pure: a Paper and the FullText the reader found in, an Excerpt out. Sections are chosen by the words of their
headings (a subsection counts as its numbered parent: "V-A Vodafone 5G network" sits in "V Experimental Results");
a paper whose headings say none of them gives its body in order. Within the budget the abstract comes first, then
the captions, then the introduction, the results and the conclusion a paragraph each in turn, so a long results
section cannot crowd out the conclusion. Every passage of the paper stays in `passages`: a quote is checked against
all of them (bot.core.faithfulness), not only against what was shown.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from bot.core.fulltext import FullText, Paragraph
from bot.core.models import Paper, SourceKind

CHARS_PER_TOKEN = 4  # about what OpenAI's tokenizers average on English prose
CAPTION_MAX_CHARS = 300  # a caption is context, not the place for the paper's argument
CAPTIONS_SHARE = 0.2  # of the budget, at most, for the captions
MIN_CUT_CHARS = 200  # a paragraph cut shorter than this is left out instead

Part = Literal["abstract", "introduction", "results", "conclusion", "body", "skip"]

_ABSTRACT = re.compile(r"\babstract\b", re.I)
_SKIP = re.compile(
    r"\b(references|bibliography|acknowledge?ments?|appendix|appendices|keywords|ccs concepts|author contributions|"
    r"ethics statement|supplementary)\b",
    re.I,
)
_INTRODUCTION = re.compile(r"\b(introduction|motivation)\b", re.I)
_RESULTS = re.compile(
    r"\b(results?|experiments?|experimental|evaluations?|empirical|findings|ablations?|benchmarks?|analysis|"
    r"performance|comparisons?)\b",
    re.I,
)
_CONCLUSION = re.compile(r"\b(conclusions?|concluding|discussion|summary|limitations?|future work)\b", re.I)
# A heading's number: "4", "4.2", "V", "V-A", "A.1"; its first part is the top-level section it belongs to.
# Checked in this order: "Results and Discussion" is the results, "Conclusion and Future Work" the conclusion.
_SECTIONS: tuple[tuple[re.Pattern[str], Part], ...] = (
    (_RESULTS, "results"),
    (_CONCLUSION, "conclusion"),
    (_INTRODUCTION, "introduction"),
)
_NUMBER = re.compile(r"^\s*([0-9]+|[IVXLC]+|[A-Z])((?:[.\-][0-9A-Za-z]+)*)\.?\s+\S")
_PAGE = re.compile(r"page=(\d+)")


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Passage:
    """A paragraph or a figure caption, under the id the LLM cites it by."""

    id: str  # "S4.p2" (the HTML anchor), "p4.2" (the second paragraph of a PDF's page 4), "abstract"
    url: str  # where it can be read: the text's URL with the anchor, or the abstract page
    section: str  # the heading it sits under ("" for none)
    text: str  # untrusted, as the reader flattened it (math as $alttext$)
    label: str | None = None  # "Figure 1" for a figure's caption


@dataclass(frozen=True)
class Excerpt:
    """One paper as the LLM is given it: `shown` (in the paper's order), and every passage it could be quoting."""

    paper: Paper
    kind: SourceKind  # what it was cut from: the HTML, the PDF, or the abstract alone
    passages: tuple[Passage, ...]
    shown: tuple[Passage, ...]
    figure_labels: tuple[str, ...] = ()

    def passage(self, passage_id: str) -> Passage | None:
        return next((p for p in self.passages if p.id == passage_id), None)

    @property
    def tokens(self) -> int:
        """About what the shown text costs the LLM (its input, not counting the prompt around it)."""
        return sum(approx_tokens(p.text) for p in self.shown)


def select_excerpt(paper: Paper, text: FullText, *, max_tokens: int) -> Excerpt:
    """The passages of `text` the LLM reads, at most about `max_tokens` of them."""
    paragraphs = list(text.paragraphs)
    parts = _parts(paragraphs)
    abstract = [p for p, part in zip(paragraphs, parts, strict=True) if part == "abstract"]
    if not abstract:  # a PDF whose abstract has no heading: arXiv's own abstract stands in
        paragraphs.insert(0, Paragraph("abstract", "Abstract", paper.abstract))
        parts.insert(0, "abstract")
    captions = [(f.anchor, f.label, f.caption) for f in text.figures if f.caption.strip()]
    ids = _ids([p.anchor for p in paragraphs] + [anchor for anchor, _, _ in captions])

    def url(anchor: str) -> str:
        return paper.abs_url if anchor == "abstract" and not abstract else text.anchor_url(anchor)

    passages = [Passage(ids[i], url(p.anchor), p.section, p.text) for i, p in enumerate(paragraphs)]
    passages += [
        Passage(ids[len(paragraphs) + i], url(anchor), "", caption, label)
        for i, (anchor, label, caption) in enumerate(captions)
    ]
    chosen = _choose(passages, parts, max_chars=max_tokens * CHARS_PER_TOKEN)
    return Excerpt(
        paper=paper,
        kind=text.kind,
        passages=tuple(passages),
        shown=tuple(chosen[i] for i in sorted(chosen)),
        figure_labels=tuple(f.label for f in text.figures),
    )


def _choose(passages: list[Passage], parts: list[Part], *, max_chars: int) -> dict[int, Passage]:
    """Which passages (by index) are shown, some cut to fit: the abstract, the captions, then the sections in turn."""
    room = max_chars
    chosen: dict[int, Passage] = {}

    def take(index: int, limit: int) -> Passage | None:
        nonlocal room
        fitted = _fit(passages[index], min(limit, room))
        if fitted is not None:
            chosen[index] = fitted
            room -= len(fitted.text)
        return fitted

    paragraph_count = len(parts)
    for index in range(paragraph_count):
        if parts[index] == "abstract":
            take(index, room)
    caption_room = int(max_chars * CAPTIONS_SHARE)
    for index in range(paragraph_count, len(passages)):
        if (caption := take(index, min(CAPTION_MAX_CHARS, caption_room))) is not None:
            caption_room -= len(caption.text)

    def indexes(part: Part) -> list[int]:
        return [i for i in range(paragraph_count) if parts[i] == part]

    sections = [indexes("introduction"), indexes("results"), indexes("conclusion")]
    queues = [queue for queue in sections if queue] or [queue for queue in [indexes("body")] if queue]
    while queues and room > 0:
        for queue in list(queues):
            index = queue.pop(0)
            if take(index, room) is not passages[index] or not queue:  # a section cut short ends there
                queues.remove(queue)
    return chosen


def _fit(passage: Passage, limit: int) -> Passage | None:
    """The passage, or its beginning cut at a word when it is longer than `limit`; None when too little fits."""
    if len(passage.text) <= limit:
        return passage
    if limit < MIN_CUT_CHARS:
        return None
    cut = passage.text[: limit - 1].rsplit(" ", 1)[0]
    return Passage(passage.id, passage.url, passage.section, cut + "…", passage.label)


def _parts(paragraphs: list[Paragraph]) -> list[Part]:
    """What part of the paper each paragraph is in, by its heading or its numbered parent's."""
    parents: dict[str, str] = {}
    for paragraph in paragraphs:
        number = _NUMBER.match(paragraph.section)
        if number is not None and not number.group(2):
            parents.setdefault(number.group(1), paragraph.section)
    parts: list[Part] = []
    for paragraph in paragraphs:
        number = _NUMBER.match(paragraph.section)
        parent = parents.get(number.group(1), "") if number is not None else ""
        parts.append(_part(paragraph.section, parent))
    return parts


def _part(heading: str, parent: str) -> Part:
    if _ABSTRACT.search(heading):
        return "abstract"
    if not heading.strip() or _SKIP.search(heading) or _SKIP.search(parent):
        return "skip"  # the title block, the references, the appendix
    for pattern, part in _SECTIONS:
        if pattern.search(heading) or pattern.search(parent):
            return part
    return "body"


def _ids(anchors: list[str]) -> list[str]:
    """An id per anchor: the anchor itself where it is unique (HTML), else numbered within it ("page=4" -> p4.1,
    p4.2, ...: a PDF's paragraphs share their page's anchor)."""
    counts = Counter(anchors)
    seen: Counter[str] = Counter()
    ids = []
    for anchor in anchors:
        if counts[anchor] == 1:
            ids.append(anchor)
            continue
        seen[anchor] += 1
        page = _PAGE.fullmatch(anchor)
        ids.append(f"p{page.group(1)}.{seen[anchor]}" if page else f"{anchor}.{seen[anchor]}")
    return ids
