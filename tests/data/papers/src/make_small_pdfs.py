"""Write the small PDFs of tests/data/papers: what the reader must refuse, and figures to crop.

Run from the repository root (needs qpdf: apt-get install qpdf): python tests/data/papers/src/make_small_pdfs.py
- scan-no-text.pdf: one page holding an image and no text layer;
- plain-text.pdf: one page of Helvetica text, and from it (qpdf, AES-256) encrypted-password.pdf (user password
  "secret") and encrypted-no-password.pdf (opens without a password; an owner password restricts it);
- figure-box.pdf, figure-blank.pdf, figure-tiny.pdf: "Figure 1:" under a drawn box, a white box, a 20 x 10 pt box.
"""

import subprocess
import tempfile
import zlib
from pathlib import Path

papers = Path(__file__).resolve().parent.parent


def pdf(objects: list[bytes]) -> bytes:
    """A PDF file from numbered objects (1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def page(contents: bytes, resources: bytes) -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + resources + b" /Contents 4 0 R >>",
        stream(b"", contents),
    ]


# A scanned page: one 200x100 grey image with two dark bars, drawn over most of the page; no text at all.
width, height = 200, 100
pixels = bytes(
    40 if (20 <= y < 35 and 20 <= x < 180) or (60 <= y < 70 and 20 <= x < 120) else 245
    for y in range(height)
    for x in range(width)
)
image = stream(
    b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8"
    b" /Filter /FlateDecode" % (width, height),
    zlib.compress(pixels, 9),
)
scan = page(b"q 500 0 0 250 56 450 cm /Im1 Do Q", b"<< /XObject << /Im1 5 0 R >> >>") + [image]
(papers / "scan-no-text.pdf").write_bytes(pdf(scan))

# A page of text in Helvetica (a standard font: nothing embedded), then encrypted by qpdf.
lines = [b"1 Introduction", b"Widgets are everywhere in small models, and we ask whether most can be removed."] * 12
text = b"BT /F1 11 Tf 72 720 Td 14 TL " + b" ".join(b"(" + line + b") '" for line in lines) + b" ET"
font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
plain = pdf(page(text, b"<< /Font << /F1 5 0 R >> >>") + [font])
(papers / "plain-text.pdf").write_bytes(plain)
with tempfile.TemporaryDirectory() as scratch:
    source = Path(scratch) / "plain.pdf"
    source.write_bytes(plain)
    for name, user in (("encrypted-password.pdf", "secret"), ("encrypted-no-password.pdf", "")):
        subprocess.run(
            ["qpdf", "--encrypt", user, "owner-pw", "256", "--", str(source), str(papers / name)], check=True
        )

# A figure drawn above its caption, three ways: a black box with a diagonal (a figure), the same box filled
# white (renders blank), and a 20x10 box (too small to be a figure). Helvetica text around it, no images.
drawings = {
    "figure-box.pdf": b"0 0 0 RG 2 w 150 420 300 150 re S 150 420 m 450 570 l S",
    "figure-blank.pdf": b"1 1 1 rg 150 420 300 150 re f",
    "figure-tiny.pdf": b"0 0 0 rg 290 420 20 10 re f",
}
body = [b"1 Introduction", b"Widgets are everywhere in small models, and we ask whether most can be removed."] * 3
for name, drawing in drawings.items():
    words = b"BT /F1 11 Tf 72 720 Td 14 TL " + b" ".join(b"(" + line + b") '" for line in body) + b" ET"
    caption = b"BT /F1 9 Tf 150 400 Td (Figure 1: A box drawn above its caption.) Tj ET"
    content = words + b"\n" + drawing + b"\n" + caption
    (papers / name).write_bytes(pdf(page(content, b"<< /Font << /F1 5 0 R >> >>") + [font]))
