"""Phone photos and scans: a photo becomes a one-page PDF, and pages without text are read by OCR.
Pure: the OCR itself is a function handed in (`Ocr`, run by mailbot/ocr/ in the shell), so every
decision here is a function of bytes and of what that function answered.

* A photo (JPEG, PNG, HEIC) is turned into a one-page PDF with img2pdf, losslessly: a JPEG is
  embedded as it is, other images as PNG data of their decoded pixels. Its EXIF orientation is
  honoured. OCR then reads it; the text layer it gives is laid over the image (the image is not
  touched), and the text feeds classification like a PDF's own text layer.
* An image under `MIN_PAGE_SIDE` pixels is no photo of a page (a logo, an icon): "not_pdf", as
  before. A photo too small (shorter side under `MIN_PHOTO_SIDE` pixels) or too blurred to read (mean word
  confidence under `MIN_CONFIDENCE`, or fewer than `MIN_OCR_LETTERS` letters read) is
  "photo_unreadable": named to the sender and asked for again.
* A PDF without a text layer (a scan) of up to `INLINE_OCR_PAGES` pages is read whole while its
  email is handled, and the searchable copy (the original pages with the text layer over them) is
  what the staff receive. A longer scan has its first pages read then, for classification, and
  the rest queued: a background job (schedule/jobs.run_ocr_queue) reads it up to `MAX_OCR_PAGES` pages
  and makes the copy, so a 200-page scan does not hold up the mailbox.
* Without OCR (no Tesseract), a photo still becomes a PDF, judged by its name alone.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Callable

PHOTO_KINDS = frozenset({"jpeg", "png", "heic"})
MIN_PHOTO_SIDE = 800        # pixels on the shorter side: a page photographed whole is 2000+
MIN_PAGE_SIDE = 300         # smaller is a logo or an icon (inline in an HTML email), not a page
MIN_CONFIDENCE = 60.0       # Tesseract's mean word confidence, 0-100
MIN_OCR_LETTERS = 40        # letters read, for a page to count as read
INLINE_OCR_PAGES = 3        # a scan up to this long is read whole while its email is handled
MAX_OCR_PAGES = 200         # pages of one scan read at most (the page limit per document)
MAX_IMAGE_PIXELS = 60_000_000   # larger images are not decoded (a decompression bomb)


@dataclass(frozen=True)
class OcrPage:
    text: str
    confidence: float       # mean word confidence, 0-100; -1 when no word was read
    layer: bytes            # a one-page PDF holding only the (invisible) text, as Tesseract set it
    seconds: float = 0.0


Ocr = Callable[[bytes], "OcrPage | None"]   # a page image -> what OCR read; None: not read


@dataclass(frozen=True)
class Converted:
    """A photo or scan after conversion and OCR."""

    pdf: bytes | None          # what the staff receive (None: the original, as it came)
    text: str                  # OCR text ("" when not read)
    problem: str | None        # "photo_unreadable" | "broken" | None
    detail: str                # for the staff and the case view: what was done, and how well


def photo_to_pdf(data: bytes, ocr: Ocr | None) -> Converted:
    """A photo of a document -> a one-page PDF, searchable when OCR could read it."""
    try:
        image = _open_image(data)
        width, height = image.size
        if min(width, height) < MIN_PAGE_SIDE:
            return Converted(None, "", "not_pdf", f"an image too small to be a page ({width}x{height} pixels)")
        if min(width, height) < MIN_PHOTO_SIDE:
            return Converted(None, "", "photo_unreadable", f"photo too small to read ({width}x{height} pixels)")
        embedded, upright = _lossless(data, image)
        import img2pdf
        pdf = stable_id(img2pdf.convert(embedded, rotation=img2pdf.Rotation.ifvalid, nodate=True))
    except TooLarge as exc:
        return Converted(None, "", "broken", f"the image is not decoded: {exc}")
    except Exception as exc:   # the boundary: whatever a damaged image makes the decoders do
        return Converted(None, "", "broken", f"the image cannot be read ({type(exc).__name__})")
    if ocr is None:
        return Converted(pdf, "", None, "photo made into a PDF; not read (no OCR)")
    page = ocr(upright)
    if page is None:
        return Converted(pdf, "", None, "photo made into a PDF; OCR did not finish")
    letters = sum(ch.isalpha() for ch in page.text)
    if page.confidence < MIN_CONFIDENCE or letters < MIN_OCR_LETTERS:
        return Converted(None, page.text, "photo_unreadable",
                         f"photo too blurred to read (OCR confidence {max(page.confidence, 0):.0f}, {letters} letters)")
    return Converted(with_text_layer(pdf, [page.layer]), page.text, None,
                     f"photo made into a PDF and read by OCR (confidence {page.confidence:.0f})")


class TooLarge(Exception):
    """An image with more pixels than MAX_IMAGE_PIXELS (a decompression bomb, or no phone's)."""


def _open_image(data: bytes):
    from PIL import Image, ImageOps
    from pillow_heif import register_heif_opener
    register_heif_opener()
    image = Image.open(io.BytesIO(data))   # reads the header only
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise TooLarge(f"{image.width}x{image.height} pixels, more than we decode")
    image.load()
    return ImageOps.exif_transpose(image)


def _lossless(data: bytes, image) -> tuple[bytes, bytes]:
    """(what img2pdf embeds, what OCR reads): a JPEG as it is (OCR gets it upright); anything else
    as PNG of its pixels, without alpha (img2pdf refuses transparency)."""
    if data[:3] == b"\xff\xd8\xff":
        return data, data if not _rotated(data) else _png(image)
    if image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGB")
    encoded = _png(image)
    return encoded, encoded


def _rotated(data: bytes) -> bool:
    from PIL import Image
    with Image.open(io.BytesIO(data)) as original:
        return original.getexif().get(0x0112, 1) not in (1, None)


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def ocr_scan(data: bytes, pages: int, ocr: Ocr, max_pages: int = INLINE_OCR_PAGES, *,
             copy_if_partial: bool = False) -> Converted:
    """A PDF without a text layer: read the images of its first `max_pages` pages. The searchable
    copy is made when every page was read (or, `copy_if_partial`, when the first ones were: the
    background job's page limit). Never raises."""
    try:
        images = page_images(data, min(pages, max_pages))
    except Exception as exc:
        return Converted(None, "", None, f"scan not read: page images unreadable ({type(exc).__name__})")
    read = [ocr(image) if image is not None else None for image in images]
    done = [p for p in read if p is not None]
    text = "\n\n".join(p.text for p in done)
    if not done:
        return Converted(None, "", None, "scan: OCR found no page it could read")
    confidence = sum(p.confidence for p in done) / len(done)
    note = f"read by OCR ({len(done)} of {pages} pages, confidence {confidence:.0f})"
    whole = len(done) == pages
    if not whole and not (copy_if_partial and len(done) == len(read)):
        return Converted(None, text, None, note)
    try:
        layers = [p.layer for p in done]
        return Converted(with_text_layer(data, layers), text, None, note + ("" if whole else "; copy searchable so far"))
    except Exception as exc:
        return Converted(None, text, None, note + f"; no searchable copy ({type(exc).__name__})")


def page_images(data: bytes, count: int) -> list[bytes | None]:
    """The largest image of each of the first `count` pages, as PNG (None: a page without one)."""
    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(data))
    out: list[bytes | None] = []
    for index in range(count):
        images = list(reader.pages[index].images)
        if not images:
            out.append(None)
            continue
        biggest = max(images, key=lambda i: i.image.width * i.image.height)
        out.append(_png(biggest.image))
    return out


