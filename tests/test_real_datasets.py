"""Real dataset loaders on tiny fake trees in the exact layouts, and on one real Cityscapes frame."""
from __future__ import annotations

import logging
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zsct_lib.data.real import (GTA5, Cityscapes, DatasetError, Synthia, Unlabelled, read_png16,
                                synthia_lut)
from zsct_lib.labels import LABEL_ID_TO_TRAIN_ID, SYNTHIA_13, SYNTHIA_16

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cityscapes_sample"
H, W = 8, 16


# ----------------------------------------------------------------------------- writers

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def write_png16(path: Path, array: np.ndarray) -> None:
    """Write uint16 [H, W, C] (C = 1, 3 or 4) as a 16-bit PNG, cycling rows through all 5 filter types."""
    h, w, c = array.shape
    colour_type = {1: 0, 3: 2, 4: 6}[c]
    bpp = 2 * c
    rows = [array[r].astype(">u2").tobytes() for r in range(h)]
    stream = bytearray()
    for r, row in enumerate(rows):
        kind = r % 5
        prev = rows[r - 1] if r else bytes(len(row))
        stream.append(kind)
        for i, x in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up_left = prev[i - bpp] if i >= bpp else 0
            pred = (0, left, prev[i], (left + prev[i]) // 2, _paeth(left, prev[i], up_left))[kind]
            stream.append((x - pred) % 256)
    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(stream)))
                     + _chunk(b"IEND", b""))


def write_image(path: Path, h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return rgb


def write_ids(path: Path, ids: np.ndarray, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = np.ascontiguousarray(ids, dtype=np.uint8)
    if mode == "P":  # GTA5 ships palette PNGs whose indices are the label ids
        im = Image.frombytes("P", (ids.shape[1], ids.shape[0]), ids.tobytes())
        im.putpalette(np.random.default_rng(1).integers(0, 256, 768).tolist())
    else:
        im = Image.fromarray(ids)
    im.save(path)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# Cityscapes label ids with known train ids, plus ids that the benchmark ignores or that are unknown.
IDS = np.array([7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33, 0, 1, 4, 34, 200])
TRAIN = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 255, 255, 255, 255, 255])


