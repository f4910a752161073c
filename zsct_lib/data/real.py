"""Loaders for the real benchmarks: GTA5, SYNTHIA-RAND-CITYSCAPES and Cityscapes.

Every dataset returns, with no transform, ``(image, label)`` at the file's own size:

* ``image``: float32 tensor [3, H, W] with values in [0, 1];
* ``label``: int64 tensor [H, W] in the 19 Cityscapes train ids, 255 for ignore.

With ``transform``, ``dataset[i]`` returns ``transform(image, label)``. Image-only access
(``labelled=False`` or the :class:`Unlabelled` wrapper) calls ``transform(image, None)`` and keeps
the first element of what it returns.

Each dataset also has ``files`` (a list of ``(image_path, label_path)``; ``label_path`` is None
when unlabelled), ``label(i)`` (the label alone, untransformed, without decoding the image),
``image(i)`` (the image alone, transformed, without opening the label) and ``classes`` (the train
ids that the dataset's protocol scores).

Layouts (see METHOD.md §5)::

    GTA5 root/                     SYNTHIA root/                     Cityscapes root/
      images/00001.png               RGB/0000000.png                   leftImg8bit/{split}/{city}/{name}_leftImg8bit.png
      labels/00001.png               GT/LABELS/0000000.png             gtFine/{split}/{city}/{name}_gtFine_labelIds.png

GTA5 and Cityscapes labels are single-channel PNGs of Cityscapes label ids (mode L or P).
SYNTHIA labels are 16-bit RGB(A) PNGs whose first channel is the SYNTHIA class id. Pillow
decodes 16-bit colour PNGs to 8 bits (it keeps the high byte of each sample), so
:func:`read_png16` decodes the file twice through Pillow's own PNG decoder, once for the high
bytes and once, with the little-endian raw mode, for the low bytes, and joins them.

Label ids outside the tables map to 255. Files that cannot be labels (colour labels where ids
are expected, an 8-bit SYNTHIA label), missing folders, unmatched files, size mismatches and
unreadable PNGs raise :class:`DatasetError`, naming the files.
"""
from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from PIL import Image

from ..labels import IGNORE_INDEX, LABEL_ID_TO_TRAIN_ID, NUM_CLASSES, SYNTHIA_13, SYNTHIA_16

__all__ = ["DatasetError", "GTA5", "Synthia", "Cityscapes", "Unlabelled", "read_png16",
           "SYNTHIA_ID_TO_INDEX", "synthia_lut"]

log = logging.getLogger(__name__)

Transform = Callable[[torch.Tensor, Optional[torch.Tensor]], tuple]

# SYNTHIA class id -> index in the 16-class list (road, sidewalk, building, wall, fence, pole,
# light, sign, vegetation, sky, person, rider, car, bus, motorcycle, bicycle).
SYNTHIA_ID_TO_INDEX = {3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 1: 9,
                       10: 10, 17: 11, 8: 12, 19: 13, 12: 14, 11: 15}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error)


class DatasetError(ValueError):
    """A dataset folder, file or label that does not match what the loader expects."""


def synthia_lut(num_classes: int = 16) -> np.ndarray:
    """Table [65536] uint8: SYNTHIA class id -> 19-class train id (255 ignore).

    ``num_classes=13`` also sends wall, fence and pole to 255.
    """
    if num_classes not in (13, 16):
        raise ValueError(f"SYNTHIA num_classes must be 16 or 13, got {num_classes!r}")
    kept = SYNTHIA_16 if num_classes == 16 else SYNTHIA_13
    lut = np.full(1 << 16, IGNORE_INDEX, dtype=np.uint8)
    for synthia_id, index in SYNTHIA_ID_TO_INDEX.items():
        train_id = SYNTHIA_16[index]
        if train_id in kept:
            lut[synthia_id] = train_id
    return lut


# ----------------------------------------------------------------------------- file reading

def _open(path: Path) -> Image.Image:
    """Open and fully decode an image, turning any decoder error into a DatasetError naming it."""
    try:
        im = Image.open(path)
        im.load()
        return im
    except DatasetError:
        raise
    except _READ_ERRORS as e:
        raise DatasetError(f"cannot read {path}: {type(e).__name__}: {e} (corrupt or truncated file?)") from e


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file from its header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            w, h = im.size
        return h, w
    except _READ_ERRORS as e:
        raise DatasetError(f"cannot read {path}: {type(e).__name__}: {e} (corrupt or truncated file?)") from e


