"""A paper's PDF as a FullText (text per page, figure captions) and its lead figure cropped to a PNG, with pypdfium2.

Pure functions of bytes, top-level and with picklable values in and out: the reader runs them in a subprocess
with CPU, memory and time limits (PDFium parses untrusted input; it is also not thread-safe).
The layout is guessed from the text layer, cheaply: a paragraph ends at a short line that ends a sentence,
headings are lines like "1 Introduction" or "4.2 Results", captions start a line with "Figure 1:" or "Fig. 1.".
"""

from __future__ import annotations

import re
import statistics
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from bot.core.fulltext import Figure, FigureKind, FullText, Paragraph

MIN_TEXT_CHARS_PER_PAGE = 100  # below this on average the PDF is a scan (arXiv's stamp alone is about 40)
RENDER_SCALE = 2.0  # 144 dpi
MIN_CROP_POINTS = (72.0, 36.0)  # a crop smaller than 1 x 0.5 inch is not a figure
MAX_GAP_POINTS = 36.0  # graphics further apart than this (or from the caption) are not one figure

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# PDFium marks a hyphen it found at a line end with U+FFFE and joins the lines; other PDFs keep "exam-\nple".
_SOFT_HYPHEN = re.compile(r"[\ufffe\x02\xad](?:\r?\n)?")
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\r?\n(?=[a-z])")
_ARXIV_STAMP = re.compile(r"^arXiv:\S+\s+\[[^\]]+\]\s+\d{1,2}\s+\w{3}\s+\d{4}$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})?)\.?\s+([A-Z].*)$")
_HEADING_WORDS = (
    "abstract|introduction|related work|background|conclusion|conclusions|discussion|limitations|appendix|references|"
    "bibliography|acknowledgments|acknowledgements|acknowledgment|acknowledgement|keywords|ccs concepts|index terms"
)
_NAMED_HEADINGS = frozenset(_HEADING_WORDS.split("|"))
_BIBLIOGRAPHY = frozenset({"references", "bibliography"})
_APPENDIX_HEADING = re.compile(r"^(?:appendix\b.*|[A-H]\s+[A-Z][A-Z ]{3,})$", re.IGNORECASE)
_CAPTION = re.compile(r"^(?P<label>(?:Figure|FIGURE|Fig\.|FIG\.|Table|TABLE)\s*\d+)\s*(?P<sep>[:.|])\s*(?P<rest>.*)$")
_WRAPPED_TITLE_END = re.compile(r"\b(?:a|an|and|by|for|from|in|of|on|the|to|with|via|is|are|between)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:][\"”’)\]]*$")
_GRAPHICS = (
    pdfium_c.FPDF_PAGEOBJ_PATH,
    pdfium_c.FPDF_PAGEOBJ_IMAGE,
    pdfium_c.FPDF_PAGEOBJ_SHADING,
    pdfium_c.FPDF_PAGEOBJ_FORM,
)


def parse_pdf(data: bytes, *, url: str, arxiv_id: str, version: int, max_pages: int = 60) -> FullText | None:
    """The paper in `data`, or None for bytes that are not a PDF, an encrypted PDF, or one without a text layer."""
    pdf = _open(data)
    if pdf is None:
        return None
    try:
        total = len(pdf)
        pages = [_page_text(pdf, number) for number in range(1, min(total, max_pages) + 1)]
        if not pages or sum(len("".join(t.split())) for t in pages) < MIN_TEXT_CHARS_PER_PAGE * len(pages):
            return None
        paragraphs: list[Paragraph] = []
        figures: list[Figure] = []
        tables: list[str] = []
        state = _Reading()
        for number, text in enumerate(pages, start=1):
            for block in _blocks(text, state):
                if block.caption_label is None:
                    paragraphs.append(Paragraph(f"page={number}", block.section, block.text))
                elif block.caption_label.lower().startswith("tab"):
                    tables.append(block.text)
                elif not any(f.label == block.caption_label for f in figures):
                    caption = _CAPTION.sub(r"\g<rest>", block.text)
                    figures.append(_pdf_figure(pdf, number, block.caption_label, caption))
        note = f"read the first {max_pages} of {total} pages" if total > max_pages else None
        return FullText(
            arxiv_id=arxiv_id,
            version=version,
            kind="pdf",
            url=url,
            license=None,  # a PDF does not say; the abstract page does
            paragraphs=tuple(paragraphs),
            figures=tuple(figures),
            table_captions=tuple(tables),
            note=note,
        )
    finally:
        pdf.close()