def id_grid(h: int = H, w: int = W, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    index = (np.arange(h * w).reshape(h, w) + shift) % len(IDS)
    return IDS[index], TRAIN[index]


def make_gta5(root: Path, n: int = 3, mode: str = "P") -> list[np.ndarray]:
    expected = []
    for k in range(n):
        write_image(root / "images" / f"{k:05d}.png", seed=k)
        ids, train = id_grid(shift=k)
        write_ids(root / "labels" / f"{k:05d}.png", ids, mode)
        expected.append(train)
    return expected


# ----------------------------------------------------------------------------- GTA5

@pytest.mark.parametrize("mode", ["P", "L"])
def test_gta5_returns_tensors_in_train_ids(tmp_path, mode):
    expected = make_gta5(tmp_path, mode=mode)
    ds = GTA5(tmp_path)
    assert len(ds) == 3
    assert [p.name for p, _ in ds.files] == ["00000.png", "00001.png", "00002.png"]
    for i in range(3):
        image, label = ds[i]
        assert image.dtype == torch.float32 and image.shape == (3, H, W)
        assert 0.0 <= image.min() and image.max() <= 1.0
        rgb = np.array(Image.open(ds.files[i][0]))
        assert torch.allclose(image, torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)
        assert label.dtype == torch.int64 and label.shape == (H, W)
        assert np.array_equal(label.numpy(), expected[i])
        assert torch.equal(ds.label(i), label)


def test_label_ids_agree_with_method_table():
    table = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
             25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
    for label_id in range(256):
        assert LABEL_ID_TO_TRAIN_ID[label_id] == table.get(label_id, 255)


def test_transform_receives_image_and_label(tmp_path):
    make_gta5(tmp_path, n=1)
    calls = []

    def transform(image, label):
        calls.append((image.shape, None if label is None else label.shape))
        return image[:, :4, :4], label[:4, :4] if label is not None else None

    ds = GTA5(tmp_path, transform=transform)
    image, label = ds[0]
    assert image.shape == (3, 4, 4) and label.shape == (4, 4)
    assert ds.label(0).shape == (H, W)  # label(i) is untransformed
    assert Unlabelled(ds)[0].shape == (3, 4, 4)
    assert calls == [((3, H, W), (H, W)), ((3, H, W), None)]


def test_gta5_size_mismatch_resize_warns_once(tmp_path, caplog):
    make_gta5(tmp_path, n=2)
    ids = np.full((H // 2, W // 2), 26, dtype=np.uint8)  # car, at half size
    ids[:, : W // 4] = 7  # road on the left half
    write_ids(tmp_path / "labels" / "00001.png", ids, "P")
    ds = GTA5(tmp_path)
    with caplog.at_level(logging.WARNING, logger="zsct_lib.data.real"):
        image, label = ds[1]
        ds[1]
        again = ds.label(1)
    assert image.shape == (3, H, W) and label.shape == (H, W)
    assert (label[:, : W // 2] == 0).all() and (label[:, W // 2:] == 13).all()
    assert torch.equal(again, label)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "images/00001.png" in warnings[0] and "labels/00001.png" in warnings[0]
    assert "16x8" in warnings[0] and "8x4" in warnings[0]


def test_gta5_size_mismatch_error(tmp_path):
    make_gta5(tmp_path, n=2)
    write_ids(tmp_path / "labels" / "00001.png", np.full((H + 2, W), 7), "P")
    ds = GTA5(tmp_path, on_size_mismatch="error")
    ds[0]
    for read in (lambda: ds[1], lambda: ds.label(1)):
        with pytest.raises(DatasetError) as e:
            read()
        msg = str(e.value)
        assert "images/00001.png" in msg and "labels/00001.png" in msg
        assert "16x8" in msg and "16x10" in msg
    with pytest.raises(ValueError, match="on_size_mismatch"):
        GTA5(tmp_path, on_size_mismatch="crop")


def test_gta5_unmatched_files_both_ways(tmp_path):
    make_gta5(tmp_path, n=2)
    for k in range(10, 17):
        write_image(tmp_path / "images" / f"{k:05d}.png")
    with pytest.raises(DatasetError) as e:
        GTA5(tmp_path)
    msg = str(e.value)
    assert "7 image file(s) without a matching label" in msg
    assert "00010.png" in msg and "00014.png" in msg and "00015.png" not in msg and "2 more" in msg

    root = tmp_path / "other"
    make_gta5(root, n=2)
    write_ids(root / "labels" / "00099.png", np.full((H, W), 7))
    with pytest.raises(DatasetError, match=r"1 label file\(s\) without a matching image(.|\n)*00099.png"):
        GTA5(root)


def test_missing_root_and_subfolders_show_layout(tmp_path):
    with pytest.raises(DatasetError) as e:
        GTA5(tmp_path / "nowhere")
    assert "nowhere" in str(e.value) and "Expected layout" in str(e.value) and "labels/" in str(e.value)
    (tmp_path / "gta" / "images").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"gta/labels not found(.|\n)*images/00001.png"):
        GTA5(tmp_path / "gta")
    (tmp_path / "syn" / "RGB").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"GT/LABELS not found(.|\n)*16-bit"):
        Synthia(tmp_path / "syn")
    (tmp_path / "cs" / "leftImg8bit").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"leftImg8bit/val not found(.|\n)*gtFine_labelIds"):
        Cityscapes(tmp_path / "cs")


def test_empty_splits_raise(tmp_path):
    (tmp_path / "gta" / "images").mkdir(parents=True)
    (tmp_path / "gta" / "labels").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no PNG images"):
        GTA5(tmp_path / "gta")
    (tmp_path / "cs" / "leftImg8bit" / "test" / "berlin").mkdir(parents=True)
    with pytest.raises(DatasetError, match="empty split 'test'"):
        Cityscapes(tmp_path / "cs", split="test", labelled=False)


def test_truncated_pngs_name_the_file(tmp_path):
    make_gta5(tmp_path, n=2)
    truncate(tmp_path / "images" / "00000.png")
    truncate(tmp_path / "labels" / "00001.png")
    ds = GTA5(tmp_path)
    with pytest.raises(DatasetError, match=r"images/00000.png.*(corrupt|truncated)"):
        ds[0]
    with pytest.raises(DatasetError, match=r"labels/00001.png.*(corrupt|truncated)"):
        ds[1]
    with pytest.raises(DatasetError, match=r"labels/00001.png"):
        ds.label(1)


def test_colour_label_is_rejected(tmp_path):
    make_gta5(tmp_path, n=1)
    write_image(tmp_path / "labels" / "00000.png")
    with pytest.raises(DatasetError, match=r"00000.png: expected a single-channel label(.|\n)*mode RGB"):
        GTA5(tmp_path)[0]


# ----------------------------------------------------------------------------- SYNTHIA

def test_read_png16_all_filters(tmp_path):
    rng = np.random.default_rng(3)
    for channels in (3, 4):
        array = rng.integers(0, 1 << 16, (11, 13, channels)).astype(np.uint16)
        write_png16(tmp_path / f"x{channels}.png", array)
        out = read_png16(tmp_path / f"x{channels}.png")
        assert out.dtype == np.uint16 and np.array_equal(out, array)


SYNTHIA_TO_TRAIN = {3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 1: 10,
                    10: 11, 17: 12, 8: 13, 19: 15, 12: 17, 11: 18}


def synthia_label(h: int = H, w: int = W, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A SYNTHIA label (ids 0..22 and 259, 1003 which share low bytes with road and road/vegetation)
    and its expected 16-class train ids."""
    values = np.array(list(range(23)) + [259, 1003])
    ids = values[np.arange(h * w).reshape(h, w) % len(values)]
    train = np.vectorize(lambda v: SYNTHIA_TO_TRAIN.get(int(v), 255))(ids)
    array = np.zeros((h, w, channels), dtype=np.uint16)
    array[..., 0] = ids
    array[..., 1] = np.random.default_rng(0).integers(0, 1 << 16, (h, w))  # instance ids
    if channels == 4:
        array[..., 3] = 65535
    return array, train


def make_synthia(root: Path, n: int = 2, channels: int = 3) -> np.ndarray:
    for k in range(n):
        write_image(root / "RGB" / f"{k:07d}.png", seed=k)
        array, train = synthia_label(channels=channels)
        write_png16(root / "GT" / "LABELS" / f"{k:07d}.png", array)
    return train


@pytest.mark.parametrize("channels", [3, 4])
def test_synthia_16_and_13_classes(tmp_path, channels):
    train16 = make_synthia(tmp_path, channels=channels)
    ds16 = Synthia(tmp_path)
    image, label = ds16[1]
    assert image.shape == (3, H, W) and label.dtype == torch.int64
    assert np.array_equal(label.numpy(), train16)
    assert sorted(set(np.unique(train16)) - {255}) == list(SYNTHIA_16) == list(ds16.classes)
    assert torch.equal(ds16.label(0), label)

    ds13 = Synthia(tmp_path, num_classes=13)
    train13 = np.where(np.isin(train16, (3, 4, 5)), 255, train16)
    assert np.array_equal(ds13[0][1].numpy(), train13)
    assert ds13.classes == SYNTHIA_13 and set(np.unique(ds13.label(0).numpy())) - {255} == set(SYNTHIA_13)


def test_synthia_lut_order():
    lut = synthia_lut(16)
    assert [lut[i] for i in (3, 4, 2, 21, 5, 7, 15, 9, 6, 1, 10, 17, 8, 19, 12, 11)] == list(SYNTHIA_16)
    assert lut[0] == lut[13] == lut[22] == lut[65535] == 255
    with pytest.raises(ValueError, match="16 or 13"):
        Synthia("/nonexistent", num_classes=19)


def test_synthia_label_must_be_16_bit_multichannel(tmp_path):
    make_synthia(tmp_path, n=2)
    write_ids(tmp_path / "GT" / "LABELS" / "0000000.png", np.full((H, W), 3))  # 8-bit grey
    write_png16(tmp_path / "GT" / "LABELS" / "0000001.png", np.full((H, W, 1), 3, dtype=np.uint16))
    ds = Synthia(tmp_path)
    with pytest.raises(DatasetError, match=r"0000000.png: expected a 16-bit multi-channel(.|\n)*bit depth 8"):
        ds[0]
    with pytest.raises(DatasetError, match=r"0000001.png: expected a 16-bit multi-channel(.|\n)*greyscale"):
        ds.label(1)


def test_synthia_truncated_label(tmp_path):
    make_synthia(tmp_path, n=1)
    truncate(tmp_path / "GT" / "LABELS" / "0000000.png")
    with pytest.raises(DatasetError, match=r"GT/LABELS/0000000.png"):
        Synthia(tmp_path)[0]


def test_synthia_unmatched(tmp_path):
    make_synthia(tmp_path, n=2)
    (tmp_path / "RGB" / "0000001.png").unlink()
    with pytest.raises(DatasetError, match=r"1 label file\(s\) without a matching image(.|\n)*0000001.png"):
        Synthia(tmp_path)


# ----------------------------------------------------------------------------- Cityscapes

def make_cityscapes(root: Path, split: str = "train") -> dict:
    expected = {}
    for k, (city, name) in enumerate([("aachen", "aachen_000000_000019"), ("bremen", "bremen_000001_000019"),
                                      ("bremen", "bremen_000002_000019")]):
        write_image(root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png", seed=k)
        ids, train = id_grid(shift=5 * k)
        write_ids(root / "gtFine" / split / city / f"{name}_gtFine_labelIds.png", ids)
        write_image(root / "gtFine" / split / city / f"{name}_gtFine_color.png")  # must be ignored
        expected[name] = train
    return expected


def test_cityscapes_layout(tmp_path):
    expected = make_cityscapes(tmp_path)
    ds = Cityscapes(tmp_path, split="train")
    assert len(ds) == 3
    for i, (image_path, label_path) in enumerate(ds.files):
        name = image_path.name[: -len("_leftImg8bit.png")]
        assert label_path.name == f"{name}_gtFine_labelIds.png"
        image, label = ds[i]
        assert image.shape == (3, H, W) and np.array_equal(label.numpy(), expected[name])
    with pytest.raises(DatasetError, match="leftImg8bit/val not found"):
        Cityscapes(tmp_path)  # split defaults to val


def test_cityscapes_unmatched(tmp_path):
    make_cityscapes(tmp_path)
    (tmp_path / "gtFine" / "train" / "bremen" / "bremen_000002_000019_gtFine_labelIds.png").unlink()
    with pytest.raises(DatasetError, match=r"1 image file\(s\) without a matching label(.|\n)*bremen_000002"):
        Cityscapes(tmp_path, split="train")


def test_unlabelled_never_reads_labels(tmp_path):
    make_cityscapes(tmp_path)
    labelled = Cityscapes(tmp_path, split="train")
    wrapped = Unlabelled(labelled)
    first = labelled[0][0]
    for path in (tmp_path / "gtFine").rglob("*.png"):
        path.write_bytes(b"not a png")  # any read of a label would now fail
    assert len(wrapped) == 3 and torch.equal(wrapped[0], first)
    assert all(wrapped[i].shape == (3, H, W) for i in range(3))
    assert not hasattr(wrapped, "label")
    with pytest.raises(DatasetError):
        labelled[0]

    shutil.rmtree(tmp_path / "gtFine")
    unlabelled = Cityscapes(tmp_path, split="train", labelled=False)
    assert len(unlabelled) == 3 and all(label is None for _, label in unlabelled.files)
    image = unlabelled[0]
    assert isinstance(image, torch.Tensor) and torch.equal(image, first)
    assert torch.equal(Unlabelled(unlabelled)[2], wrapped[2])
    with pytest.raises(DatasetError, match="unlabelled"):
        unlabelled.label(0)


def test_unlabelled_wraps_any_pair_dataset():
    pairs = [(torch.zeros(3, 2, 2), torch.zeros(2, 2, dtype=torch.long))]
    assert Unlabelled(pairs)[0].shape == (3, 2, 2) and len(Unlabelled(pairs)) == 1


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="real Cityscapes sample (../shared/data) not present")
def test_real_cityscapes_frame():
    ds = Cityscapes(SAMPLE, split="val")
    assert len(ds) == 1
    image, label = ds[0]
    assert image.shape == (3, 128, 256) and label.shape == (128, 256)
    label_path = ds.files[0][1]
    reference = np.asarray(Image.open(str(label_path).replace("_labelIds.png", "_labelTrainIds.png")))
    agree = (label.numpy() == reference).mean()
    assert agree >= 0.99, agree
    assert torch.equal(ds.label(0), label)
