"""arXiv's HTML rendering (LaTeXML output) as a FullText: paragraphs with their ids, figures, table captions, licence.

Pure: bytes in, values out (no network, no database). Only the LaTeXML article is read, so arXiv's wrapper
(header, banner, navigation, footer, the report-an-issue dialog) never reaches the text. Math is flattened to
`$<alttext>$`, the TeX the paper was written in: the LLM quotes this text and the quote check matches against it.
A page that is not usable LaTeXML output gives None, and the reader tries the PDF instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree, html

from bot.core.fulltext import Figure, FigureKind, FullText, Paragraph

MIN_BODY_CHARS = 500  # less body text than this is a stub (arXiv serves some with HTTP 200 and an infobox only)

# Elements whose text is not part of a paragraph as read: footnotes are popups in the middle of a sentence,
# ltx_ERROR marks a macro LaTeXML could not convert (its text is the macro's name), equation numbers are noise.
_SKIPPED_CLASSES = frozenset({"ltx_note", "ltx_ERROR", "ltx_tag_equation", "ltx_bibliography"})
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "button", "nav", "header", "footer", "figure", "template"})
_NESTED_PARAGRAPHS = frozenset({"ltx_para", "ltx_itemize", "ltx_enumerate", "ltx_description"})
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "tbody",
        "thead",
        "tr",
        "td",
        "th",
        "br",
        "section",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "figcaption",
    }
)
# The section levels a paragraph is filed under; \paragraph{} headings are run-in and too fine to select by.
_SECTION_CLASSES = ("ltx_section", "ltx_appendix", "ltx_subsection", "ltx_subsubsection")
# `2604.05015v1/x1.png`: arXiv's newer pages name images by the versioned directory, relative to /html/.
_VERSIONED_DIR = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})v\d+/", re.IGNORECASE)
_PANEL_LETTER = re.compile(r"^\(([a-z0-9]{1,3})\)\s*", re.IGNORECASE)


def parse_html(page: bytes, *, url: str, arxiv_id: str, version: int) -> FullText | None:
    """The paper in `page` (served at `url`, the final address after redirects), or None if it is not usable."""
    root = _parse(page)
    if root is None:
        return None
    article = _first(root.xpath(f"//article[{_has_class('ltx_document')}]"))
    if article is None:
        return None
    body = tuple(_body_paragraphs(article))
    if sum(len(p.text) for p in body) < MIN_BODY_CHARS:
        return None
    abstract = _abstract(article)
    base = _base_url(root, url)
    return FullText(
        arxiv_id=arxiv_id,
        version=version,
        kind="html",
        url=url,
        license=_license(root),
        paragraphs=((abstract,) if abstract else ()) + body,
        figures=tuple(_figures(article, base)),
        table_captions=tuple(_table_captions(article)),
    )


def resolve_src(src: str, *, base: str) -> str | None:
    """An image's address: `src` as written in the page against the page's base (see `_base_url`).

    `2604.05015v1/x1.png` names the paper's directory under arXiv's /html/ root, wherever the page itself is.
    data: URIs (inline logos) and anything that is not http(s) give None.
    """
    src = src.strip()
    if not src or src.lower().startswith("data:"):
        return None
    if _VERSIONED_DIR.match(src):
        resolved = urljoin(urljoin(base, "/html/"), src)
    else:
        resolved = urljoin(base, src)
    return resolved if urlsplit(resolved).scheme in ("http", "https") else None


def _parse(page: bytes) -> etree._Element | None:
    # The HTML parser never resolves external entities or fetches anything; no_network and huge_tree=False say so
    # explicitly (huge_tree off keeps libxml2's limits against very deep or very large documents).
    try:
        encoding = "utf-8" if _is_utf8(page) else None
        parser = html.HTMLParser(
            encoding=encoding, no_network=True, huge_tree=False, remove_comments=True, remove_pis=True
        )
        return html.document_fromstring(page, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _first(found: list[etree._Element]) -> etree._Element | None:
    return found[0] if found else None


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _base_url(root: etree._Element, url: str) -> str:
    """What relative addresses in the page resolve against: <base href> if present, else the page as a directory."""
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    page_dir = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    href = _first(root.xpath("//base/@href"))
    # <base href> resolves against the document's own address, as a browser does.
    return urljoin(url, str(href).strip()) if href is not None and str(href).strip() else page_dir


def _license(root: etree._Element) -> str | None:
    el = _first(root.xpath("//*[@id='license-tr']"))
    if el is None:
        return None
    text = re.sub(r"^licen[sc]e\s*:\s*", "", flatten(el), flags=re.IGNORECASE)
    return text or None


def flatten(el: etree._Element, *, skip: frozenset[str] = _SKIPPED_CLASSES) -> str:
    """The element's text as a reader sees it: math through its TeX, whitespace collapsed."""
    parts: list[str] = [el.text or ""]
    _walk(el, parts, skip)
    return " ".join("".join(parts).split())


def _walk(el: etree._Element, out: list[str], skip: frozenset[str]) -> None:
    for child in el:
        tag = _local(child)
        if not tag:  # a comment or processing instruction left by the parser
            pass
        elif tag in _SKIPPED_TAGS or (_classes(child) & skip):
            pass
        elif tag == "math":
            out.append(f"${_math_tex(child)}$")
        else:
            block = tag in _BLOCK_TAGS
            if block:
                out.append(" ")
            if child.text:
                out.append(child.text)
            _walk(child, out, skip)
            if block:
                out.append(" ")
        if child.tail:
            out.append(child.tail)


