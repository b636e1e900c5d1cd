"""Reading avatar uploads with Pillow, and storing what Pillow re-encodes
rather than the bytes sent: whatever a file hid beside its pixels
(appended data, a second file in a comment or a colour profile, metadata
such as a photo's location) does not reach the avatar server.

An upload is a PNG, JPEG or GIF by its magic bytes, and Pillow opens it as
that format alone. Every frame is bounded before it is decoded: its size,
the number of frames, and the pixels of all frames together, so a small
file that declares a huge canvas, a huge frame on a tiny canvas, or
thousands of frames costs no more than a real avatar. Pillow's own
decompression-bomb guard stays on beneath these bounds. Decoding takes
CPU time: the routes call identify and reencode in a worker thread.
Pillow is imported at the first upload, not at start: most processes never
see one, and its 3 MB count against the worker's memory target."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from PIL import ImageFile

# the largest width or height accepted: osu! shows avatars at 128 pixels or
# so, and a small file can declare a huge canvas that viewers would allocate
MAX_SIDE = 4096
# frames of an animation, and pixels decoded over all frames (each frame is
# drawn on the whole canvas): a 128x128 GIF may have MAX_FRAMES frames, a
# 1024x1024 one 32, a 4096x4096 one two (about a second of CPU time)
MAX_FRAMES = 1000
MAX_PIXELS = 2 * MAX_SIDE * MAX_SIDE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8\xff"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif"}
# the file name extension each kind is stored under (bancho.py's avatar
# server looks for .jpg first, then .jpeg and .png)
EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif"}
NAMES = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF"}
_EXIF_ORIENTATION = 0x0112

NOT_AN_IMAGE = "Invalid file type: send a PNG, JPEG or GIF image."


class ImageError(ValueError):
    """The bytes are not an acceptable image; str() is the API's message."""


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # "png", "jpeg" or "gif"
    width: int
    height: int
    frames: int = 1

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
    """The image's kind, size and frame count, every frame decoded within
    the bounds; or ImageError saying what is wrong."""
    with _opened(data) as (kind, image):
        return ImageInfo(kind, image.width, image.height, _walk_frames(kind, image))


def reencode(data: bytes) -> tuple[ImageInfo, bytes]:
    """identify(), and the image written anew by Pillow in the same format:
    the bytes to store."""
    from PIL import Image

    info = identify(data)  # bounds every frame before the second decode
    out = io.BytesIO()
    with _opened(data) as (kind, image):
        # what Pillow would carry over from the upload, emptied: comments,
        # colour profiles and XMP are bytes the sender chose
        options: dict = {"save_all": info.frames > 1, "comment": b"", "icc_profile": None, "xmp": b""}
        if kind == "jpeg":
            # the file's own quantisation: no second loss of quality
            options.update(quality="keep", exif=Image.Exif())
            orientation = image.getexif().get(_EXIF_ORIENTATION)
            if orientation:  # the one tag worth keeping: how to turn it
                options["exif"][_EXIF_ORIENTATION] = orientation
        image.save(out, format=NAMES[kind], **options)
    return info, out.getvalue()


# what Pillow raises for a file it cannot read: its own errors (its bomb
# error is a subclass of Exception alone), and those of the structures it walks
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError)


@contextlib.contextmanager
def _opened(data: bytes) -> Iterator[tuple[str, ImageFile.ImageFile]]:
    """The upload opened by Pillow as the format its magic bytes name alone,
    its canvas bounded, and Pillow's errors while it is used as ImageError."""
    from PIL import Image

    kind = sniff(data)
    if kind is None:
        raise ImageError(NOT_AN_IMAGE)
    try:
        with Image.open(io.BytesIO(data), formats=[NAMES[kind]]) as image:
            _check_side(kind, image.width, image.height)
            yield kind, image
    except ImageError:
        raise
    except (*_PILLOW_ERRORS, Image.DecompressionBombError) as exc:
        raise ImageError(f"Invalid {NAMES[kind]} image: {_reason(exc)}.") from None


def _reason(exc: BaseException) -> str:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):  # (its text names a Python object)
        return "not readable"
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return "truncated or damaged"
    if isinstance(exc, Image.DecompressionBombError):
        return f"too many pixels; width and height must be 1 to {MAX_SIDE}"
    return text[:200]


def _check_side(kind: str, width: int, height: int, what: str = "") -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ImageError(
            f"Invalid {NAMES[kind]} image: {what}{width}x{height} pixels; "
            f"width and height must be 1 to {MAX_SIDE}."
        )


def _walk_frames(kind: str, image: ImageFile.ImageFile) -> int:
    """Decode each frame in turn, each bounded before Pillow decodes it;
    the number of frames."""
    pixels = 0
    frames = 0
    while True:
        for tile in image.tile:  # where this frame draws, read from its header
            left, top, right, bottom = tile[1]  # (codec, extents, offset, args)
            _check_side(kind, right - left, bottom - top, f"frame {frames + 1} is ")
        frames += 1
        pixels += image.width * image.height
        if frames > MAX_FRAMES:
            raise ImageError(f"Invalid {NAMES[kind]} image: more than {MAX_FRAMES} frames.")
        if pixels > MAX_PIXELS:
            raise ImageError(
                f"Invalid {NAMES[kind]} image: {frames} frames of {image.width}x{image.height} pixels "
                f"are more than {MAX_PIXELS} pixels in all.")
        image.load()
        try:
            image.seek(frames)
        except EOFError:
            return frames
