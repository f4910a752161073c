"""The trainer: every flag trains, the loss falls, seeds reproduce, resume equals an uninterrupted run,
faults (SIGKILL, non-finite loss, full disk) lose nothing, and bad run folders are refused."""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from zsct_lib import checkpoint as ckpt
from zsct_lib.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from zsct_lib.config import ModelConfig, load_config
from zsct_lib.models import ZSCTModel
from zsct_lib.training import NonFiniteLossError, RunDirectoryError, train

REPO = Path(__file__).resolve().parents[1]
SMALL = ["model.base_channels=8", "data.source_size=8", "data.target_size=8", "data.val_size=4",
         "train.log_every=1", "train.checkpoint_every=1", "train.threads=1",
         "train.amp=fp32"]                               # determinism is tested at a fixed precision


def small_config(*overrides):
    return load_config("tiny", SMALL + list(overrides))


def metrics(run):
    return [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]


def weights(path):
    return read_checkpoint(path)["model"]


def same_weights(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_all_five_flags_train_and_log_every_term(tmp_path):
    cfg = small_config("train.iterations=2", "train.ct_iterations=2", "loss.st_start=0")
    result = train(cfg, tmp_path / "run", progress=False)
    records = metrics(tmp_path / "run")
    stage2 = [r for r in records if r.get("stage") == 2]
    for key in ("seg", "zero", "zero_trans", "rec", "adv_out", "adv_img", "cycle", "seg_ct", "d_out"):
        assert all(key in r and r[key] == r[key] for r in stage2), key
    assert all("st" in r for r in records if r.get("stage") == 1)
    assert all("st" not in r for r in stage2)                         # eq 19: L_seg_ct takes L_st's place
    for key in ("pasted_pixels", "pasted_recognised", "pasted_head"):  # what the transfer gave the model
        assert all(key in r for r in stage2), key
    assert all("zero_style" not in r for r in records)               # eq 9 is not logged as one term
    assert "seg_ct" not in records[0]                                 # content transfer only in stage 2
    assert (tmp_path / "run" / "stage1.pt").exists() and read_checkpoint(tmp_path / "run" / "stage1.pt")["step"] == 2
    saved = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert saved["protocol"] == "19-class" and set(saved) >= {"miou", "miou_tail", "per_class"}
    assert result["step"] == 4


def test_source_only_segmentation_loss_falls(tmp_path):
    cfg = small_config("loss.mode=source_only", "train.iterations=40", "train.ct_iterations=0",
                       "model.base_channels=16", "optim.seg_lr=0.01")
    train(cfg, tmp_path / "run", progress=False)
    seg = [r["seg"] for r in metrics(tmp_path / "run") if "seg" in r]
    assert sum(seg[-8:]) / 8 < 0.8 * sum(seg[:8]) / 8


def test_same_seed_same_weights_and_resume_equals_uninterrupted(tmp_path):
    overrides = ["train.iterations=3", "train.ct_iterations=2", "loss.st_start=0", "optim.d_img_every=2"]
    train(small_config(*overrides), tmp_path / "a", progress=False)
    train(small_config(*overrides), tmp_path / "b", progress=False)
    assert same_weights(weights(tmp_path / "a" / "checkpoint.pt"), weights(tmp_path / "b" / "checkpoint.pt"))
    # stop after step 2 (inside stage 1), then resume through the stage boundary
    train(small_config(*overrides), tmp_path / "c", progress=False, max_steps=2)
    assert read_checkpoint(tmp_path / "c" / "checkpoint.pt")["step"] == 2
    train(small_config(*overrides), tmp_path / "c", resume=True, progress=False)
    assert same_weights(weights(tmp_path / "a" / "checkpoint.pt"), weights(tmp_path / "c" / "checkpoint.pt"))
    assert [r["step"] for r in metrics(tmp_path / "c") if "lr" in r] == [1, 2, 3, 4, 5]   # no duplicated lines
    seconds = [r["seconds"] for r in metrics(tmp_path / "c") if "seconds" in r]
    assert seconds == sorted(seconds) and seconds[0] > 0      # the resumed run's clock goes on from step 2's
    # pseudo labels scored where the interrupted run stopped (2) and at each stage's end (3, 5)
    assert [r["step"] for r in metrics(tmp_path / "c") if "pseudo_labels" in r] == [2, 3, 5]
    # another seed gives other weights
    train(small_config(*overrides, "train.seed=1"), tmp_path / "d", progress=False)
    assert not same_weights(weights(tmp_path / "a" / "checkpoint.pt"), weights(tmp_path / "d" / "checkpoint.pt"))


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    overrides = SMALL + ["train.iterations=30", "train.ct_iterations=0", "loss.mode=source_only"]
    args = [sys.executable, "-m", "zsct_lib.cli", "train", "--config", "tiny"]
    for item in overrides:
        args += ["--set", item]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run(args + ["--out", str(tmp_path / "straight")], check=True, env=env, capture_output=True)
    victim = subprocess.Popen(args + ["--out", str(tmp_path / "killed")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline and victim.poll() is None:
        if checkpoint.exists() and read_checkpoint(checkpoint)["step"] >= 3:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the run finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = read_checkpoint(checkpoint)["step"]                  # loadable: never half written
    assert 3 <= killed_at < 30
    subprocess.run(args + ["--out", str(tmp_path / "killed"), "--resume"], check=True, env=env, capture_output=True)
    assert not list((tmp_path / "killed").glob(".*.tmp"))          # a temporary left by the kill is cleared
    assert same_weights(weights(tmp_path / "straight" / "checkpoint.pt"), weights(checkpoint))


def test_non_finite_loss_stops_with_step_and_term_and_keeps_checkpoint(tmp_path, monkeypatch):
    import zsct_lib.losses as losses

    real = losses.cycle_loss
    calls = {"n": 0}

    def poisoned(*args):
        calls["n"] += 1
        value = real(*args)
        return value * float("nan") if calls["n"] == 3 else value

    monkeypatch.setattr(losses, "cycle_loss", poisoned)
    cfg = small_config("train.iterations=5", "train.ct_iterations=0", "loss.st=false")
    with pytest.raises(NonFiniteLossError, match=r"step 2: loss term 'cycle'"):
        train(cfg, tmp_path / "run", progress=False)
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 2


def test_full_disk_while_saving_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model = ZSCTModel(ModelConfig(base_channels=8))
    path = tmp_path / "checkpoint.pt"
    ckpt.save_checkpoint(path, model, {}, 1, {"a": 1})
    before = path.read_bytes()

    def full_disk(obj, handle):
        handle.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    def full_disk_as_torch_reports_it(obj, handle):                # torch wraps the OSError in a RuntimeError
        try:
            full_disk(obj, handle)
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1064 vs 1000")

    for save in (full_disk, full_disk_as_torch_reports_it):
        monkeypatch.setattr(ckpt.torch, "save", save)
        with pytest.raises(CheckpointError, match=r"checkpoint .*checkpoint.pt could not be written: its disk is full"):
            ckpt.save_checkpoint(path, model, {}, 2, {"a": 1})
        assert path.read_bytes() == before and read_checkpoint(path)["step"] == 1
        assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_checkpoint_larger_than_the_free_space_is_refused_before_writing(tmp_path, monkeypatch):
    model = ZSCTModel(ModelConfig(base_channels=8))
    path = tmp_path / "checkpoint.pt"
    ckpt.save_checkpoint(path, model, {}, 1, {"a": 1})
    before = path.read_bytes()
    needed = ckpt.tensor_bytes(model.state_dict())
    assert needed == sum(p.numel() * p.element_size() for p in model.state_dict().values()) > 0
    assert ckpt.tensor_bytes({"a": [model.state_dict(), (torch.zeros(3),)], "b": 1}) == needed + 12
    monkeypatch.setattr(ckpt.shutil, "disk_usage", lambda folder: SimpleNamespace(total=needed, used=needed, free=needed // 2))
    with pytest.raises(CheckpointError, match=r"needs about .* MB but its disk has .* MB free.*nothing was written"):
        ckpt.save_checkpoint(path, model, {}, 2, {"a": 1})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_checkpoint_of_other_preset_or_classes_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    ckpt.save_checkpoint(path, ZSCTModel(ModelConfig(base_channels=8, num_classes=16)), {}, 1, {})
    with pytest.raises(CheckpointError, match="16 classes"):
        load_checkpoint(path, ZSCTModel(ModelConfig(base_channels=8)))
    state = torch.load(path, weights_only=True)
    state["preset"] = "deeplabv2_r101"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="preset 'deeplabv2_r101'"):
        load_checkpoint(path, ZSCTModel(ModelConfig(base_channels=8, num_classes=16)))
    path.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="could not be read"):
        read_checkpoint(path)


def test_out_folder_with_another_run_is_refused(tmp_path):
    cfg = small_config("train.iterations=1", "train.ct_iterations=0", "loss.mode=source_only")
    train(cfg, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with pytest.raises(RunDirectoryError, match="--resume.*--overwrite"):
        train(cfg, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before
    train(cfg, tmp_path / "run", overwrite=True, progress=False)


def test_each_logged_term_is_its_own_loss_and_eq19_adds_them(tmp_path):
    """The trainer's terms are eqs 5, 6, 8 ... each alone (L_seg is not inside the zero-style terms), and
    eq 19 is their sum, with eq 9 = zero + zero_trans + seg."""
    from zsct_lib import losses as L
    from zsct_lib.models import build_model
    from zsct_lib.training import StepFlags, generator_losses

    cfg = small_config()
    torch.manual_seed(0)
    model = build_model(cfg.model)
    g = torch.Generator().manual_seed(0)
    batch = {"source_image": torch.rand(2, 3, 32, 64, generator=g), "target_image": torch.rand(2, 3, 32, 64, generator=g),
             "source_label": torch.randint(0, 19, (2, 32, 64), generator=g)}
    terms, _ = generator_losses(model, batch, StepFlags(sty=True, cyc=True, st=True), cfg)
    assert {"seg", "zero", "zero_trans", "rec", "adv_out", "adv_img", "cycle", "st"} == set(terms)
    with torch.no_grad():
        _, content_s, aux_s = model.encode(batch["source_image"])
        stem_s, _, _ = model.encode(batch["source_image"])
        stem_t, _, _ = model.encode(batch["target_image"])
        expected_zero = L.zero_loss(model.style_target(stem_s), model.style_source(stem_t))
    assert torch.allclose(terms["zero"], cfg.loss.w_zero * expected_zero)
    total = L.total_loss(terms)
    assert torch.allclose(total, sum(terms.values()))
    eq9 = L.zero_style_loss(terms["zero"], terms["zero_trans"], terms["seg"])
    assert torch.allclose(total, eq9 + sum(v for k, v in terms.items() if k not in ("zero", "zero_trans", "seg")))
    with pytest.raises(KeyError, match="unknown loss terms"):
        L.total_loss({**terms, "typo": torch.tensor(1.0)})


def test_style_reconstruction_term_is_off_by_default_and_trains_the_code_when_on():
    """loss.w_style_rec (beyond the paper): off by default; on, it adds one term whose gradient reaches
    the style encoders and the generators."""
    from zsct_lib import losses as L
    from zsct_lib.models import build_model
    from zsct_lib.training import StepFlags, generator_losses

    g = torch.Generator().manual_seed(0)
    batch = {"source_image": torch.rand(2, 3, 32, 64, generator=g), "target_image": torch.rand(2, 3, 32, 64, generator=g),
             "source_label": torch.randint(0, 19, (2, 32, 64), generator=g)}
    flags = StepFlags(sty=True, cyc=False, st=False)
    cfg = small_config("model.generator=adain")
    torch.manual_seed(0)
    assert "style_rec" not in generator_losses(build_model(cfg.model), batch, flags, cfg)[0]
    cfg = small_config("model.generator=adain", "loss.w_style_rec=1.0")
    model = build_model(cfg.model)
    terms, _ = generator_losses(model, batch, flags, cfg)
    terms["style_rec"].backward()
    for module in (model.style_target, model.style_source, model.gen_target, model.gen_source):
        assert sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None) > 0
    assert "style_rec" in L.TOTAL_LOSS_ORDER


def test_content_reconstruction_term_is_off_by_default_and_reaches_the_content_encoder_when_on():
    """loss.w_content_rec (beyond the paper, MUNIT): a known value on hand-built maps; off by default; on,
    its gradient reaches the stem, the content encoder and both generators (through the translations)."""
    from zsct_lib import losses as L
    from zsct_lib.models import build_model
    from zsct_lib.training import StepFlags, generator_losses

    same = torch.ones(1, 2, 3, 3)
    assert L.content_reconstruction_loss(same, same, same, same) == 0
    assert L.content_reconstruction_loss(same + 0.5, same, same - 0.25, same) == pytest.approx(0.75)
    g = torch.Generator().manual_seed(0)
    batch = {"source_image": torch.rand(2, 3, 32, 64, generator=g), "target_image": torch.rand(2, 3, 32, 64, generator=g),
             "source_label": torch.randint(0, 19, (2, 32, 64), generator=g)}
    flags = StepFlags(sty=True, cyc=False, st=False)
    cfg = small_config("model.generator=adain", "loss.style_trains_stem=false")
    assert "content_rec" not in generator_losses(build_model(cfg.model), batch, flags, cfg)[0]
    cfg = small_config("model.generator=adain", "loss.style_trains_stem=false", "loss.w_content_rec=1.0")
    model = build_model(cfg.model)
    terms, _ = generator_losses(model, batch, flags, cfg)
    terms["content_rec"].backward()
    for module in (model.stem, model.content_encoder, model.gen_target, model.gen_source):
        assert _grad_size(module) > 0
    assert _grad_size(model.segmenter) == 0 and "content_rec" in L.TOTAL_LOSS_ORDER


def _grad_size(module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def test_style_terms_leave_the_stem_to_the_segmenter_when_asked():
    """loss.style_trains_stem=false: what the style encoders read of the stem is held fixed, so the terms
    on style codes (eq 5, the prior) leave the stem alone, the style reconstruction still reaches the
    generators through it, and eq 6 still trains it."""
    from zsct_lib.models import build_model
    from zsct_lib.training import StepFlags, generator_losses

    g = torch.Generator().manual_seed(0)
    batch = {"source_image": torch.rand(2, 3, 32, 64, generator=g), "target_image": torch.rand(2, 3, 32, 64, generator=g),
             "source_label": torch.randint(0, 19, (2, 32, 64), generator=g)}
    flags = StepFlags(sty=True, cyc=True, st=False)
    for trains_stem in (True, False):
        cfg = small_config("model.generator=adain", "model.style_norm=none", "model.stem_norm=none",
                           "loss.w_style_rec=1.0", "loss.w_style_prior=0.1", f"loss.style_trains_stem={trains_stem}")
        torch.manual_seed(0)
        model = build_model(cfg.model)
        terms, _ = generator_losses(model, batch, flags, cfg)
        (terms["zero"] + terms["style_prior"]).backward(retain_graph=True)
        assert (_grad_size(model.stem) > 0) == trains_stem
        assert _grad_size(model.style_target) > 0
        model.zero_grad()
        terms["style_rec"].backward(retain_graph=True)
        assert _grad_size(model.gen_target) > 0 and _grad_size(model.style_target) > 0
        model.zero_grad()
        terms["seg"].backward()
        assert _grad_size(model.stem) > 0                                   # the segmenter's stem either way


def test_style_prior_term_is_logged_when_on(tmp_path):
    from zsct_lib import losses as L

    assert "style_prior" in L.TOTAL_LOSS_ORDER
    run = tmp_path / "run"
    train(small_config("model.generator=adain", "loss.w_style_prior=0.1", "train.iterations=2", "train.ct_iterations=0",
                       "loss.cyc=false", "loss.st=false"), run, progress=False)
    assert all("style_prior" in line for line in metrics(run) if "seg" in line)


def test_resume_applies_a_changed_rate_and_refuses_a_changed_model(tmp_path, capsys):
    """--resume with a new optim.seg_lr trains on at the new rate (and says so); with a new model or data
    setting it refuses with the key named, and the run on disk stays as it was."""
    from zsct_lib.cli import main

    run = tmp_path / "run"
    base = ["--config", "tiny", "--out", str(run)]
    for item in [*SMALL, "train.iterations=3", "train.ct_iterations=0", "loss.mode=source_only"]:
        base += ["--set", item]
    train(load_config("tiny", SMALL + ["train.iterations=3", "train.ct_iterations=0", "loss.mode=source_only"]),
          run, max_steps=2, progress=False)
    before = (run / "checkpoint.pt").read_bytes()
    assert main(["train", *base, "--resume", "--set", "model.decoder=skip"]) == 2
    err = capsys.readouterr().err
    assert "model.decoder 'aspp' -> 'skip' cannot change within a run" in err and "Traceback" not in err
    assert (run / "checkpoint.pt").read_bytes() == before

    assert main(["train", *base, "--resume", "--set", "optim.seg_lr=0.002"]) == 0
    assert "resume: optim.seg_lr changed from 0.01 to 0.002, applied from step 2" in capsys.readouterr().out
    last = [r for r in metrics(run) if "lr" in r][-1]
    assert last["step"] == 3 and last["lr"] == pytest.approx(0.002 * (1 - 2 / 3) ** 0.9)


def test_transfer_fraction_is_the_mean_over_the_logging_window(tmp_path, monkeypatch):
    """Each line's transfer_fraction is the mean of the steps since the previous line (a step reports
    its own step number here, so the means are known)."""
    import zsct_lib.training.loop as loop

    def step_record(model, opts, batch, step, *args, **kwargs):   # step s pastes s pixels; odd steps recognise them all
        shares = {key: 0.25 for key in loop.TRANSFER_KEYS[3:]}
        return {"seg": 1.0, "transfer_fraction": float(step), "pasted_pixels": float(step),
                "pasted_recognised": float(step % 2), **shares}

    monkeypatch.setattr(loop, "training_step", step_record)
    train(small_config("train.iterations=2", "train.ct_iterations=3", "train.log_every=2"), tmp_path / "run",
          progress=False)
    logged = [(r["step"], r["transfer_fraction"], r["pasted_pixels"], r["pasted_recognised"])
              for r in metrics(tmp_path / "run") if "transfer_fraction" in r]
    # shares among pasted pixels are weighted by the pixels: steps 2 and 3 -> (2 * 0 + 3 * 1) / 5
    assert logged == [(2, 0.5, 0.5, 1.0), (4, 2.5, 2.5, 0.6), (5, 4.0, 4.0, 0.0)]


def test_poly_decay_restarts_at_stage_two_or_runs_once_over_the_whole_run():
    from zsct_lib.training.schedule import poly_lr

    per_stage = load_config("tiny", ["train.iterations=10", "train.ct_iterations=10", "optim.poly_power=1.0"])
    whole = load_config("tiny", ["train.iterations=10", "train.ct_iterations=10", "optim.poly_power=1.0",
                                 "optim.lr_decay=whole_run"])
    assert poly_lr(1.0, 9, per_stage) == pytest.approx(0.1) and poly_lr(1.0, 10, per_stage) == 1.0   # restart
    assert [poly_lr(1.0, s, whole) for s in (0, 9, 10, 19)] == pytest.approx([1.0, 0.55, 0.5, 0.05])  # one decay


def test_rare_class_probabilities_known_values():
    import math

    from zsct_lib.training.sampling import rare_class_probabilities

    p = rare_class_probabilities([90, 10, 0], temperature=1.0)     # f = 0.9, 0.1: softmax(0.1, 0.9)
    assert p[2] == 0 and p[1] == pytest.approx(math.exp(0.9) / (math.exp(0.1) + math.exp(0.9)))
    assert rare_class_probabilities([90, 10, 0], 0.01)[1] > 0.9999   # T = 0.01: the rare class almost always
    with pytest.raises(ValueError, match="temperature"):
        rare_class_probabilities([1, 1], 0.0)


def test_rare_class_sampler_draws_the_images_of_rare_classes_and_resumes_exactly():
    from zsct_lib.training.sampling import RareClassBatchSampler, rare_class_probabilities

    # class 1 is rare (10 pixels, only in image 3); class 0 everywhere
    image_classes = [[0], [0], [0], [0, 1], [0]]
    probabilities = rare_class_probabilities([1000, 10], temperature=0.01)
    sampler = RareClassBatchSampler(image_classes, probabilities, 2, 0, 0)
    batches = [next(it) for it in [iter(sampler)] for _ in range(50)]
    drawn = [index for batch in batches for index, _ in batch]
    assert drawn.count(3) > 0.9 * len(drawn)                          # the image that holds the rare class
    resumed = iter(RareClassBatchSampler(image_classes, probabilities, 2, 0, 0, start_step=20))
    assert [next(resumed) for _ in range(30)] == batches[20:]        # the same batches after a resume


def test_rare_class_sampling_trains_from_the_cached_statistics(tmp_path):
    cfg = small_config("loss.mode=source_only", "train.iterations=2", "train.ct_iterations=0",
                       "data.rare_class_temperature=0.01")
    train(cfg, tmp_path / "run", progress=False)
    stats = json.loads((tmp_path / "run" / "source_stats.json").read_text())
    assert len(stats["image_classes"]) == stats["size"] and all(stats["image_classes"])


def test_read_metrics_separates_the_kinds_of_records(tmp_path):
    from zsct_lib.training import read_metrics

    train(small_config("train.iterations=2", "train.ct_iterations=1", "train.eval_every=1"), tmp_path / "run",
          progress=False)
    path = tmp_path / "run" / "metrics.jsonl"
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3] and all("seg" in r for r in read_metrics(path))
    assert [r["step"] for r in read_metrics(path, "eval")] == [1, 2]
    assert [r["step"] for r in read_metrics(path, "pseudo_labels")] == [2, 3]


def test_eq19_holds_no_self_training_term_beside_content_transfer_unless_asked():
    """Stage 2 with input-level transfer: eq 19's L_seg_ct and no L_st; loss.st_with_ct (beyond the
    paper) keeps both; output-level alone changes nothing of that; stage 1 self-trains."""
    from zsct_lib.models import build_model
    from zsct_lib.training import generator_losses
    from zsct_lib.training.schedule import flags_at

    g = torch.Generator().manual_seed(0)
    batch = {"source_image": torch.rand(2, 3, 32, 64, generator=g), "target_image": torch.rand(2, 3, 32, 64, generator=g),
             "source_label": torch.randint(0, 19, (2, 32, 64), generator=g)}
    for extra, stage2_terms in (((), {"seg_ct"}), (("loss.out_ct=false",), {"seg_ct"}),
                                (("loss.st_with_ct=true",), {"seg_ct", "st"})):
        cfg = small_config("train.iterations=5", "train.ct_iterations=5", *extra)
        torch.manual_seed(0)
        model = build_model(cfg.model)
        assert flags_at(cfg, 4).st and not flags_at(cfg, 4).in_ct
        stage1, _ = generator_losses(model, batch, flags_at(cfg, 4), cfg)
        stage2, _ = generator_losses(model, batch, flags_at(cfg, 5), cfg)
        assert "st" in stage1 and "seg_ct" not in stage1
        assert {"st", "seg_ct"} & set(stage2) == stage2_terms, extra


def test_class_weights_are_near_equal_at_the_papers_scale_and_inverse_frequency_on_the_set():
    """A set of 3.3e6 pixels with a 1% class: counted at GTA5's scale (5e10 pixels) every class keeps
    millions of pixels and Cui et al.'s rule gives equal weights; counted on the set itself (beyond
    the paper) the rare class weighs far more."""
    from zsct_lib.training.loop import paper_source, source_class_weights

    counts = [3_000_000] + [15_000] * 17 + [32_800]
    cfg = small_config("loss.class_balance_beta=0.99999")
    assert paper_source(cfg.data) == "gta5"
    assert torch.allclose(source_class_weights(counts, cfg), torch.ones(19))
    own = source_class_weights(counts, small_config("loss.class_balance_beta=0.99999", "loss.class_balance_counts=dataset"))
    assert own[1] / own[0] > 5                       # E(3e6) = 1e5 samples against E(15000) = 1.4e4


def test_the_dise_stage_diagnostics_cut_exactly_the_paths_they_name():
    """loss.seg_on_translated=false: eq 6 no longer reaches the generators (it segments Is only);
    loss.generators_train_content=false: reconstruction and cycle (eqs 10, 11) no longer reach the content
    encoder or the stem (the style encoders reading it fixed, as configs/dise_stage.yaml has them), and still
    train the generators. Both on by default (DISE)."""
    from zsct_lib.models import build_model
    from zsct_lib.training import StepFlags, generator_losses

    g = torch.Generator().manual_seed(0)
    batch = {"source_image": torch.rand(2, 3, 32, 64, generator=g), "target_image": torch.rand(2, 3, 32, 64, generator=g),
             "source_label": torch.randint(0, 19, (2, 32, 64), generator=g)}
    flags = StepFlags(sty=True, cyc=True, st=False)
    for on in (True, False):
        cfg = small_config(f"loss.seg_on_translated={on}")
        torch.manual_seed(0)
        model = build_model(cfg.model)
        terms, _ = generator_losses(model, batch, flags, cfg)
        terms["seg"].backward()
        assert (_grad_size(model.gen_target) > 0) == on
        assert _grad_size(model.content_encoder) > 0
        cfg = small_config(f"loss.generators_train_content={on}", "loss.style_trains_stem=false")  # as dise_stage
        torch.manual_seed(0)
        model = build_model(cfg.model)
        terms, _ = generator_losses(model, batch, flags, cfg)
        (terms["rec"] + terms["cycle"]).backward()
        assert (_grad_size(model.content_encoder) > 0) == on and (_grad_size(model.stem) > 0) == on
        assert _grad_size(model.gen_target) > 0 and _grad_size(model.gen_source) > 0
