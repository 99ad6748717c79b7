"""``ContentInspector``: a scan's type decided by its content, never by its name or the
browser's ``Content-Type`` (``gateway.core.applications.DocumentInspector``; issue 12
item 2).

* **PDF**: ``%PDF-1.x`` at byte 0, a cross-reference (``xref`` or an XRef stream),
  ``startxref`` and ``%%EOF`` in the tail, nothing but whitespace after the last
  ``%%EOF``; active content (``/JavaScript``, ``/JS``, ``/Launch``, ``/EmbeddedFile``,
  ``/RichMedia``, ``/XFA``) is refused. Kept as uploaded.
* **JPEG / PNG**: decoded with Pillow (the format named by the magic bytes must be the one
  decoded; at most :data:`MAX_PIXELS`), then **re-encoded** from the pixels alone: EXIF
  (location, camera), comments, ICC extras and any bytes after the image are gone.
* **Polyglots** — a file that is also something else: a second known signature at the
  start (``MZ``, ``PK``, ``<``, ``#!``, ELF), a ZIP end-of-directory record in the tail
  (a ZIP is read from its end), data after a JPEG's end-of-image or a PNG's ``IEND``,
  bytes after a PDF's last ``%%EOF`` — refused.

Everything else (executables renamed ``.pdf``, GIF, HTML, …) is refused with code
``type``.
"""

from __future__ import annotations

import io
import re
import warnings

from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from gateway.core.applications import DocumentInspector
from gateway.core.applications import DocumentRefused
from gateway.core.applications import InspectedDocument

MAX_PIXELS = 40_000_000
"""A 40-megapixel scan is plenty; bigger is a decompression bomb."""
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PDF_HEAD = re.compile(rb"^%PDF-[12]\.[0-9]")
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")
_FOREIGN_HEADS = (b"MZ", b"PK\x03\x04", b"\x7fELF", b"#!", b"<", b"\xca\xfe\xba\xbe", b"GIF8")
_ZIP_END = b"PK\x05\x06"
_ZIP_TAIL = 65_557
_PDF_TAIL = 2048


class ContentInspector:
    """:class:`DocumentInspector` for PDF, JPEG and PNG."""

    def __init__(self, max_pixels: int = MAX_PIXELS) -> None:
        self._max_pixels = max_pixels

    def inspect(self, data: bytes) -> InspectedDocument:
        if not data:
            raise DocumentRefused("empty")
        if data.startswith(_FOREIGN_HEADS):
            raise DocumentRefused("type")
        if _ZIP_END in data[-_ZIP_TAIL:]:
            raise DocumentRefused("polyglot")
        if _PDF_HEAD.match(data):
            return self._pdf(data)
        if data.startswith(_JPEG_MAGIC):
            return self._image(data, "JPEG")
        if data.startswith(_PNG_MAGIC):
            return self._image(data, "PNG")
        raise DocumentRefused("type")

    @staticmethod
    def _pdf(data: bytes) -> InspectedDocument:
        tail = data[-_PDF_TAIL:]
        end = data.rfind(b"%%EOF")
        if end < 0 or b"startxref" not in tail:
            raise DocumentRefused("damaged")
        if data[end + 5 :].strip():
            raise DocumentRefused("polyglot")
        if b"xref" not in data and b"/XRef" not in data:
            raise DocumentRefused("damaged")
        if b"trailer" not in data and b"/XRef" not in data:
            raise DocumentRefused("damaged")
        if _PDF_ACTIVE.search(data):
            raise DocumentRefused("polyglot")
        # Another format's header hidden in the first kilobyte (HTML, scripts).
        head = data[:1024].lower()
        if b"<html" in head or b"<script" in head or b"<svg" in head:
            raise DocumentRefused("polyglot")
        return InspectedDocument("application/pdf", data)

    def _image(self, data: bytes, expected: str) -> InspectedDocument:
        if expected == "JPEG" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise DocumentRefused("polyglot")
        if expected == "PNG" and not _png_ends_at_iend(data):
            raise DocumentRefused("polyglot")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as probe:
                    if probe.format != expected:
                        raise DocumentRefused("type")
                    width, height = probe.size
                    if width * height > self._max_pixels:
                        raise DocumentRefused("too_large")
                    probe.verify()
                with Image.open(io.BytesIO(data)) as image:
                    image.load()
                    upright = ImageOps.exif_transpose(image)
                    clean = _pixels_only(upright)
        except DocumentRefused:
            raise
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ):
            raise DocumentRefused("damaged") from None
        out = io.BytesIO()
        if expected == "JPEG":
            clean.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
            return InspectedDocument("image/jpeg", out.getvalue())
        clean.save(out, "PNG", optimize=True)
        return InspectedDocument("image/png", out.getvalue())


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the pixels and nothing else (no EXIF, text chunks, comments)."""
    mode = image.mode if image.mode in ("1", "L", "LA", "RGB", "RGBA", "P") else "RGB"
    source = image if mode == image.mode else image.convert(mode)
    clean = Image.new(mode, source.size)
    if mode == "P":
        palette = source.getpalette()
        if palette is not None:
            clean.putpalette(palette)
    clean.paste(source)
    return clean


def _png_ends_at_iend(data: bytes) -> bool:
    """The PNG's chunks walked from the signature: the file must end right after IEND."""
    at = len(_PNG_MAGIC)
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if kind == b"IEND":
            return at == len(data)
    return False


_port: type[DocumentInspector] = ContentInspector
