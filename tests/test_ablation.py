"""A quick ablation writes its files with the shape of Table 3 (the numbers of a smoke-size run mean nothing)."""
import json

import pytest

from zsct_lib.experiments import ROWS, AblationError, Schedule, run_ablation, select_rows

TINY = ["model.base_channels=8", "data.source_size=8", "data.target_size=8"]


def test_quick_ablation_files_and_shape(tmp_path):
    schedule = Schedule(source_only=2, stage1=2, stage2=2, val_size=2, extra=["train.checkpoint_every=100"])
    summary = run_ablation("tiny", tmp_path, seeds=2, overrides=TINY, jobs=2, schedule=schedule)
    assert [row["row"] for row in summary["rows"]] == [row.name for row in ROWS]
    for name in ("ablation.json", "ablation.md", "ablation.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "ablation.json").read_text())
    assert saved["protocol"] == "19-class" and saved["seeds"] == 2
    for row in saved["rows"]:
        assert row["seeds"] == 2 and len(row["per_class"]) == 19 and row["miou_std"] is not None
    table = (tmp_path / "ablation.md").read_text().splitlines()
    assert sum(line.startswith("| +Out |") for line in table) == 2 and "Table 3" in "\n".join(table)  # ours, the paper's
    # +In and +Out started from the stage-1 checkpoint of +ST instead of training their own first stage
    assert not (tmp_path / "plus_In" / "seed0" / "stage1.pt").exists()
    assert json.loads((tmp_path / "plus_In" / "seed0" / "metrics.jsonl").read_text().splitlines()[0])["step"] > 2
    # a second call reuses the finished runs
    again = run_ablation("tiny", tmp_path, seeds=2, overrides=TINY, jobs=1, schedule=schedule)
    assert again["rows"] == summary["rows"]


def test_row_selection_checks_dependencies():
    assert [r.name for r in select_rows("NonAdapt,Oracle")] == ["NonAdapt", "Oracle"]
    with pytest.raises(AblationError, match="needs"):
        select_rows("NonAdapt,+In")
    with pytest.raises(AblationError, match="unknown"):
        select_rows("Sty,+Bogus")
