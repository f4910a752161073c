"""The experiments wing: runs built from the paper's modules, and their tables.

* `ablation`: the study of Tables 3 and 4 (`zsct ablate`), its rows and schedules;
* `study_tables`: its tables in Markdown (`ablation.md`): the rows, the regime, the pseudo labels, the findings;
* `demo`: the main job (`zsct demo`), NonAdapt beside the full method;
* `pretrain`: the DISE stage, the start of every adapted row (`zsct pretrain`);
* `bench`: speed and memory per training iteration (`zsct bench`);
* `paired`: a study's paired differences over seeds and the gap it closes.

The names a notebook reads are importable from here (`from zsct_lib.experiments import STUDY`).
"""
from .ablation import PAPER_ABLATION, QUICK, ROWS, STUDY, AblationError, Schedule, run_ablation
from .demo import run_demo
from .study_tables import ablation_findings

__all__ = ["PAPER_ABLATION", "QUICK", "ROWS", "STUDY", "AblationError", "Schedule", "ablation_findings",
           "run_ablation", "run_demo"]
