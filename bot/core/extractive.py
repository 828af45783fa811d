"""The summary with no LLM at all: sentences taken from the abstract, labelled as such."""

from __future__ import annotations

import re

from bot.core.models import Language, Paper, Summary

PROMPT_VERSION = "extractive-v1"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
# Sentences that state what was done or found are the ones a skimming reader wants.
_CUES = re.compile(
    r"\b(we (propose|present|introduce|show|find|found|demonstrate|develop)|our (method|approach|results?)|"
    r"outperform\w*|achiev\w*|improv\w*|state[- ]of[- ]the[- ]art|results? (show|indicate)|significantly)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")


def split_sentences(text: str) -> list[str]:
    text = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 1]


def _score(sentence: str, title_words: set[str]) -> float:
    words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", sentence)}
    return (
        2.0 * len(_CUES.findall(sentence))
        + (1.5 if _NUMBER.search(sentence) else 0.0)
        + 0.5 * len(words & title_words)
        - (1.0 if len(sentence) > 400 else 0.0)
    )


def extractive_summary(paper: Paper, *, language: str, reason: str) -> Summary:
    """tl;dr = the first sentence; takeaways = up to 5 key sentences in the abstract's order.

    `reason` (why there is no LLM summary) is carried in the summary's note; an extractive
    summary cannot translate, so a non-English request says so there too.
    """
    sentences = split_sentences(paper.abstract) or [paper.title]
    title_words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", paper.title)}
    rest = list(enumerate(sentences[1:], start=1))
    ranked = sorted(rest, key=lambda item: (-_score(item[1], title_words), item[0]))
    chosen = sorted(index for index, _ in ranked[:5])
    takeaways = tuple(sentences[i] for i in chosen) or (sentences[0],)
    note = reason if Language.parse(language).is_english else f"{reason}; not translated"
    return Summary(
        language=language,
        tldr=sentences[0],
        takeaways=takeaways,
        abstract_translation=None,
        generator="extractive",
        model=None,
        prompt_version=PROMPT_VERSION,
        note=note,
    )
