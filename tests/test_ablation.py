"""A quick ablation writes its files with the shape of Table 3 (the numbers of a smoke-size run mean nothing)."""
import json
import re

import pytest

from zsct_lib.config import ConfigError, load_config
from zsct_lib.experiments.ablation import ROWS, AblationError, Schedule, reuse_conflicts, run_ablation, select_rows
from zsct_lib.paths import RESULTS_DIR

TINY = ["model.base_channels=8", "data.source_size=8", "data.target_size=8"]


def test_quick_ablation_files_and_shape(tmp_path, capsys):
    schedule = Schedule(source_only=2, stage1=2, stage2=2, val_size=2, extra=["train.checkpoint_every=100"])
    summary = run_ablation("tiny", tmp_path, seeds=2, overrides=TINY, jobs=2, schedule=schedule)
    assert [row["row"] for row in summary["rows"]] == [row.name for row in ROWS]
    for name in ("ablation.json", "ablation.md", "ablation.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "ablation.json").read_text())
    assert saved["protocol"] == "19-class" and saved["seeds"] == 2
    # the size it trained and scored at, and the --set that made it, are in the summary and the table
    assert saved["image_size"] == [load_config("tiny", TINY).data.height, load_config("tiny", TINY).data.width]
    assert saved["config_overrides"] == list(TINY)
    for row in saved["rows"]:
        assert row["seeds"] == 2 and len(row["per_class"]) == 19 and row["miou_std"] is not None
    table = (tmp_path / "ablation.md").read_text().splitlines()
    for start in ("| +Out | x", "| +Out | 49.6 |", "| +Out | end |"):        # ours, the paper's, the pseudo labels'
        assert sum(line.startswith(start) for line in table) == 1, start
    assert "Table 3" in "\n".join(table) and "Training time:" in table[-1]
    assert "CPU threads per run: 1;" in table[-1]          # jobs=2: one thread each, read from the runs' configs
    assert f"images {saved['image_size'][0]}x{saved['image_size'][1]}, mean ± std over 2 seeds" in table[0]
    # +In and +Out started from the stage-1 checkpoint of +ST instead of training their own first stage
    assert not (tmp_path / "plus_In" / "seed0" / "stage1.pt").exists()
    assert json.loads((tmp_path / "plus_In" / "seed0" / "metrics.jsonl").read_text().splitlines()[0])["step"] > 2
    # a line per finished run, in the log and on the terminal, and where the results are at the end
    log = (tmp_path / "ablation.log").read_text().splitlines()
    total = len(ROWS) * 2
    assert len(log) == total and log[0].startswith(f"1/{total} ") and log[-1].startswith(f"{total}/{total} ")
    assert sorted(line.split(" ", 1)[1].split(":")[0] for line in log) == sorted(
        f"{row.name} seed{k}" for row in ROWS for k in range(2))
    out = capsys.readouterr()
    assert "plus_ST" in out.out + out.err and f"results: {tmp_path / 'ablation.md'}" in out.out
    # a second call reuses the finished runs
    again = run_ablation("tiny", tmp_path, seeds=2, overrides=TINY, jobs=1, schedule=schedule)
    assert again["rows"] == summary["rows"]
    assert (tmp_path / "ablation.log").read_text().splitlines() == log                # one line per training
    out = capsys.readouterr()
    assert "reused, trained earlier" in out.out + out.err                           # said, not logged
    # a finished run trained with another config is refused, naming it, before anything trains
    with pytest.raises(ConfigError, match=r"/Sty/seed0 was trained with optim.seg_lr \S+ \(this study: 0.5\); remove that folder"):
        run_ablation("tiny", tmp_path, seeds=2, overrides=TINY, jobs=1, schedule=schedule,
                     adapt_overrides=["optim.seg_lr=0.5"])
    assert (tmp_path / "ablation.log").read_text().splitlines() == log


def test_a_row_whose_stage1_start_is_gone_names_the_run_to_train_again(tmp_path):
    """+In starts from the stage-1 checkpoint of +ST, which git does not keep: a study resumed from committed
    runs without it is one error naming the +ST folder, before anything trains."""
    schedule = Schedule(source_only=2, stage1=2, stage2=2, val_size=2, extra=["train.checkpoint_every=100"])
    run_ablation("tiny", tmp_path, seeds=1, overrides=TINY, jobs=1, rows="NonAdapt,+ST", schedule=schedule)
    (tmp_path / "plus_ST" / "seed0" / "stage1.pt").unlink()
    with pytest.raises(AblationError, match=re.escape(f"remove {tmp_path / 'plus_ST' / 'seed0'} to train it again")):
        run_ablation("tiny", tmp_path, seeds=1, overrides=TINY, jobs=1, rows="NonAdapt,+ST,+In", schedule=schedule)
    assert not (tmp_path / "plus_In").exists()


def test_reuse_conflicts_name_the_keys_that_change_what_a_run_learns():
    saved = {"optim": {"seg_lr": 0.01}, "train": {"amp": "bf16", "threads": 1}, "data": {"num_workers": 0}}
    same = {"optim": {"seg_lr": 0.01}, "train": {"amp": "auto", "threads": 2}, "data": {"num_workers": 1}}
    assert reuse_conflicts(saved, same) == {}                       # auto resolved to bf16; threads, workers
    assert reuse_conflicts(saved, {**same, "optim": {"seg_lr": 0.004}}) == {"optim.seg_lr": (0.01, 0.004)}
    assert reuse_conflicts(saved, {**same, "train": {"amp": "fp32", "threads": 1}}) == {"train.amp": ("bf16", "fp32")}
    assert reuse_conflicts(saved, {**same, "loss": {"w_ct": 1.0}}) == {"loss.w_ct": (None, 1.0)}



def test_a_run_saved_before_a_key_existed_is_read_with_what_it_did():
    """Runs saved without eq 19's switch kept L_st beside L_seg_ct, and counted eq 7 on their own set: a
    study at today's defaults refuses them where that matters, not where it cannot have mattered."""
    old_ct = {"loss": {"in_ct": True}, "data": {"rare_class_temperature": 0.0}}
    today = {"loss": {"in_ct": True, "st_with_ct": False, "class_balance_counts": "paper_scale"},
             "data": {"rare_class_temperature": 0.0, "rare_class_min_pixels": 3000}}
    assert reuse_conflicts(old_ct, today) == {"loss.st_with_ct": (True, False),
                                              "loss.class_balance_counts": ("dataset", "paper_scale")}
    stage1_only = {"loss": {"in_ct": False, "class_balance_counts": "paper_scale"}, "data": {"rare_class_temperature": 0.0}}
    assert reuse_conflicts(stage1_only, {**today, "loss": {**today["loss"], "in_ct": False}}) == {}
    sampled = {**today, "data": {"rare_class_temperature": 0.01, "rare_class_min_pixels": 3000}}
    assert reuse_conflicts({**stage1_only, "data": {"rare_class_temperature": 0.01}}, {**sampled, "loss": stage1_only["loss"]}) \
        == {"data.rare_class_min_pixels": (0, 3000)}


def test_row_selection_checks_dependencies():
    assert [r.name for r in select_rows("NonAdapt,Oracle")] == ["NonAdapt", "Oracle"]
    with pytest.raises(AblationError, match="needs"):
        select_rows("NonAdapt,+In")
    with pytest.raises(AblationError, match="unknown"):
        select_rows("Sty,+Bogus")


def test_adapt_overrides_reach_the_adapted_rows_only():
    from zsct_lib.config import load_config
    from zsct_lib.experiments.ablation import _row_config

    base = load_config("tiny").to_dict()
    schedule = Schedule(source_only=10, stage1=4, stage2=3, adapt=["optim.seg_lr=0.001"])
    by_name = {row.name: row for row in ROWS}
    adapted = _row_config(base, by_name["+ST"], 1, schedule, "nonadapt.pt")
    assert adapted["optim"]["seg_lr"] == 0.001 and adapted["train"]["init_checkpoint"] == "nonadapt.pt"
    assert (adapted["train"]["iterations"], adapted["train"]["ct_iterations"], adapted["train"]["seed"]) == (4, 3, 1)
    for name in ("NonAdapt", "Oracle"):
        assert _row_config(base, by_name[name], 1, schedule, None)["optim"]["seg_lr"] == base["optim"]["seg_lr"]


def test_malformed_adapt_override_fails_before_training(tmp_path):
    from zsct_lib.config import ConfigError

    for bad in (["optim.seg_lr"], ["optim.seg_learning_rate=0.1"]):       # no value; an unknown key
        with pytest.raises(ConfigError):
            run_ablation("tiny", tmp_path / "study", seeds=1, adapt_overrides=bad, rows="NonAdapt,Sty")
    assert not (tmp_path / "study").exists()       # nothing was trained or written


def test_findings_pair_the_seeds_and_measure_the_gap():
    from zsct_lib.experiments.study_tables import ablation_findings
    from zsct_lib.experiments.paired import gap_closed, paired_difference

    def entry(name, per_seed):
        mious, tails = [m for m, _ in per_seed], [t for _, t in per_seed]
        return {"row": name, "miou": sum(mious) / len(mious), "miou_tail": sum(tails) / len(tails),
                "per_seed": [{"miou": m, "miou_tail": t} for m, t in per_seed]}

    summary = {"rows": [entry("NonAdapt", [(20, 4), (24, 6)]), entry("+ST", [(25, 3), (29, 5)]),
                        entry("+Out", [(26, 6), (30, 7)]), entry("Oracle", [(30, 10), (34, 12)])]}
    d = paired_difference(summary, "+Out", "+ST", "miou_tail")
    assert d.diffs == [3, 2] and d.mean == 2.5 and d.std == round(0.5 ** 0.5, 2)   # seeds paired, not pooled
    # 95% t-interval with 1 degree of freedom: 2.5 ± 12.706 * 0.7071 / sqrt(2) = 2.5 ± 6.353
    assert (d.low, d.high) == (-3.85, 8.85) and d.verdict() == "no difference shown"
    assert gap_closed(summary) == 0.6                                         # (28 - 22) / (32 - 22)
    text = ablation_findings(summary)
    assert "closes 60%" in text and "not shown: the interval includes 0 (+2.5 [-3.9, +8.8] points" in text
    assert "Δ tail recall" not in text                                        # runs that did not measure it
    for row, recall in zip(summary["rows"], (30, 20, 28, 40)):
        for seed, bump in zip(row["per_seed"], (0, 2)):
            seed.update(tail_recall=recall + bump, tail_precision=50 - bump)
    assert "| +ST -> +Out | +8.0 [+8.0, +8.0] | +0.0 [+0.0, +0.0] |" in ablation_findings(summary)
    assert paired_difference(summary, "+In", "+ST") is None                  # a row that was not run
    summary["rows"][2]["per_seed"] = [{"miou": 30, "miou_tail": 8}, {"miou": 34, "miou_tail": 10.5}]
    d = paired_difference(summary, "+Out", "+ST", "miou_tail")                # differences 5 and 5.5
    assert d.low > 0 and d.verdict() == "higher" and "? yes (" in ablation_findings(summary)


def test_demo_comparison_sets_a_run_beside_the_committed_demo(tmp_path):
    import json

    from zsct_lib.experiments.demo import demo_comparison

    def result(miou, tail, amp):
        return {"miou": miou, "miou_tail": tail, "config": {"train": {"amp": amp}}}

    assert demo_comparison(result(1, 1, "bf16"), result(2, 2, "bf16"), tmp_path) == []     # nothing committed
    for kind, values in (("nonadapt", (22.09, 7.46)), ("full", (26.75, 8.89))):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "eval.json").write_text(json.dumps(result(*values, "none")))
    lines = demo_comparison(result(22.03, 9.15, "bf16"), result(28.18, 11.51, "bf16"), tmp_path)
    assert "NonAdapt 22.09 / 7.46, full method 26.75 / 8.89" in lines[0] and "fp32" in lines[0]
    assert "this run (bf16): NonAdapt 22.03 / 9.15 (-0.06 / +1.69), full method 28.18 / 11.51 (+1.43 / +2.62)" == lines[1]
    assert demo_comparison(result(1, 1, "fp32"), result(1, 1, "fp32"), RESULTS_DIR / "demo")   # the committed demo is read


