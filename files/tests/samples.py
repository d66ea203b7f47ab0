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


# Real texts in the languages whose legacy encodings are still met in uploads.
FRENCH = (
    "Je suis très déçu : le garçon a oublié la crème brûlée à l'hôtel.\n"
    "Où est passé l'été ? Ça ne va pas, dit-il, en lisant le reçu du façonnier.\n"
    "Noël approche ; les élèves préfèrent le théâtre à la leçon de français.\n"
)
FRENCH_SHORT = "Très déçu, le garçon.\n"
GERMAN = (
    "Größere Äpfel schmecken süßer als die übrigen Früchte.\n"
    "Der Bär läuft über die Straße, während die Bürger zögern.\n"
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.\n"
)
RUSSIAN_SHORT = "Привет, мир! Как дела?\n"

# Text formats libmagic tells apart, each as a file would really hold it.
TEXT_FORMATS = {
    "html": (
        b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Report</title></head>\n'
        b"<body>\n<h1>Quarterly report</h1>\n<p>Sales went up.</p>\n<script>alert(document.cookie)</script>\n"
        b"</body>\n</html>\n"
    ),
    "xml": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<catalog>\n  <book id="bk101">\n'
        b"    <author>Gambardella, Matthew</author>\n    <title>XML Developer's Guide</title>\n"
        b"  </book>\n</catalog>\n"
    ),
    "svg": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">\n'
        b'  <circle cx="50" cy="50" r="40" fill="red"/>\n  <script>alert(1)</script>\n</svg>\n'
    ),
    "python": (
        b'#!/usr/bin/env python3\n"""Print the first Fibonacci numbers."""\n\nimport sys\n\n\n'
        b"def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        yield a\n        a, b = b, a + b\n\n\n"
        b'if __name__ == "__main__":\n    print(list(fib(int(sys.argv[1]))))\n'
    ),
    "ini": b"[database]\nhost = localhost\nport = 5432\n\n[cache]\nbackend = memcached\ntimeout = 300\n",
    "setup.cfg": (
        b"[metadata]\nname = demo\nversion = 1.0.0\ndescription = A demo package\n\n"
        b"[options]\npackages = find:\ninstall_requires =\n    requests>=2\n\n[flake8]\nmax-line-length = 120\n"
    ),
    "desktop": (
        b"[Desktop Entry]\nType=Application\nName=Text Editor\nExec=gedit %U\nIcon=accessories-text-editor\n"
        b"Categories=GNOME;GTK;Utility;TextEditor;\nMimeType=text/plain;\n"
    ),
    "jinja": (
        b'{% extends "base.html" %}\n{% block content %}\n<ul>\n{% for item in items %}\n'
        b"  <li>{{ item.name }}</li>\n{% endfor %}\n</ul>\n{% endblock %}\n"
    ),
    "json": b'{\n  "name": "demo",\n  "tags": ["a", "b"],\n  "nested": {"ok": true, "n": 1.5}\n}\n',
    "json-array": b'[{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]\n',
    "csv": b"name,age,city\nAnn,30,Paris\nBob,25,Berlin\nEve,41,Moscow\n",
    "plain": b"Hello, world.\nThis is a plain note with two lines.\n",
    "truncated-json": b'{"name": "demo", "tags": ["a", "b"',
}
