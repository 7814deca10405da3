"""Photos of printed pages, made on the fly: a report page rendered with Pillow, then
"photographed" (turned a little, blurred, grainy, on a darker background, saved as a phone
JPEG, PNG or HEIC), and scanned PDFs (page images without a text layer). Deterministic."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int):
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def printed_page(lines: list[str] | str, *, width: int = 1240, height: int = 1754) -> Image.Image:
    """An A4 page at 150 dpi with the text set in a 22-pixel font (about 11 pt), like a printed report."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = _font(max(12, width // 56))
    y = height // 14
    for line in lines:
        for chunk in _wrap(line, 70):
            draw.text((width // 12, y), chunk, fill=20, font=font)
            y += int(font.size * 1.6)
    return page


def _wrap(line: str, width: int) -> list[str]:
    words, out, current = line.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return out + [current] if current or not out else out


def photographed(page: Image.Image, *, angle: float = 3.0, blur: float = 0.8, noise: int = 12,
                 scale: float = 1.0, seed: int = 7) -> Image.Image:
    """The page as a phone sees it: on a table, turned by `angle` degrees, out of focus by `blur`,
    with sensor noise, at `scale` of the page's resolution."""
    rng = random.Random(seed)
    shot = page.convert("RGB").rotate(angle, expand=True, fillcolor=(90, 80, 70), resample=Image.BICUBIC)
    if scale != 1.0:
        shot = shot.resize((max(1, int(shot.width * scale)), max(1, int(shot.height * scale))), Image.LANCZOS)
    if blur:
        shot = shot.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        grain = Image.effect_noise(shot.size, noise).convert("RGB")
        shot = Image.blend(shot, grain, 0.08 + rng.random() * 0.02)
    return shot


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def heic(image: Image.Image, quality: int = 80) -> bytes:
    from pillow_heif import register_heif_opener
    register_heif_opener()
    out = io.BytesIO()
    image.convert("RGB").save(out, "HEIF", quality=quality)
    return out.getvalue()


def scanned_pdf_of(pages: list[Image.Image]) -> bytes:
    """A PDF of page images with no text layer, as an office scanner makes it."""
    import img2pdf
    return img2pdf.convert([png(p.convert("L")) for p in pages], nodate=True)