def test_demo_fine_tunes_the_shipped_dise_stage_and_keeps_its_style(tmp_path):
    """`zsct demo`: NonAdapt from scratch, the full method from the shipped DISE-stage model of seed 0 at the
    study's fine-tuning rate; the full model's style code still steers its generator (a generator trained
    from scratch scores 1e-5 here), and the committed demo run was made so."""
    from zsct_lib.checkpoint import load_model
    from zsct_lib.config import load_config
    from zsct_lib.evaluation import benchmark_style_measurements
    from zsct_lib.experiments import STUDY, run_demo

    run_demo(tmp_path, quick=True)
    for folder in (tmp_path, RESULTS_DIR / "demo"):
        full, nonadapt = (load_config(str(folder / kind / "config.yaml")) for kind in ("full", "nonadapt"))
        assert full.train.init_checkpoint == "results/dise_stage_gta_like/seed0/model.pt" and full.loss.out_ct
        assert full.optim.seg_lr == 4e-3 and full.model.freeze_bn and "optim.seg_lr=4e-3" in STUDY.adapt
        assert nonadapt.train.init_checkpoint == "" and nonadapt.loss.mode == "source_only"
    model, cfg = load_model(tmp_path / "full" / "model.pt")
    assert benchmark_style_measurements(model, cfg.data, images=8)["style_effect"] > 0.02


