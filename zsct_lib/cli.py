"""Command line: `zsct train | eval | demo | pretrain | ablate | bench | stats | figures | grade`, each with --help."""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from pathlib import Path


def _add_config_args(parser, default_config: str | None = "tiny"):
    parser.add_argument("--config", default=default_config,
                        help="YAML file, or a name in configs/ (tiny, tiny_synthia, deeplabv2_r101_gta5, ...)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.iterations=100 --set loss.st=false")


def cmd_train(args) -> int:
    from .config import load_config
    from .evaluation import format_results
    from .training import train

    cfg = load_config(args.config, args.overrides)
    result = train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, init_from=args.start_from)
    print(format_results(result, title=f"{args.config} -> {args.out}"))
    print(f"wrote {Path(args.out) / 'eval.json'}")
    return 0


def cmd_eval(args) -> int:
    import torch

    from .checkpoint import load_checkpoint, read_checkpoint
    from .config import ConfigError, _merge, config_from_dict, load_config, parse_overrides
    from .data import build_datasets
    from .evaluation import evaluate, format_results
    from .models import build_model
    from .training import resolve_device

    state = read_checkpoint(args.checkpoint)
    if args.config:
        cfg = load_config(args.config, args.overrides)
    else:
        cfg = config_from_dict(_merge(state["config"], parse_overrides(args.overrides)))
    cfg.model.init_weights = ""
    device = resolve_device(cfg.train.device)
    model = build_model(cfg.model)
    load_checkpoint(args.checkpoint, model, state=state)
    model.to(device)
    _, _, val = build_datasets(cfg.data)
    loader = torch.utils.data.DataLoader(val, batch_size=cfg.eval.batch_size, num_workers=cfg.data.num_workers)
    result = evaluate(model, loader, cfg.model.num_classes, cfg.eval.protocol, device, cfg.eval.max_images, progress=True)
    print(format_results(result, title=str(args.checkpoint)))
    if args.style:
        if cfg.data.source != "synthetic" or cfg.data.target != "synthetic":
            raise ConfigError("--style measures on the embedded benchmark (data.source and data.target synthetic)")
        from .evaluation import benchmark_style_measurements

        result["style"] = benchmark_style_measurements(model.cpu(), cfg.data)
        print("style and translation (32 source-train and 32 target-val scenes): "
              + ", ".join(f"{k} {v:.4g}" for k, v in result["style"].items() if isinstance(v, float)))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    return 0


def cmd_demo(args) -> int:
    from .experiments.demo import run_demo
    from .paths import RUNS_DIR_ENV

    out = args.out or str(Path(os.environ.get(RUNS_DIR_ENV) or "runs") / "demo")
    run_demo(out, quick=args.quick, overrides=args.overrides)
    return 0


def cmd_pretrain(args) -> int:
    from .config import ConfigError
    from .experiments.pretrain import pretrain

    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds}: expected at least 1")
    if args.source_only < 0:
        raise ConfigError(f"--source-only {args.source_only}: expected 0 (none) or more iterations")
    if args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: expected at least 1")
    for summary in pretrain(args.config, args.out, seeds=args.seeds, overrides=args.overrides,
                            source_only_iterations=args.source_only, jobs=args.jobs):
        style = summary["style"]
        print(f"seed {summary['seed']}: mIoU {summary['miou']}, mIoU_tail {summary['miou_tail']}, "
              f"style effect {style['style_effect']:.3f}, colour correlation {style['colour_correlation']:.2f}, "
              f"own/other Es {style['own_other_ratio_source']:.1f} Et {style['own_other_ratio_target']:.1f}, "
              f"reconstruction PSNR {style['psnr_rec_target']:.1f} dB (bound at the content's stride "
              f"{style['psnr_bound_target']:.1f}), {summary['train_seconds']:.0f} s")
    print(f"the DISE-stage models are in {args.out}/seed*/model.pt")
    return 0