def _math_tex(math: etree._Element) -> str:
    alttext = math.get("alttext")
    if alttext is None:
        annotation = _first(math.xpath(".//*[local-name()='annotation'][@encoding='application/x-tex']"))
        alttext = "".join(annotation.itertext()) if annotation is not None else "".join(math.itertext())
    return " ".join(alttext.split())


def _abstract(article: etree._Element) -> Paragraph | None:
    el = _first(article.xpath(f".//*[{_has_class('ltx_abstract')}]"))
    if el is None:
        return None
    text = flatten(el, skip=_SKIPPED_CLASSES | {"ltx_title_abstract"})
    return Paragraph(el.get("id") or "abstract", "Abstract", text) if text else None


def _body_paragraphs(article: etree._Element) -> Iterator[Paragraph]:
    """Every ltx_para outside figures, tables, footnotes, the abstract and the bibliography, in reading order.

    A list's items are paragraphs of their own (each has its id), so the paragraph around a list reads without it.
    """
    for para in article.xpath(f".//div[{_has_class('ltx_para')}]"):
        if para.xpath(
            f"ancestor::figure | ancestor::*[{_has_class('ltx_bibliography')} or {_has_class('ltx_abstract')}"
            f" or {_has_class('ltx_note')}]"
        ):
            continue
        text = flatten(para, skip=_SKIPPED_CLASSES | _NESTED_PARAGRAPHS)
        item = para.getparent()
        if text and item is not None and "ltx_item" in _classes(item):
            tag = _first(item.xpath(f"./*[{_has_class('ltx_tag')}]"))
            marker = flatten(tag) if tag is not None else ""
            if any(c.isalnum() for c in marker):  # "1." or "(i)", not a bullet
                text = f"{marker} {text}"
        if text:
            yield Paragraph(para.get("id") or "", _section_of(para), text)


def _section_of(el: etree._Element) -> str:
    condition = " or ".join(_has_class(name) for name in _SECTION_CLASSES)
    section = _first(el.xpath(f"ancestor::section[{condition}][1]"))
    if section is None:
        return ""
    heading = _first(section.xpath(f"./*[{_has_class('ltx_title')}]"))
    return flatten(heading) if heading is not None else ""


def _figures(article: etree._Element, base: str) -> Iterator[Figure]:
    for fig in article.xpath(f".//figure[{_has_class('ltx_figure')}][not(ancestor::figure)]"):
        label, caption = _caption(fig)
        panels = tuple(_panels(fig, label, base))
        image_url, kind = _own_image(fig, base)
        if image_url is None and kind is None and panels:
            # A figure made only of sub-figures shows as its first one wherever one image stands for it.
            lead = next((p for p in panels if p.image_url), panels[0])
            image_url, kind = lead.image_url, lead.kind
        yield Figure(label, caption, fig.get("id") or "", image_url, kind or "drawing", panels)


def _panels(fig: etree._Element, parent_label: str, base: str) -> Iterator[Figure]:
    for number, panel in enumerate(_own(fig, ".//figure"), start=1):
        tag, caption = _caption(panel)
        letter = _PANEL_LETTER.match(tag or caption)
        if letter and not tag:
            caption = caption[letter.end() :]
        suffix = f"({letter.group(1)})" if letter else f" panel {number}"
        image_url, kind = _own_image(panel, base)
        yield Figure(f"{parent_label}{suffix}".strip(), caption, panel.get("id") or "", image_url, kind or "drawing")


def _caption(fig: etree._Element) -> tuple[str, str]:
    """(label as printed, caption without it) from the figure's own figcaption, not its panels'."""
    figcaption = next(iter(_own(fig, ".//figcaption")), None)
    if figcaption is None:
        return "", ""
    tag = _first(figcaption.xpath(f".//*[{_has_class('ltx_tag')}]"))
    label = flatten(tag).rstrip(":. ").strip() if tag is not None else ""
    caption = flatten(figcaption, skip=_SKIPPED_CLASSES | {"ltx_tag"})
    return label, caption.lstrip(":. ").strip()


def _own_image(fig: etree._Element, base: str) -> tuple[str | None, FigureKind | None]:
    """The figure's image outside its sub-figures: (address, "raster"), (None, "drawing"), or (None, None)."""

    for img in _own(fig, ".//img"):
        src = img.get("src") or ""
        if src.strip().lower().split("?")[0].endswith(".svg"):
            return None, "drawing"
        resolved = resolve_src(src, base=base)
        if resolved:
            return resolved, "raster"
    if _own(fig, f".//*[local-name()='svg'] | .//*[{_has_class('ltx_picture')}] | .//object[@type='image/svg+xml']"):
        return None, "drawing"
    return None, None


def _own(fig: etree._Element, path: str) -> list[etree._Element]:
    """What `path` finds in `fig` itself, not in its sub-figures."""
    return [el for el in fig.xpath(path) if _first(el.xpath("ancestor::figure[1]")) is fig]


def _table_captions(article: etree._Element) -> Iterator[str]:
    for table in article.xpath(
        f".//figure[{_has_class('ltx_table')}][not(ancestor::figure[{_has_class('ltx_table')}])]"
    ):
        figcaption = _first(table.xpath("./figcaption"))
        text = flatten(figcaption) if figcaption is not None else ""
        if text:
            yield text