def render_figure_png(data: bytes, figure: Figure) -> bytes | None:
    """`figure` (found by parse_pdf in the same PDF) cropped from its page as a PNG at 2x, or None.

    The caption is found on its page; the figure is the graphics above it (images, drawing paths, embedded
    PDF figures) within MAX_GAP_POINTS of each other. None when that fails, or the crop is tiny or blank.
    """
    page_number = _page_of(figure.anchor)
    pdf = _open(data) if page_number else None
    if pdf is None or page_number is None:
        return None
    try:
        if page_number > len(pdf):
            return None
        page = pdf[page_number - 1]
        located = _locate(page, figure.label, figure.caption)
        if located is None or page.get_rotation() != 0:
            return None
        (left, bottom, right, top), _ = located
        if right - left < MIN_CROP_POINTS[0] or top - bottom < MIN_CROP_POINTS[1]:
            return None
        box_left, box_bottom, box_right, box_top = page.get_cropbox()
        crop = (left - box_left, bottom - box_bottom, box_right - right, box_top - top)
        bitmap = page.render(
            scale=RENDER_SCALE,
            crop=tuple(max(0.0, c) for c in crop),
            force_bitmap_format=pdfium_c.FPDFBitmap_BGR,
            rev_byteorder=True,
        )
        pixels = bytes(bitmap.buffer)
        width, height, stride = bitmap.width, bitmap.height, bitmap.stride
        if _is_blank(pixels, width, height, stride):
            return None
        return _png(pixels, width, height, stride)
    except (pdfium.PdfiumError, ValueError):
        return None
    finally:
        pdf.close()


# --- opening and reading text ---


def _open(data: bytes) -> pdfium.PdfDocument | None:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        return None
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:  # damaged, or needs a password
        return None
    if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:  # encrypted, even if it opens without a password
        pdf.close()
        return None
    return pdf


def _page_text(pdf: pdfium.PdfDocument, number: int) -> str:
    page = pdf[number - 1]
    try:
        text = page.get_textpage().get_text_range()
    except pdfium.PdfiumError:
        return ""
    text = _SOFT_HYPHEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _HYPHEN_BREAK.sub("", text)
    return _CONTROL.sub("", text.translate(_LIGATURES))


@dataclass
class _Reading:
    """What carries over from page to page: the heading we are under, and whether it is the bibliography."""

    section: str = ""
    in_bibliography: bool = False


@dataclass
class _Block:
    section: str
    text: str
    caption_label: str | None  # "Figure 1", "Table 2" for a caption; None for a paragraph


def _blocks(text: str, state: _Reading) -> Iterator[_Block]:
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if not _ARXIV_STAMP.match(line)]
    current: list[str] = []
    caption_label: str | None = None

    def flush() -> Iterator[_Block]:
        nonlocal current, caption_label
        joined = " ".join(" ".join(current).split())
        if joined and (caption_label or not state.in_bibliography):
            yield _Block(state.section, joined, caption_label)
        current, caption_label = [], None

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            yield from flush()
            continue
        heading = _heading(line)
        if heading is not None:
            yield from flush()
            while _continues_heading(heading, lines[index] if index < len(lines) else ""):
                heading = f"{heading} {lines[index]}"
                index += 1
            state.section = heading
            state.in_bibliography = heading.lower() in _BIBLIOGRAPHY
            continue
        if state.in_bibliography and _APPENDIX_HEADING.match(line):
            yield from flush()
            state.section, state.in_bibliography = line, False
            continue
        caption = _CAPTION.match(line)
        starts_block = not current or bool(_SENTENCE_END.search(current[-1]))
        if caption and (caption.group("sep") == ":" or starts_block):
            yield from flush()
            caption_label = " ".join(caption.group("label").split())
        current.append(line)
        if len(current) > 1 and _SENTENCE_END.search(line) and len(line) < 0.85 * max(len(x) for x in current[:-1]):
            yield from flush()  # the short last line of a paragraph
    yield from flush()


def _heading(line: str) -> str | None:
    if len(line) > 70:
        return None
    if line.rstrip(":").lower() in _NAMED_HEADINGS:
        return line
    numbered = _NUMBERED_HEADING.match(line)
    if numbered and not line.endswith((".", ",", ";")) and len(numbered.group(2).split()) <= 10:
        title = numbered.group(2)
        if sum(c.isalpha() for c in title) >= 3 and sum(c.isdigit() for c in title) <= 2:  # not a table row
            return line
    return None