def test_study_fine_tunes_the_shipped_dise_stage(tmp_path):
    """The study's adapted rows start from the shipped DISE-stage model of their seed, at the fine-tuning
    rate with one poly decay and frozen BN; NonAdapt trains from scratch for the whole budget; every
    run scores its pseudo labels; the beyond-the-paper rows carry their options."""
    import dataclasses

    from zsct_lib.experiments import STUDY

    schedule = dataclasses.replace(STUDY, source_only=2, stage1=2, stage2=2, val_size=2,
                                   extra=["data.source_size=8", "data.target_size=8", "eval.pseudo_label_images=2"])
    rows = ("NonAdapt,+ST,+Out class-weighted,+In raw pixels,+In with L_st kept,+Out whole objects,"
            "+Out dataset class weights,+ST rare-class sampling")
    summary = run_ablation("dise_stage", tmp_path, seeds=1, jobs=1, rows=rows, schedule=schedule)
    run = lambda name: json.loads((tmp_path / name / "seed0" / "eval.json").read_text())  # noqa: E731
    st = run("plus_ST")
    assert st["config"]["train"]["init_checkpoint"] == "results/dise_stage_gta_like/seed0/model.pt"
    assert st["config"]["model"]["freeze_bn"] and st["config"]["optim"]["lr_decay"] == "whole_run"
    assert st["config"]["optim"]["seg_lr"] == 4e-3 and st["pseudo_labels_stage1"]["images"] == 2
    nonadapt = run("NonAdapt")
    assert nonadapt["config"]["train"]["iterations"] == 6 and nonadapt["config"]["train"]["init_checkpoint"] == ""
    assert run("plus_Out_class-weighted")["config"]["loss"]["seg_ct_class_weighted"]
    assert run("plus_In_raw_pixels")["config"]["loss"]["in_ct_pixels"] == "raw"
    assert run("plus_ST_rare-class_sampling")["config"]["data"]["rare_class_temperature"] == 0.01
    assert run("plus_In_with_L_st_kept")["config"]["loss"]["st_with_ct"]
    whole = run("plus_Out_whole_objects")
    assert whole["config"]["loss"]["ct_objects"] == "whole" and whole["transfer"]["pasted_pixels"] >= 0
    strong = run("plus_Out_dataset_class_weights")["config"]                 # its own DISE stage, inverse frequency
    assert strong["train"]["init_checkpoint"] == "results/dise_stage_strong_weights_gta_like/seed0/model.pt"
    assert strong["loss"]["class_balance_counts"] == "dataset" and st["config"]["loss"]["class_balance_counts"] == "paper_scale"
    assert all("pseudo_labels" in row and "bias" in row for row in summary["rows"])
    assert "The regime on target val" in (tmp_path / "ablation.md").read_text()


