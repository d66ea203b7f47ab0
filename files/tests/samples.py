"""Files generated in the tests: real formats, built from scratch."""

import io
import struct
import zipfile
import zlib

from PIL import Image
from reportlab.pdfgen import canvas

RUSSIAN = (
    "Съешь же ещё этих мягких французских булок, да выпей чаю.\n"
    "Широкая электрификация южных губерний даст мощный толчок подъёму сельского хозяйства.\n"
    "В чащах юга жил бы цитрус? Да, но фальшивый экземпляр!\n"
)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (640, 480), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=(200, 30, 60) if mode == "RGB" else 128).save(buffer, format=fmt)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def pdf_bytes(pages: list[str]) -> bytes:
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    for text in pages:
        if text:
            document.drawString(72, 720, text)
        document.showPage()
    document.save()
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_of_zeros(size: int) -> bytes:
    """A zip bomb in miniature: ``size`` zero bytes compressed about 1000:1, written as a stream."""
    buffer = io.BytesIO()
    block = b"\x00" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(size // len(block)):
            member.write(block)
    return buffer.getvalue()
