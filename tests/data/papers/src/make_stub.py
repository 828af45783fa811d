"""Derive stub-2508.08468v6.html from the real page: the same wrapper, infobox, title, authors and abstract,
with the article's body (every section, the bibliography included) cut out, as arXiv serves some pages.

Run from the repository root: python tests/data/papers/src/make_stub.py
"""

from pathlib import Path

papers = Path(__file__).resolve().parent.parent
page = (papers / "2508.08468v6.html").read_text(encoding="utf-8")
start = page.index('<section id="S1" class="ltx_section">')
end = page.index("</article>")
(papers / "stub-2508.08468v6.html").write_text(page[:start] + page[end:], encoding="utf-8")
