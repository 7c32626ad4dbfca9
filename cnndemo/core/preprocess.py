"""Turn a drawing (canvas RGBA, or any image) into an MNIST-style 28x28 input.

MNIST was made this way (LeCun et al.): each digit was cropped to its ink,
scaled so that its longer side is 20 px *keeping the aspect ratio*, anti-aliased
(which is where the grey edge pixels come from), and pasted into a 28x28 field so
that its centre of mass sits at the centre. Doing the same to a drawing matters:
squashing the whole 280x280 canvas down to 28x28 gives a small, off-centre digit
that a network trained on MNIST has never seen.

Everything here works on numpy arrays and PIL; no torch, no streamlit.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

SIZE = 28  # the MNIST field
BOX = 20  # the longer side of the digit inside the field
INK_THRESHOLD = 0.1  # ink fainter than this is background noise, not a stroke
MIN_EXTENT = 0.08  # a drawing whose longer side is under 8% of the image is a dot


class DrawingError(ValueError):
    """A drawing that cannot be turned into a digit. `reason` says why."""

    reason = "invalid"


class BlankDrawing(DrawingError):
    reason = "blank"


class TooSmall(DrawingError):
    reason = "too_small"


class ImageReadError(ValueError):
    """An image file that cannot be read (missing, not an image, ...)."""


@dataclass
class Prepared:
    """The 28x28 input plus where it came from, for showing the steps."""

    image: np.ndarray  # float32 [28, 28] in [0, 1]: what the network sees
    ink: np.ndarray  # float32 [H, W] in [0, 1]: the drawing's ink
    bbox: tuple[int, int, int, int]  # (top, left, bottom, right) of the ink, exclusive
    scaled_shape: tuple[int, int]  # (h, w) of the digit after scaling; max(h, w) == 20
    center_of_mass: tuple[float, float]  # (row, col) in the 28x28 image


def ink_from_array(arr: np.ndarray) -> np.ndarray:
    """Ink in [0, 1] from a greyscale, RGB or RGBA image (uint8 or float in [0, 1]).

    Handles both conventions a drawing comes in:
    - opaque images (white ink on black, or black ink on white): the ink is the
      brightness, inverted when the background is light;
    - transparent images (any colour of ink on a transparent canvas): the ink is
      the opacity.
    """
    a = np.asarray(arr)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise DrawingError(f"expected an image array [H, W], [H, W, 3] or [H, W, 4], got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise BlankDrawing("the image is empty")
    integer = np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)
    scale = np.float32(1 / 255 if integer or a.max() > 1.0 else 1.0)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    alpha = a[:, :, 3] if a.ndim == 3 and a.shape[2] == 4 else None
    if alpha is not None and np.count_nonzero(alpha * scale >= 0.5) < alpha.size / 2:
        # Mostly transparent: strokes are wherever the canvas is painted.
        return np.clip(alpha.astype(np.float32) * scale, 0.0, 1.0)
    if a.ndim == 2:
        grey = a.astype(np.float32) * scale
    else:
        rgb = a[:, :, :3].astype(np.float32)
        grey = (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114) * scale
    if alpha is not None:
        grey *= alpha.astype(np.float32) * scale  # half-transparent pixels over a dark page
    # Decide the polarity from the border, which is background in any drawing.
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = 1.0 - grey if np.median(border) > 0.5 else grey
    return np.clip(ink, 0.0, 1.0)


def to_mnist(ink: np.ndarray, min_extent: float = MIN_EXTENT) -> Prepared:
    """Crop, scale the longer side to 20 px (aspect kept, anti-aliased), centre by mass."""
    ink = np.asarray(ink, dtype=np.float32)
    mask = ink > INK_THRESHOLD
    if not mask.any():
        raise BlankDrawing("there is no ink in the drawing")
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    h, w = bottom - top, right - left
    if max(h, w) < min_extent * max(ink.shape):
        raise TooSmall(
            f"the drawing is only {max(h, w)} px across on a {max(ink.shape)} px image; draw the digit bigger"
        )
    crop = np.where(mask[top:bottom, left:right], ink[top:bottom, left:right], 0.0)

    scale = BOX / max(h, w)
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    # BOX filtering averages every source pixel under each target pixel: the
    # anti-aliasing that gives MNIST its soft edges (and no ringing).
    small = np.asarray(
        Image.fromarray(crop.astype(np.float32)).resize((sw, sh), Image.Resampling.BOX),
        dtype=np.float32,
    )
    small = np.clip(small, 0.0, None)
    small /= small.max()  # MNIST strokes are full white at their core

    ys, xs = np.mgrid[0:sh, 0:sw]
    mass = small.sum()
    cy, cx = (small * ys).sum() / mass, (small * xs).sum() / mass
    # MNIST's centre of mass sits at pixel (14, 14); keep the digit inside the field.
    oy = int(np.clip(round(14.0 - cy), 0, SIZE - sh))
    ox = int(np.clip(round(14.0 - cx), 0, SIZE - sw))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[oy : oy + sh, ox : ox + sw] = small
    return Prepared(
        image=out,
        ink=ink,
        bbox=(int(top), int(left), int(bottom), int(right)),
        scaled_shape=(sh, sw),
        center_of_mass=(float(cy + oy), float(cx + ox)),
    )


def preprocess(arr: np.ndarray, min_extent: float = MIN_EXTENT) -> Prepared:
    """Canvas RGBA (or any image array) -> MNIST-style 28x28. Raises DrawingError."""
    return to_mnist(ink_from_array(arr), min_extent=min_extent)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as an array (greyscale, RGB or RGBA); ImageReadError if it can't."""
    p = Path(path)
    try:
        with Image.open(p) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA")
            elif img.mode not in ("L", "RGB"):
                img = img.convert("RGB")
            return np.asarray(img)
    except FileNotFoundError:
        raise ImageReadError(f"{p}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageReadError(f"{p}: not a readable image ({e.__class__.__name__})") from None


def from_data_url(data_url: str) -> np.ndarray:
    """A canvas sent by the browser as a PNG data URL -> its RGBA array; ImageReadError if not."""
    head, _, encoded = data_url.partition(",")
    if not head.startswith("data:image/png;base64"):
        raise ImageReadError("the drawing is not a PNG data URL")
    try:
        raw = base64.b64decode(encoded, validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            return np.asarray(img.convert("RGBA"))
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageReadError(f"the drawing could not be read ({e.__class__.__name__})") from None