def cmd_ablate(args) -> int:
    import dataclasses

    from .experiments.ablation import QUICK, STUDY, AblationError, Schedule, run_ablation

    for name in ("seeds", "jobs"):
        if getattr(args, name) < 1:
            raise AblationError(f"--{name} {getattr(args, name)}: expected at least 1")
    schedule = None
    if args.schedule:
        try:
            source_only, stage1, stage2 = (int(v) for v in args.schedule.split(","))
        except ValueError:
            raise AblationError(f"--schedule {args.schedule!r}: expected three integers SOURCE_ONLY,STAGE1,STAGE2") from None
        if min(source_only, stage1) < 1 or stage2 < 0:
            raise AblationError(f"--schedule {args.schedule!r}: SOURCE_ONLY and STAGE1 must be at least 1, STAGE2 at least 0")
        schedule = Schedule(source_only, stage1, stage2)
    if args.study:
        schedule = STUDY if schedule is None else dataclasses.replace(
            STUDY, source_only=schedule.source_only, stage1=schedule.stage1, stage2=schedule.stage2)
    if args.starts:                                    # run_ablation refuses it without --study
        schedule = dataclasses.replace(schedule or (QUICK if args.quick else Schedule()), starts=args.starts)
    run_ablation(args.config, args.out, seeds=args.seeds, quick=args.quick, overrides=args.overrides,
                 jobs=args.jobs, rows=args.rows, schedule=schedule, adapt_overrides=args.adapt_overrides,
                 ship_models=[name.strip() for name in (args.ship_models or "").split(",") if name.strip()])
    return 0


def cmd_stats(args) -> int:
    from .config import ConfigError, load_config
    from .data import StreetScenes, class_statistics, format_class_statistics

    if args.size < 1:
        raise ConfigError(f"--size {args.size}: expected at least 1 image per domain")
    cfg = load_config(args.config, args.overrides)
    d = cfg.data
    source = StreetScenes("source_train", d.benchmark, args.size, d.height, d.width, d.seed)
    target = StreetScenes("target_val", d.benchmark, args.size, d.height, d.width, d.seed)
    stats = class_statistics({"source": source, "target": target})
    print(f"benchmark {d.benchmark}, {args.size} images per domain at {d.height}x{d.width}, seed {d.seed}")
    print(format_class_statistics(stats))
    return 0


def cmd_bench(args) -> int:
    from .experiments.bench import run_bench

    run_bench(args.config, args.overrides, batch_sizes=args.batch_size, options=args.options, iterations=args.iterations,
              warmup=args.warmup, out=args.out)
    return 0


def cmd_figures(args) -> int:
    from .classroom.plotting import make_figures

    for path in make_figures(args.out):
        print(f"wrote {path}")
    return 0


