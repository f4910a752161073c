"""Platforms that start processes by spawn (macOS, Windows): the data-loading worker and the ablation's
worker pool work under the spawn start method (here forced on Linux, in a fresh interpreter)."""
import json
import subprocess
import sys
import textwrap

from zsct_lib.training import read_metrics


def test_training_and_ablation_pool_under_spawn(tmp_path):
    script = tmp_path / "under_spawn.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing

        from zsct_lib.config import load_config
        from zsct_lib.experiments import Schedule, run_ablation
        from zsct_lib.training import train

        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn", force=True)
            small = ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
                     "train.amp=fp32", "train.log_every=1"]
            cfg = load_config("tiny", small + ["train.iterations=2", "train.ct_iterations=1", "data.num_workers=1"])
            train(cfg, r"{tmp_path / 'run'}", progress=False)
            run_ablation("tiny", r"{tmp_path / 'ablation'}", seeds=1, overrides=small, jobs=2, rows="NonAdapt,Oracle",
                         schedule=Schedule(source_only=2, stage1=1, stage2=1, val_size=2))
            print("start method", multiprocessing.get_start_method())
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "start method spawn" in done.stdout
    steps = [r["step"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl")]
    assert steps == [1, 2, 3]                                              # three steps, data drawn in a worker
    summary = json.loads((tmp_path / "ablation" / "ablation.json").read_text())
    assert [row["row"] for row in summary["rows"]] == ["NonAdapt", "Oracle"]
