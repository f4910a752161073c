import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("ZSCT_TEST_THREADS", "1")))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---- shared by the notebook-facing tests (analysis, plotting, widgets) ------------------------

@pytest.fixture(scope="module")
def model():
    """The tiny preset, untrained, seed 0, in eval mode."""
    from zsct_lib.config import ModelConfig
    from zsct_lib.models import build_model

    torch.manual_seed(0)
    return build_model(ModelConfig()).eval()


@pytest.fixture(scope="module")
def target():
    """Three labelled target scenes at 64x128: (images [3,3,64,128], labels [3,64,128])."""
    from zsct_lib.classroom.analysis import stack_split
    from zsct_lib.data import StreetScenes

    return stack_split(StreetScenes("target_oracle", "gta_like", 3, 64, 128), range(3))


@pytest.fixture
def rider_on_a_high_road():
    """(source label, target label) [16,32]: a rider on a bicycle on a road that starts at row 4 in the
    source and at row 10 in the target (a camera-pitch gap of 6 rows)."""
    source_label = torch.full((16, 32), 10)                # sky above row 4, road below: a high horizon
    source_label[4:] = 0
    source_label[2:4, 10:12] = 12                          # a rider standing on that road
    source_label[3, 12] = 18                               # with a bicycle
    target_label = torch.full((16, 32), 10)                # the target: sky, buildings from row 4, road from row 10
    target_label[4:10] = 2
    target_label[10:] = 0
    return source_label, target_label


@pytest.fixture
def fake_ablation_summary():
    """An ablation summary with every row of Table 3, one seed, made-up numbers, and the paper's table."""
    from zsct_lib.experiments import PAPER_ABLATION

    rows = []
    for i, name in enumerate(["NonAdapt", "Sty", "+Cyc", "+ST", "+In", "+Out", "+Out context-aware", "Oracle"]):
        rows.append({"row": name, "miou": 10.0 + i, "miou_std": 0.5, "miou_tail": 5.0 + i, "miou_tail_std": 0.2,
                     "per_class": {}, "per_seed": [{"miou": 10.0 + i, "miou_tail": 5.0 + i}],
                     "flags": {}, "seeds": 1})
    return {"benchmark": "gta_like", "protocol": "19-class", "seeds": 1, "rows": rows,
            "paper": PAPER_ABLATION["gta_like"]}