def cmd_grade(args) -> int:
    from .classroom.grading import GradingError, format_grades, grade, write_grades

    try:
        grades = grade(args.submissions, timeout=args.timeout, all_cells=args.all_cells, jobs=args.jobs,
                       progress=lambda line: print(line, flush=True))
    except GradingError as err:                        # caught here: main's list of one-line errors stays as it is
        print(f"zsct grade: error: {err}", file=sys.stderr)
        return 2
    print(format_grades(grades))
    for path in write_grades(grades, args.out):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zsct", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a config; writes checkpoints, metrics.jsonl and eval.json to --out")
    _add_config_args(p)
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--start-from", default=None, metavar="CKPT",
                   help="start from another run's checkpoint (weights, optimizers and step), e.g. its stage1.pt")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="score a checkpoint on the target validation split")
    p.add_argument("--checkpoint", required=True)
    _add_config_args(p, default_config=None)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--style", action="store_true",
                   help="also measure whether the style codes steer the generators (evaluation.style_measurements)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("demo", help="the main job: NonAdapt vs the full method fine-tuned from the shipped DISE-stage model (about 4 min on 2 CPU cores)")
    p.add_argument("--out", default=None,
                   help="where the two runs and the figure go (default: $ZSCT_RUNS_DIR/demo when set, else runs/demo)")
    p.add_argument("--quick", action="store_true", help="a few iterations only (a smoke test)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the dise_stage config, e.g. --set train.amp=fp32")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("pretrain", help="the DISE stage: the method's starting model per seed (weights-only, half precision)")
    _add_config_args(p)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", required=True, help="folder of the seed<k> runs; finished seeds are kept, interrupted ones resume")
    p.add_argument("--source-only", type=int, default=0, metavar="N",
                   help="first train the segmentation network alone on the source for N iterations (default 0: none)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="seeds trained at a time, each in its own process on one CPU thread (default 1)")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("ablate", help="the ablation of Tables 3/4: NonAdapt, Sty, +Cyc, +ST, +In, +Out, oracle over seeds")
    _add_config_args(p)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true", help="a reduced study in a few minutes")
    p.add_argument("--jobs", type=int, default=2, help="runs in parallel (one CPU thread each)")
    p.add_argument("--schedule", default=None, metavar="S0,S1,S2",
                   help="iterations of NonAdapt pre-training, stage 1 and stage 2 (default 800,150,100)")
    p.add_argument("--study", action="store_true",
                   help="the study of Tables 3/4 (with --config dise_stage or dise_stage_synthia): adapted rows fine-tune "
                        "the shipped DISE-stage model; schedule 2500,200,150 (the DISE stage's budget, stage 1, stage 2)")
    p.add_argument("--starts", default=None, metavar="DIR",
                   help="with --study: fine-tune the DISE-stage models in DIR/seed<k>/model.pt (made by zsct pretrain) "
                        "instead of the shipped ones; give --schedule its budget as the first number")
    p.add_argument("--rows", default=None,
                   help="comma list of rows, e.g. NonAdapt,Oracle (the domain gap); 'paper' for the paper's rows; "
                        "'study' for the committed study's (the paper's, the named options of its regime, rare-class "
                        "sampling); default all")
    p.add_argument("--adapt-set", dest="adapt_overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override for the adapted rows only (they fine-tune NonAdapt), e.g. optim.seg_lr=0.001")
    p.add_argument("--ship-models", default=None, metavar="ROWS",
                   help="comma list of rows whose seed-0 run keeps a weights-only model.pt (float16) to commit, "
                        "for the notebooks, e.g. NonAdapt,+Out")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("bench", help="time the full training iteration for speed options")
    _add_config_args(p)
    p.add_argument("--batch-size", type=int, action="append", default=None)
    p.add_argument("--options", default="all",
                   help="comma list of: fp32, fp32_compile, tf32 (GPU only), bf16, bf16_channels_last, bf16_fused, "
                        "bf16_compile, bf16_compile_all; or all (every option this device runs)")
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--out", default=None, help="write the table as JSON here")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("stats", help="per-class pixel share and image share of both domains of the embedded benchmark")
    _add_config_args(p)
    p.add_argument("--size", type=int, default=200, help="images per domain")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("figures", help="regenerate every figure in figures/")
    p.add_argument("--out", default="figures")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("grade", help="grade handed-in notebooks: run each in a fresh kernel, check its my_* functions",
                       description="Run each handed-in notebook in a fresh python3 kernel (its setup cell, the cells "
                                   "that only define things, and the cells that define my_<name>; --all-cells for "
                                   "every cell), then check each my_<name> with zsct_lib.classroom.exercises.check_<name>. "
                                   "Statuses: PASSED, NOT YET, refused (the library's own function, or a wrapper of "
                                   "it), missing, error, timeout.")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="a handed-in .ipynb, graded as the student named by the file (alice.ipynb: alice), or a "
                        "folder of one student's notebooks, graded as the student named by the folder; for a "
                        "folder of many students' files, pass the files: handins/*.ipynb")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="time limit per notebook, for its cells and checks (the kernel's start is not counted; "
                        "default 300)")
    p.add_argument("--out", default="grades", metavar="DIR", help="folder for grades.csv and grades.json (default grades/)")
    p.add_argument("--all-cells", action="store_true", help="run every cell of each notebook, not only those needed")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="notebooks graded at once, each in its own kernel (default 1; one per CPU core is a good start)")
    p.set_defaults(func=cmd_grade)
    return parser


def main(argv=None) -> int:
    from .checkpoint import CheckpointError
    from .config import ConfigError
    from .data.real import DatasetError
    from .experiments.ablation import AblationError
    from .models import InitWeightsError
    from .training import NonFiniteLossError, RunDirectoryError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, CheckpointError, RunDirectoryError, NonFiniteLossError, DatasetError, InitWeightsError,
            FileNotFoundError, AblationError) as err:
        print(f"zsct {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:                             # a folder that cannot be written (a read-only install)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            print(f"zsct {args.command}: error: cannot write {err.filename or 'the output'}: the disk is full; free "
                  f"some space or write elsewhere (--out)", file=sys.stderr)
            return 2
        if err.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        print(f"zsct {args.command}: error: cannot write {err.filename or 'the output'} ({err.strerror}): choose a "
              f"writable folder with --out, or set ZSCT_RUNS_DIR for zsct demo", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