def _read_rgb(path: Path) -> np.ndarray:
    """uint8 [H, W, 3]."""
    im = _open(path)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def _read_id_label(path: Path) -> np.ndarray:
    """Integer [H, W] label ids of a single-channel label PNG (mode L, P or I;16)."""
    im = _open(path)
    if im.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
        return np.asarray(im)
    raise DatasetError(
        f"{path}: expected a single-channel label PNG of Cityscapes label ids (mode L or P), got mode "
        f"{im.mode} with {len(im.getbands())} channel(s); a colour label (such as *_gtFine_color.png) "
        f"cannot be read as ids")


def _png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from a PNG's IHDR chunk."""
    try:
        with open(path, "rb") as f:
            head = f.read(33)
    except OSError as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    if len(head) < 29 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise DatasetError(f"{path}: not a PNG file (bad signature or no IHDR chunk)")
    width, height, depth, colour_type = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, colour_type


def read_png16(path: str | Path) -> np.ndarray:
    """Read a 16-bit RGB or RGBA PNG exactly: uint16 [H, W, 3 or 4].

    Pillow decodes (and unfilters) the stream in C but unpacks 16-bit colour samples to 8 bits.
    Its default raw mode ``RGB;16B`` keeps the high byte of each big-endian sample; decoding again
    with ``RGB;16L`` keeps the other byte, the low one. The two together give the 16-bit values.
    """
    path = Path(path)
    _, _, depth, colour_type = _png_header(path)
    if depth != 16 or colour_type not in (2, 6):
        raise DatasetError(
            f"{path}: expected a 16-bit multi-channel PNG (colour type RGB or RGBA) whose first channel is "
            f"the SYNTHIA class id, got bit depth {depth}, colour type {colour_type} "
            f"({_COLOUR_TYPES.get(colour_type, 'invalid')})")
    mode = "RGB" if colour_type == 2 else "RGBA"
    planes = []
    for rawmode in (f"{mode};16B", f"{mode};16L"):
        try:
            im = Image.open(path)
            tiles = list(im.tile)
            if im.mode != mode or len(tiles) != 1 or tiles[0][3] not in (f"{mode};16B", (f"{mode};16B",)):
                raise DatasetError(
                    f"{path}: this Pillow version opens 16-bit {mode} PNGs as mode {im.mode} with tiles "
                    f"{tiles}; read_png16 expects mode {mode} with raw mode {mode};16B")
            name, extents, offset, _ = tiles[0]
            im.tile = [tiles[0]._replace(args=rawmode) if hasattr(tiles[0], "_replace")
                       else (name, extents, offset, rawmode)]
            im.load()
        except DatasetError:
            raise
        except _READ_ERRORS as e:
            raise DatasetError(f"cannot read {path}: {type(e).__name__}: {e} (corrupt or truncated file?)") from e
        planes.append(np.asarray(im).astype(np.uint16))
    high, low = planes
    return (high << 8) | low


