"""The real-data path end to end, paper preset included: a GTA5-layout tree of 4 images as source, a
Cityscapes-layout tree as target, `zsct train --config deeplabv2_r101_gta5` for a few iterations and
`zsct eval` on the val frame; and the warning for a frozen batch norm with no init weights."""
from pathlib import Path

import pytest

from test_real_datasets import id_grid, write_ids, write_image
from zsct_lib.cli import main


def make_real_tree(root: Path, h: int = 64, w: int = 128) -> tuple[Path, Path]:
    for k in range(4):
        write_image(root / "gta5" / "images" / f"{k:05d}.png", h, w, seed=k)
        write_ids(root / "gta5" / "labels" / f"{k:05d}.png", id_grid(h, w, shift=k)[0], "P")
    for split, names in (("train", ["aachen_000000_000019", "aachen_000001_000019"]), ("val", ["frankfurt_000000_000294"])):
        for k, name in enumerate(names):
            city = name.split("_")[0]
            write_image(root / "cs" / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png", h, w, seed=10 + k)
            write_ids(root / "cs" / "gtFine" / split / city / f"{name}_gtFine_labelIds.png", id_grid(h, w, shift=3 * k)[0])
    return root / "gta5", root / "cs"


@pytest.mark.slow
def test_paper_preset_trains_on_real_layouts_and_scores_the_frame(tmp_path, capsys):
    source, target = make_real_tree(tmp_path / "data")
    run = tmp_path / "run"
    argv = ["train", "--config", "deeplabv2_r101_gta5", "--out", str(run)]
    for item in [f"data.source_root={source}", f"data.target_root={target}", "data.height=64", "data.width=128",
                 "data.crop_height=64", "data.crop_width=128", "data.num_workers=0", "train.iterations=2",
                 "train.ct_iterations=1", "train.amp=fp32", "train.tf32=false", "train.pin_memory=false",
                 "model.freeze_bn=false"]:
        argv += ["--set", item]
    assert main(argv) == 0                                  # all five flags, three steps, every term finite
    started = capsys.readouterr()
    assert "model.freeze_bn=true without" not in started.err
    assert "input convention: torchvision" in started.out       # no init file: the preset's default, printed
    assert "input_convention: torchvision" in (run / "config.yaml").read_text()    # and recorded for eval
    assert main(["eval", "--checkpoint", str(run / "checkpoint.pt")]) == 0
    out = capsys.readouterr().out
    assert "mIoU" in out and "19-class" in out


def test_frozen_batch_norm_without_init_weights_is_warned_at_start(tmp_path, capsys):
    from zsct_lib.config import load_config
    from zsct_lib.training import train

    small = ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
             "train.iterations=1", "train.ct_iterations=0", "loss.mode=source_only", "train.amp=fp32"]
    train(load_config("tiny", [*small, "model.freeze_bn=true"]), tmp_path / "frozen", progress=False)
    assert "model.freeze_bn=true without model.init_weights" in capsys.readouterr().err
    train(load_config("tiny", small), tmp_path / "trained_bn", progress=False)
    assert "freeze_bn" not in capsys.readouterr().err
