"""A paper's full text as the reader found it: sections of paragraphs with their anchors, figures, licence.

The reader (bot.clients.reader) builds these from arXiv's HTML rendering or, failing that, the PDF; when
neither can be had, `FullText.abstract_only` stands in, so the rest of the code has one shape to work with.
All text is untrusted. Every anchor is a fragment of `url` (`S3.p2` -> `https://arxiv.org/html/<id>v<n>#S3.p2`;
`page=4` for a PDF), so a quote can always link to where it was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.models import Paper, SourceKind

FigureKind = Literal["raster", "drawing"]  # an image file of its own, or drawn in the page (SVG, TikZ, vector PDF)


@dataclass(frozen=True)
class Paragraph:
    anchor: str  # "S3.p2" in an HTML rendering, "page=4" in a PDF, "abstract"
    section: str  # the heading it sits under, as the paper numbers it: "3 Experiments" ("" for none)
    text: str  # math flattened through its TeX (alttext), whitespace collapsed


@dataclass(frozen=True)
class Figure:
    label: str  # "Figure 1"
    caption: str  # without the label, math flattened
    anchor: str  # "S1.F1" (HTML) or "page=2" (PDF)
    image_url: str | None  # the resolved address of its image; None for a drawing or a PDF-only paper
    kind: FigureKind
    panels: tuple[Figure, ...] = ()  # sub-figures, each with its own caption


@dataclass(frozen=True)
class FullText:
    arxiv_id: str
    version: int
    kind: SourceKind
    url: str  # the page or PDF it was read from (the abstract page for kind="abstract")
    license: str | None  # "CC BY 4.0", "arXiv.org perpetual non-exclusive license", ... None when unknown
    paragraphs: tuple[Paragraph, ...]
    figures: tuple[Figure, ...] = ()
    table_captions: tuple[str, ...] = ()
    note: str | None = None  # why it is abstract-only, or what was cut ("the PDF is over 20 MB")

    def anchor_url(self, anchor: str) -> str:
        return f"{self.url}#{anchor}"

    @property
    def is_cc_licensed(self) -> bool:
        """Figures may be re-posted (with attribution) only under a Creative Commons licence."""
        text = (self.license or "").strip().lower()
        return text.startswith(("cc by", "cc0", "cc-by", "cc ")) or "creative commons" in text

    @classmethod
    def abstract_only(cls, paper: Paper, *, note: str | None = None) -> FullText:
        """What the summary falls back to when the paper itself cannot be read."""
        return cls(
            arxiv_id=paper.arxiv_id,
            version=paper.version,
            kind="abstract",
            url=paper.abs_url,
            license=None,
            paragraphs=(Paragraph("abstract", "Abstract", paper.abstract),),
            note=note,
        )