def with_text_layer(pdf: bytes, layers: list[bytes]) -> bytes:
    """`pdf` with each text-only page of `layers` laid over the page of the same number, scaled
    to cover it: the original images stay as they are; the text is invisible but searchable."""
    from pypdf import PdfReader, PdfWriter, Transformation
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page, layer_pdf in zip(writer.pages, layers):
        layer = PdfReader(io.BytesIO(layer_pdf)).pages[0]
        box, text_box = page.mediabox, layer.mediabox
        sx = float(box.width) / float(text_box.width)
        sy = float(box.height) / float(text_box.height)
        page.merge_transformed_page(layer, Transformation().scale(sx, sy).translate(float(box.left), float(box.bottom)))
    out = io.BytesIO()
    writer.write(out)
    return stable_id(out.getvalue())


_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]{32})>\s*<([0-9A-Fa-f]{32})>\s*\]")


def stable_id(pdf: bytes) -> bytes:
    """The same PDF for the same input: the trailer's /ID (random or time-based in the writers)
    becomes a digest of the file, same length, so the offsets stay right and the same photo sent
    twice gives the same document."""
    found = list(_ID.finditer(pdf))
    if not found:
        return pdf
    digest = hashlib.md5(_ID.sub(b"/ID", pdf), usedforsecurity=False).hexdigest().encode()
    out = bytearray(pdf)
    for match in found:
        for group in (1, 2):
            out[match.start(group):match.end(group)] = digest
    return bytes(out)