def _map_ids(ids: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Look ids up in ``lut``; ids outside it map to 255. Returns uint8 [H, W]."""
    if ids.dtype in (np.uint8, np.uint16) and len(lut) > np.iinfo(ids.dtype).max:
        return lut[ids]
    ids = ids.astype(np.int64)
    inside = (ids >= 0) & (ids < len(lut))
    return np.where(inside, lut[np.clip(ids, 0, len(lut) - 1)], IGNORE_INDEX).astype(np.uint8)


# ----------------------------------------------------------------------------- folder scanning

def _require_dir(path: Path, dataset: str, layout: str) -> None:
    if not path.is_dir():
        raise DatasetError(f"{dataset}: folder {path} not found. Expected layout:\n{layout}")


def _pair(images: dict, labels: dict, dataset: str, image_dir: Path, label_dir: Path) -> list:
    """Match image and label files by key; unmatched files on either side raise DatasetError."""
    problems = []
    for what, have, lack, where in (("image", images, labels, label_dir), ("label", labels, images, image_dir)):
        missing = sorted(k for k in have if k not in lack)
        if missing:
            shown = "\n".join(f"  {have[k]}" for k in missing[:5])
            more = f"\n  ... and {len(missing) - 5} more" if len(missing) > 5 else ""
            other = "label" if what == "image" else "image"
            problems.append(f"{len(missing)} {what} file(s) without a matching {other} in {where}:\n{shown}{more}")
    if problems:
        raise DatasetError(f"{dataset}: " + "\n".join(problems))
    return [(images[k], labels[k]) for k in sorted(images)]


class _RealDataset(torch.utils.data.Dataset):
    """Shared loading logic. Subclasses set ``files``, ``classes`` and ``_read_label``."""

    name = "dataset"

    def __init__(self, files: list, transform: Optional[Transform], on_size_mismatch: str,
                 labelled: bool = True):
        if on_size_mismatch not in ("error", "resize"):
            raise ValueError(f"on_size_mismatch must be 'error' or 'resize', got {on_size_mismatch!r}")
        self.files = files
        self.transform = transform
        self.on_size_mismatch = on_size_mismatch
        self.labelled = labelled
        self._warned: set = set()

    def __len__(self) -> int:
        return len(self.files)

    def _read_label(self, path: Path) -> np.ndarray:  # uint8 [H, W] train ids
        raise NotImplementedError

    def _fit(self, i: int, label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Bring a label to the image size (H, W), or raise, following ``on_size_mismatch``."""
        if label.shape == size:
            return label
        image_path, label_path = self.files[i]
        message = (f"{self.name}: image {image_path} is {size[1]}x{size[0]} (WxH) but label {label_path} "
                   f"is {label.shape[1]}x{label.shape[0]}")
        if self.on_size_mismatch == "error":
            raise DatasetError(message + " (pass on_size_mismatch='resize' to resize such labels)")
        if i not in self._warned:
            self._warned.add(i)
            log.warning("%s; resizing the label to the image size (nearest neighbour)", message)
        return np.asarray(Image.fromarray(label).resize((size[1], size[0]), Image.NEAREST))

    def label(self, i: int) -> torch.Tensor:
        """Label i alone: int64 [H, W] train ids at the image's size, untransformed."""
        if not self.labelled:
            raise DatasetError(f"{self.name}: this dataset is unlabelled (labelled=False)")
        image_path, label_path = self.files[i]
        label = self._fit(i, self._read_label(label_path), _image_size(image_path))
        return torch.from_numpy(label.astype(np.int64))

    def image(self, i: int) -> torch.Tensor:
        """Image i alone, transformed as ``transform(image, None)[0]``; the label file is never opened."""
        image = _to_image_tensor(_read_rgb(self.files[i][0]))
        if self.transform is None:
            return image
        out = self.transform(image, None)
        return out[0] if isinstance(out, (tuple, list)) else out

    def __getitem__(self, i: int):
        if not self.labelled:
            return self.image(i)
        image_path, label_path = self.files[i]
        rgb = _read_rgb(image_path)
        label = self._fit(i, self._read_label(label_path), rgb.shape[:2])
        image, label = _to_image_tensor(rgb), torch.from_numpy(label.astype(np.int64))
        if self.transform is None:
            return image, label
        image, label = self.transform(image, label)
        return image, label

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images, root={getattr(self, 'root', None)})"


def _to_image_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()


def _png_files(folder: Path) -> dict:
    return {p.stem: p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file()}


# ----------------------------------------------------------------------------- datasets

class GTA5(_RealDataset):
    """GTA5 (Richter et al. 2016), labels in Cityscapes label ids.

    Layout: ``root/images/NNNNN.png`` (RGB) and ``root/labels/NNNNN.png`` (single channel, mode P
    or L, Cityscapes label ids), matched by file name.

    A few public image/label pairs differ in size. ``on_size_mismatch="resize"`` (default) resizes
    the label to the image size with nearest neighbour and logs a warning naming the files the first
    time each pair is read; ``"error"`` raises a DatasetError naming both files and sizes.
    """

    name = "GTA5"

    def __init__(self, root: str | Path, transform: Optional[Transform] = None,
                 on_size_mismatch: str = "resize"):
        self.root = Path(root)
        layout = f"  {self.root}/\n    images/00001.png ...\n    labels/00001.png ...   (label ids, one channel)"
        _require_dir(self.root, self.name, layout)
        _require_dir(self.root / "images", self.name, layout)
        _require_dir(self.root / "labels", self.name, layout)
        files = _pair(_png_files(self.root / "images"), _png_files(self.root / "labels"), self.name,
                      self.root / "images", self.root / "labels")
        if not files:
            raise DatasetError(f"GTA5: no PNG images in {self.root / 'images'}. Expected layout:\n{layout}")
        super().__init__(files, transform, on_size_mismatch)
        self.classes = tuple(range(NUM_CLASSES))

    def _read_label(self, path: Path) -> np.ndarray:
        return _map_ids(_read_id_label(path), LABEL_ID_TO_TRAIN_ID)