def _continues_heading(heading: str, following: str) -> bool:
    """A heading wrapped onto a second line: "3 ACCURATE LIP-SYNCING" / "FOR VIDEOS", or one ending in "from"."""
    if not following or len(following) > 50 or _heading(following) or _CAPTION.match(following):
        return False
    title = heading.split(None, 1)[-1]
    if title.isupper() and following.isupper():
        return True
    return bool(_WRAPPED_TITLE_END.search(heading)) and following[:1].isupper() and not following.endswith(".")


# --- figures: the caption on its page, and the graphics above it ---


def _page_of(anchor: str) -> int | None:
    found = re.fullmatch(r"page=(\d+)", anchor)
    return int(found.group(1)) if found else None


def _pdf_figure(pdf: pdfium.PdfDocument, number: int, label: str, caption: str) -> Figure:
    located = _locate(pdf[number - 1], label, caption)
    kind: FigureKind = "raster" if located and located[1] else "drawing"
    return Figure(label, caption, f"page={number}", None, kind)


Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF points


def _locate(page: pdfium.PdfPage, label: str, caption: str) -> tuple[Box, bool] | None:
    """The figure's box above its caption on `page`, and whether it holds a raster image; None if not found."""
    textpage = page.get_textpage()
    caption_box = _caption_box(textpage, label, caption)
    if caption_box is None:
        return None
    cap_left, _, cap_right, cap_top = caption_box
    width, height = page.get_size()
    candidates = []
    for obj in page.get_objects(filter=_GRAPHICS, max_depth=1):
        left, bottom, right, top = obj.get_bounds()
        if (right - left) * (top - bottom) > 0.8 * width * height:
            continue  # a page background
        if bottom >= cap_top - 2 and right > cap_left - 2 and left < cap_right + 2:
            candidates.append((bottom, (left, bottom, right, top), obj))
    candidates.sort(key=lambda found: found[0])
    region: Box | None = None
    frontier = cap_top
    has_raster = False
    for bottom, box, obj in candidates:
        if bottom - frontier > MAX_GAP_POINTS:
            break
        region = box if region is None else _union(region, box)
        frontier = max(frontier, box[3])
        has_raster = has_raster or _holds_image(page, obj)
    if region is None:
        return None
    pad = 3.0
    left, bottom, right, top = region
    padded = (max(0.0, left - pad), max(cap_top, bottom - pad), min(width, right + pad), min(height, top + pad))
    return padded, has_raster


def _caption_box(textpage: pdfium.PdfTextPage, label: str, caption: str) -> Box | None:
    """The box of the caption's first line: the hit of `label` followed by ':' or '.' and the caption's words."""
    wanted = _alnum(caption)[:12]
    searcher = textpage.search(label, match_case=True)
    while (hit := searcher.get_next()) is not None:
        index, _ = hit
        following = _SOFT_HYPHEN.sub("", textpage.get_text_range(index, len(label) + 80).replace("\r", ""))
        matched = _CAPTION.match(following.split("\n", 1)[0])
        if matched is None or " ".join(matched.group("label").split()) != label:
            continue
        if _alnum(following[matched.start("rest") :]).startswith(wanted):
            return _line_box(textpage, index)
    return None


def _line_box(textpage: pdfium.PdfTextPage, start: int) -> Box | None:
    boxes = []
    for index in range(start, min(textpage.count_chars(), start + 400)):
        if textpage.get_text_range(index, 1) in ("\n", "\r"):
            break
        left, bottom, right, top = textpage.get_charbox(index)
        if right > left and top > bottom:
            boxes.append((left, bottom, right, top))
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _alnum(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _holds_image(page: pdfium.PdfPage, obj: pdfium.PdfObject) -> bool:
    if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return True
    if obj.type != pdfium_c.FPDF_PAGEOBJ_FORM:
        return False
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], form=obj, max_depth=4))


# --- pixels: the blank check and a PNG writer (no imaging library needed) ---


def _is_blank(pixels: bytes, width: int, height: int, stride: int) -> bool:
    """Nearly uniform (white, or one colour): fewer than 0.5% of sampled pixels differ from the background."""
    step = max(1, (width * height) // 40_000)
    samples = [
        sum(pixels[row * stride + col * 3 : row * stride + col * 3 + 3]) // 3
        for pixel in range(0, width * height, step)
        for row, col in [divmod(pixel, width)]
    ]
    if not samples:
        return True
    background = statistics.median(samples)
    differing = sum(1 for value in samples if abs(value - background) > 40)
    return differing < 0.005 * len(samples)


def _png(pixels: bytes, width: int, height: int, stride: int) -> bytes:
    rows = b"".join(b"\x00" + pixels[row * stride : row * stride + width * 3] for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")