def test_study_starts_from_another_set_of_dise_stage_models(tmp_path, capsys):
    """--starts: the adapted rows fine-tune DIR/seed<k>/model.pt; a missing set is a one-line error and a
    study folder trained from other starts is not reused."""
    import dataclasses
    import shutil

    from zsct_lib.cli import main
    from zsct_lib.experiments import STUDY

    shipped = RESULTS_DIR / "dise_stage_gta_like" / "seed0"
    other = tmp_path / "starts" / "seed0"
    other.mkdir(parents=True)
    for name in ("model.pt", "config.yaml"):
        shutil.copy(shipped / name, other / name)
    schedule = dataclasses.replace(STUDY, source_only=2, stage1=2, stage2=0, val_size=2, starts=str(tmp_path / "starts"),
                                   extra=["data.source_size=8", "data.target_size=8", "eval.pseudo_label_images=2"])
    run_ablation("dise_stage", tmp_path / "study", seeds=1, jobs=1, rows="+ST", schedule=schedule)
    st = json.loads((tmp_path / "study" / "plus_ST" / "seed0" / "eval.json").read_text())
    assert st["config"]["train"]["init_checkpoint"] == str(other / "model.pt")
    with pytest.raises(ConfigError, match="init_checkpoint"):     # the same folder from the shipped starts
        run_ablation("dise_stage", tmp_path / "study", seeds=1, jobs=1, rows="+ST",
                     schedule=dataclasses.replace(schedule, starts=""))
    capsys.readouterr()
    assert main(["ablate", "--config", "dise_stage", "--study", "--starts", str(tmp_path / "none"), "--seeds", "1",
                 "--rows", "+ST", "--out", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'none' / 'seed0' / 'model.pt'}, which is missing" in err and len(err.strip().splitlines()) == 1
    assert main(["ablate", "--config", "dise_stage", "--study", "--starts", str(tmp_path / "none"), "--seeds", "1",
                 "--rows", "NonAdapt", "--schedule", "2,1,0", "--out", str(tmp_path / "baseline")]) == 0
    nonadapt = json.loads((tmp_path / "baseline" / "NonAdapt" / "seed0" / "eval.json").read_text())
    assert nonadapt["config"]["train"]["iterations"] == 3     # trained from scratch: no start needed
    assert main(["ablate", "--config", "tiny", "--starts", str(tmp_path / "starts"), "--out", str(tmp_path / "x")]) == 2
    assert "only a study that starts from DISE-stage models (--study)" in capsys.readouterr().err


def test_study_refuses_a_config_that_does_not_fit_the_shipped_model(tmp_path):
    from zsct_lib.experiments import STUDY

    with pytest.raises(AblationError, match="model.generator: 'adain' \\(shipped\\) vs 'dise'"):
        run_ablation("tiny", tmp_path / "study", seeds=1, schedule=STUDY, rows="Sty")
    assert not (tmp_path / "study").exists()


def test_a_missing_dise_stage_set_names_the_command_that_makes_it(tmp_path):
    """The inverse-frequency row starts from a DISE stage trained with those weights: the message to make a
    missing one carries the override, so that the set made is the one the row needs."""
    from zsct_lib.config import load_config
    from zsct_lib.experiments.ablation import DISE_STAGE_SETS, AblationError, _dise_stage_starts

    base = load_config("dise_stage").to_dict()
    with pytest.raises(AblationError, match="--set loss.class_balance_counts=dataset --out"):
        _dise_stage_starts(base, 1, str(tmp_path / "missing"), DISE_STAGE_SETS["dise_stage_strong_weights"])


def test_a_study_at_another_size_needs_starts_made_at_that_size(tmp_path):
    """A study at 128x256 (--set data.height=128 ...) refuses the shipped 64x128 starts, and the command it
    names to make a missing set carries the size, so that the set made is the one the study needs."""
    from zsct_lib.config import load_config
    from zsct_lib.experiments.ablation import AblationError, _dise_stage_starts

    sizes = ["data.height=128", "data.width=256", "data.crop_height=128", "data.crop_width=256"]
    base = load_config("dise_stage", sizes).to_dict()
    with pytest.raises(AblationError, match=r"was trained at 64x128, the study runs at 128x256"):
        _dise_stage_starts(base, 1)
    with pytest.raises(AblationError, match="--set data.height=128 --set data.width=256 --set data.crop_height=128 "
                                            "--set data.crop_width=256 --out"):
        _dise_stage_starts(base, 1, str(tmp_path / "missing"))
    assert _dise_stage_starts(load_config("dise_stage").to_dict(), 1) == ["results/dise_stage_gta_like/seed0/model.pt"]


def test_a_row_with_its_own_dise_stage_at_another_size_looks_for_a_set_of_that_size(tmp_path, monkeypatch):
    """The inverse-frequency row of a 128x256 study starts from the set dise_stage_strong_weights_gta_like_128x256
    of the results folder (not the 64x128 set): missing, it is named with the command that makes it, carrying both the weights'
    override and the size, and nothing is written."""
    import dataclasses

    from zsct_lib.config import load_config
    from zsct_lib.experiments import STUDY
    from zsct_lib.experiments.ablation import dise_stage_set_folder

    sizes = ["data.height=128", "data.width=256", "data.crop_height=128", "data.crop_width=256"]
    assert dise_stage_set_folder(load_config("dise_stage", sizes).to_dict(), "dise_stage_strong_weights") == \
        RESULTS_DIR / "dise_stage_strong_weights_gta_like_128x256"
    assert dise_stage_set_folder(load_config("dise_stage_synthia").to_dict(), "dise_stage_strong_weights") == \
        RESULTS_DIR / "dise_stage_strong_weights_synthia_like"
    schedule = dataclasses.replace(STUDY, starts=str(RESULTS_DIR / "dise_stage_gta_like_128x256"))
    monkeypatch.setattr("zsct_lib.experiments.ablation.RESULTS_DIR", tmp_path / "results")   # a set not made yet
    missing = tmp_path / "results" / "dise_stage_strong_weights_gta_like_128x256" / "seed0" / "model.pt"
    with pytest.raises(AblationError, match=re.escape(f"{missing}, which is missing: run `zsct pretrain --config "
                                                      "dise_stage --seeds 1 --set loss.class_balance_counts=dataset "
                                                      "--set data.height=128")):
        run_ablation("dise_stage", tmp_path / "study", seeds=1, rows="+Out dataset class weights", schedule=schedule,
                     overrides=sizes)
    assert not (tmp_path / "study").exists()


def test_a_one_seed_table_gives_no_spread():
    """A study part of one seed prints its scores without '± 0.0', which would read as a measured spread."""
    from zsct_lib.experiments.study_tables import ablation_markdown

    entry = {"row": "NonAdapt", "flags": dict.fromkeys(("Sty", "Cyc", "ST", "In", "Out"), False),
             "per_class": {"road": (43.3, 0.0), "pole": (12.6, 0.0)},
             "miou": 26.16, "miou_std": 0.0, "miou_tail": 18.46, "miou_tail_std": 0.0}
    one = ablation_markdown({"benchmark": "gta_like", "protocol": "19-class", "seeds": 1, "rows": [entry]})
    assert "one seed" in one and "| 43.3 | 12.6 | 26.2 | 18.5 |" in one and "±" not in one
    three = ablation_markdown({"benchmark": "gta_like", "protocol": "19-class", "seeds": 3,
                               "rows": [{**entry, "miou_std": 1.25}]})
    assert "mean ± std over 3 seeds" in three and "| 26.2 ± 1.2 | 18.5 ± 0.0 |" in three


def test_shipped_models_are_the_trained_weights_in_half_precision(tmp_path):
    import torch

    from zsct_lib.checkpoint import load_model
    from zsct_lib.paths import load_study_model, study_run_folder

    schedule = Schedule(source_only=3, stage1=1, stage2=0, val_size=2, extra=["train.checkpoint_every=100"])
    with pytest.raises(AblationError, match=r"--ship-models \+Out: not a row of this study \(NonAdapt, Oracle\)"):
        run_ablation("tiny", tmp_path / "study_x", seeds=1, overrides=TINY, jobs=1, rows="NonAdapt,Oracle",
                     schedule=schedule, ship_models=["+Out"])
    assert not (tmp_path / "study_x").exists()          # refused before anything was written
    run_ablation("tiny", tmp_path / "results" / "study_x", seeds=1, overrides=TINY, jobs=1, rows="NonAdapt,Oracle",
                 schedule=schedule, ship_models=["NonAdapt"])
    run = study_run_folder(tmp_path / "results" / "study_x", "NonAdapt", 0)
    assert (run / "model.pt").stat().st_size < (run / "checkpoint.pt").stat().st_size / 2     # no optimizer states
    assert not (study_run_folder(tmp_path / "results" / "study_x", "Oracle", 0) / "model.pt").exists()
    (tmp_path / "zsct_lib").mkdir()                 # tmp_path reads as a repository (`paths.repo_root`)
    (tmp_path / "zsct_lib" / "__init__.py").touch()
    shipped, cfg, path = load_study_model("x", "NonAdapt", 0, root=tmp_path)
    trained, _ = load_model(run / "checkpoint.pt")
    images = torch.rand(2, 3, cfg.data.height, cfg.data.width)
    with torch.no_grad():   # the float16 copy predicts what the trained model predicts
        agree = (shipped.predict(images).argmax(1) == trained.predict(images).argmax(1)).float().mean()
    assert path == run / "model.pt" and agree > 0.99
    with pytest.raises(FileNotFoundError, match=r"no model of row '\+Out' seed 0 at .*plus_Out/seed0/model.pt"):
        load_study_model("x", "+Out", 0, root=tmp_path)
