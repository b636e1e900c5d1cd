"""Recognising avatar images by their content. PNG, JPEG and GIF are told
apart by their magic bytes, then given a light structural check: the
header's width and height, and the file's chunks (PNG, each with its CRC),
marker segments (JPEG, up to the first scan, and the end-of-image marker)
or blocks (GIF) followed through to the end marker. A renamed file, a
truncated one, or one with data appended after its end marker is refused.

This checks structure only; the pixel data is not decoded."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

# the largest width or height accepted: osu! shows avatars at 128 pixels or
# so, and a small file can declare a huge canvas that viewers would allocate
MAX_SIDE = 4096

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8\xff"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif"}
# the file name extension each kind is stored under (bancho.py's avatar
# server looks for .jpg first, then .jpeg and .png)
EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif"}
NAMES = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF"}

NOT_AN_IMAGE = "Invalid file type: send a PNG, JPEG or GIF image."


class ImageError(ValueError):
    """The bytes are not an acceptable image; str() is the API's message."""


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # "png", "jpeg" or "gif"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]

    @property
    def name(self) -> str:
        return NAMES[self.kind]


def sniff(data: bytes) -> str | None:
    """The kind the magic bytes announce, or None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(JPEG_START):
        return "jpeg"
    if data[:6] in GIF_SIGNATURES:
        return "gif"
    return None


def identify(data: bytes) -> ImageInfo:
    """The image's kind and size, or ImageError saying what is wrong."""
    kind = sniff(data)
    if kind is None:
        raise ImageError(NOT_AN_IMAGE)
    width, height = _CHECKS[kind](data)
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ImageError(
            f"Invalid {NAMES[kind]} image: {width}x{height} pixels; "
            f"width and height must be 1 to {MAX_SIDE}."
        )
    return ImageInfo(kind, width, height)


# --- PNG ---------------------------------------------------------------------

# allowed bit depths for each colour type (PNG specification, IHDR)
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _png(data: bytes) -> tuple[int, int]:
    def bad(what: str) -> ImageError:
        return ImageError(f"Invalid PNG image: {what}.")

    pos = len(PNG_SIGNATURE)
    size: tuple[int, int] | None = None
    has_data = False
    while True:
        if pos + 12 > len(data):
            raise bad("truncated (no IEND chunk)")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise bad("truncated (no IEND chunk)")
        if not kind.isalpha():
            raise bad("malformed chunk")
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise bad(f"bad checksum in the {kind.decode()} chunk")
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise bad("it does not start with an IHDR chunk")
            width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(
                ">IIBBBBB", data, pos + 8
            )
            if depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
                raise bad("unsupported header values")
            size = (width, height)
        elif kind == b"IHDR":
            raise bad("more than one IHDR chunk")
        elif kind == b"IDAT":
            has_data = True
        elif kind == b"IEND":
            if not has_data:
                raise bad("no image data")
            if end != len(data):
                raise bad("data after the IEND chunk")
            return size
        pos = end


# --- JPEG --------------------------------------------------------------------

# start-of-frame markers (baseline, progressive, lossless, arithmetic ...);
# 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range but are not frames
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS = 0xDA


def _jpeg(data: bytes) -> tuple[int, int]:
    def bad(what: str) -> ImageError:
        return ImageError(f"Invalid JPEG image: {what}.")

    if not data.endswith(b"\xff\xd9"):
        raise bad("truncated (no end-of-image marker)")
    pos = 2  # after SOI
    size: tuple[int, int] | None = None
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise bad("malformed marker segment")
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= len(data):
            raise bad("truncated")
        marker = data[pos]
        pos += 1
        if marker == 0x01:  # TEM: no length
            continue
        if marker in (0x00, 0xD8, 0xD9) or 0xD0 <= marker <= 0xD7:
            raise bad("unexpected marker before the image data")
        if pos + 2 > len(data):
            raise bad("truncated")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            raise bad("truncated")
        if marker in _SOF_MARKERS and size is None:
            if length < 8:
                raise bad("malformed frame header")
            height, width, components = struct.unpack_from(">HHB", data, pos + 3)
            if components not in (1, 3, 4) or length != 8 + 3 * components:
                raise bad("malformed frame header")
            size = (width, height)
        elif marker == _SOS:
            if size is None:
                raise bad("no frame header before the image data")
            # the entropy-coded data follows; it must run to the EOI marker
            # checked above
            return size
        pos += length


# --- GIF ---------------------------------------------------------------------


def _gif(data: bytes) -> tuple[int, int]:
    def bad(what: str) -> ImageError:
        return ImageError(f"Invalid GIF image: {what}.")

    def skip_sub_blocks(pos: int) -> int:
        while True:
            if pos >= len(data):
                raise bad("truncated (no trailer)")
            count = data[pos]
            pos += 1 + count
            if count == 0:
                return pos

    if len(data) < 13:
        raise bad("truncated")
    width, height, packed = struct.unpack_from("<HHB", data, 6)
    pos = 13
    if packed & 0x80:  # global colour table
        pos += 3 * (2 << (packed & 7))
    images = 0
    while True:
        if pos >= len(data):
            raise bad("truncated (no trailer)")
        block = data[pos]
        if block == 0x3B:  # trailer
            if images == 0:
                raise bad("no image data")
            if pos + 1 != len(data):
                raise bad("data after the trailer")
            return width, height
        if block == 0x21:  # extension: label, then sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor
            if pos + 10 > len(data):
                raise bad("truncated")
            _left, _top, frame_width, frame_height, packed = struct.unpack_from("<HHHHB", data, pos + 1)
            if not frame_width or not frame_height:
                raise bad("empty frame")
            pos += 10
            if packed & 0x80:  # local colour table
                pos += 3 * (2 << (packed & 7))
            if pos >= len(data):
                raise bad("truncated")
            if not 2 <= data[pos] <= 8:  # LZW minimum code size
                raise bad("malformed image data")
            pos = skip_sub_blocks(pos + 1)
            images += 1
        else:
            raise bad(f"unknown block 0x{block:02X}")


_CHECKS = {"png": _png, "jpeg": _jpeg, "gif": _gif}