class Synthia(_RealDataset):
    """SYNTHIA-RAND-CITYSCAPES, labels returned in the 19-class train ids.

    Layout: ``root/RGB/NNNNNNN.png`` (RGB) and ``root/GT/LABELS/NNNNNNN.png`` (16-bit RGB or RGBA,
    the first channel is the SYNTHIA class id), matched by file name.

    SYNTHIA id -> 16-class index (``SYNTHIA_ID_TO_INDEX``) -> train id ``SYNTHIA_16[index]``.
    ``num_classes=16`` keeps all 16 classes; ``num_classes=13`` also maps wall, fence and pole to
    255 (the mIoU* protocol). ``classes`` holds the train ids kept. Unknown ids map to 255.
    """

    name = "SYNTHIA"

    def __init__(self, root: str | Path, num_classes: int = 16, transform: Optional[Transform] = None,
                 on_size_mismatch: str = "error"):
        self.root = Path(root)
        self.num_classes = num_classes
        self._lut = synthia_lut(num_classes)
        layout = (f"  {self.root}/\n    RGB/0000000.png ...\n    GT/LABELS/0000000.png ...   "
                  f"(16-bit RGB(A), class id in the first channel)")
        _require_dir(self.root, self.name, layout)
        _require_dir(self.root / "RGB", self.name, layout)
        _require_dir(self.root / "GT" / "LABELS", self.name, layout)
        files = _pair(_png_files(self.root / "RGB"), _png_files(self.root / "GT" / "LABELS"), self.name,
                      self.root / "RGB", self.root / "GT" / "LABELS")
        if not files:
            raise DatasetError(f"SYNTHIA: no PNG images in {self.root / 'RGB'}. Expected layout:\n{layout}")
        super().__init__(files, transform, on_size_mismatch)
        self.classes = SYNTHIA_16 if num_classes == 16 else SYNTHIA_13

    def _read_label(self, path: Path) -> np.ndarray:
        return _map_ids(read_png16(path)[..., 0], self._lut)


class Cityscapes(_RealDataset):
    """Cityscapes (fine annotations), labelIds mapped to train ids with the official table.

    Layout: ``root/leftImg8bit/{split}/{city}/{name}_leftImg8bit.png`` and
    ``root/gtFine/{split}/{city}/{name}_gtFine_labelIds.png``, matched by city and name.

    ``labelled=False`` never looks at ``gtFine`` (it need not exist): ``dataset[i]`` returns the
    image alone and ``files`` holds ``(image_path, None)``.
    """

    name = "Cityscapes"

    def __init__(self, root: str | Path, split: str = "val", transform: Optional[Transform] = None,
                 labelled: bool = True, on_size_mismatch: str = "error"):
        self.root = Path(root)
        self.split = split
        image_dir = self.root / "leftImg8bit" / split
        label_dir = self.root / "gtFine" / split
        layout = (f"  {self.root}/\n    leftImg8bit/{split}/{{city}}/{{name}}_leftImg8bit.png ...\n"
                  + (f"    gtFine/{split}/{{city}}/{{name}}_gtFine_labelIds.png ..." if labelled else ""))
        _require_dir(self.root, self.name, layout)
        _require_dir(image_dir, self.name, layout)
        images = {(p.parent.name, p.name[: -len("_leftImg8bit.png")]): p
                  for p in image_dir.glob("*/*_leftImg8bit.png")}
        if not images:
            raise DatasetError(f"Cityscapes: no *_leftImg8bit.png images in {image_dir}/{{city}}/ "
                               f"(empty split {split!r}). Expected layout:\n{layout}")
        if labelled:
            _require_dir(label_dir, self.name, layout)
            labels = {(p.parent.name, p.name[: -len("_gtFine_labelIds.png")]): p
                      for p in label_dir.glob("*/*_gtFine_labelIds.png")}
            files = _pair(images, labels, self.name, image_dir, label_dir)
        else:
            files = [(images[k], None) for k in sorted(images)]
        super().__init__(files, transform, on_size_mismatch, labelled=labelled)
        self.classes = tuple(range(NUM_CLASSES))

    def _read_label(self, path: Path) -> np.ndarray:
        return _map_ids(_read_id_label(path), LABEL_ID_TO_TRAIN_ID)


class Unlabelled(torch.utils.data.Dataset):
    """Image-only view of an (image, label) dataset: ``dataset[i]`` returns the image alone.

    With a dataset of this module it calls ``dataset.image(i)``, which never opens a label file;
    with any other dataset it keeps the first element of ``dataset[i]``. The wrapped dataset is
    kept private and there is no ``label`` method, so target labels are not reachable from here.
    """

    def __init__(self, dataset):
        self._dataset = dataset

    def __len__(self) -> int:
        return len(self._dataset)

    @property
    def image_paths(self) -> list:
        files = getattr(self._dataset, "files", None)
        return [f[0] for f in files] if files is not None else []

    def __getitem__(self, i: int) -> torch.Tensor:
        if callable(getattr(self._dataset, "image", None)):
            return self._dataset.image(i)
        item = self._dataset[i]
        return item[0] if isinstance(item, (tuple, list)) else item

    def __repr__(self) -> str:
        return f"Unlabelled({self._dataset!r})"
