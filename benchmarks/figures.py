"""Figures found per fixture paper against the true count, and what the card would show; prints figures (not a test).

    python -m benchmarks.figures

The papers of tests/data/papers/ go through the reader's own parsers (parse_html, parse_pdf) and, for the PDFs, the
lead figure's crop (render_figure_png). The true counts are the papers' own (their README and sources): figures,
sub-figure panels and tables as the paper numbers them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bot.clients.reader_html import parse_html
from bot.clients.reader_pdf import parse_pdf, render_figure_png
from bot.core.fulltext import FullText

PAPERS = Path(__file__).resolve().parent.parent / "tests" / "data" / "papers"


@dataclass(frozen=True)
class Truth:
    file: str
    arxiv_id: str
    version: int
    figures: int
    panels: int
    tables: int


TRUTH = (
    Truth("2508.08468v6.html", "2508.08468", 6, figures=10, panels=10, tables=3),
    Truth("latexml-widgets.html", "2601.00001", 1, figures=4, panels=2, tables=1),
    Truth("2008.10010v1.pdf", "2008.10010", 1, figures=3, panels=0, tables=3),
    Truth("2302.07302v1.pdf", "2302.07302", 1, figures=8, panels=0, tables=2),
    Truth("2304.02623v1.pdf", "2304.02623", 1, figures=1, panels=0, tables=0),
)


def read(truth: Truth) -> tuple[FullText | None, bytes]:
    data = (PAPERS / truth.file).read_bytes()
    if truth.file.endswith(".html"):
        url = f"https://arxiv.org/html/{truth.arxiv_id}v{truth.version}"
        return parse_html(data, url=url, arxiv_id=truth.arxiv_id, version=truth.version), data
    url = f"https://arxiv.org/pdf/{truth.arxiv_id}v{truth.version}"
    return parse_pdf(data, url=url, arxiv_id=truth.arxiv_id, version=truth.version), data


def main() -> None:
    header = f"{'paper':<22} {'from':<5} {'figures':>9} {'panels':>8} {'tables':>8} {'with image':>11}  lead figure"
    print(header)
    print("-" * (len(header) + 30))
    found_total = true_total = 0
    for truth in TRUTH:
        started = time.perf_counter()
        text, data = read(truth)
        if text is None:
            print(f"{truth.file:<22} not readable")
            continue
        panels = sum(len(f.panels) for f in text.figures)
        with_image = sum(1 for f in text.figures if f.image_url or f.panels and f.panels[0].image_url)
        lead = text.figures[0] if text.figures else None
        lead_note = "none"
        if lead is not None:
            if text.kind == "pdf":
                png = render_figure_png(data, lead)
                lead_note = f"{lead.label}: cropped, {len(png) // 1024} KB PNG" if png else f"{lead.label}: no crop"
            else:
                lead_note = f"{lead.label}: {lead.image_url or 'a drawing (no image)'}"
        found_total += len(text.figures)
        true_total += truth.figures
        print(
            f"{truth.file:<22} {text.kind:<5} {len(text.figures):>4} / {truth.figures:<2} "
            f"{panels:>3} / {truth.panels:<2} {len(text.table_captions):>3} / {truth.tables:<2} {with_image:>11}  "
            f"{lead_note}  ({time.perf_counter() - started:.2f} s)"
        )
    print(f"\nfigures found: {found_total} of {true_total}")


if __name__ == "__main__":
    main()
