"""Training, in the shape of torchvision's segmentation reference: one iteration, the sampling, the run.

- `schedule`: which loss terms are on at a step (`StepFlags`, `flags_at`), the poly learning rate,
  one optimizer per module group (`build_optimizers`);
- `step`: one iteration of the paper: `generator_losses` (every term of eq 19 under its own name),
  `losses.total_loss` (eq 19), `discriminator_losses`, and `training_step`, which updates both sides;
- `sampling`: seeded, resumable batches (`StepBatchSampler`, `SeededSamples`, `make_loader`), and
  DAFormer's rare-class sampling (`rare_class_probabilities`, `RareClassBatchSampler`);
- `distributed`: torchrun's process group and the data-parallel gradient averaging;
- `precision`: `train.amp` = auto | fp32 | bf16, resolved per device (`resolve_amp`);
- `loop`: `train`, a config into a run folder: checkpoints, metrics.jsonl (`read_metrics`), eval.json, resume.

Stage 1 trains the UDA part (zero-style loss, cycle consistency, self-training: flags `sty`, `cyc`,
`st`); stage 2 adds content transfer (`in_ct`, `out_ct`).
"""
from .distributed import average_gradients, distributed_context
from .loop import RUN_FILES, RunDirectoryError, prepare_model, prepare_run_dir, read_metrics, resolve_device, train
from .precision import resolve_amp
from .sampling import (RareClassBatchSampler, SeededSamples, StepBatchSampler, make_loader, rare_class_probabilities,
                       sample_seed, stack_batch)
from .schedule import StepFlags, build_optimizers, flags_at, poly_lr, set_learning_rates, total_steps
from .step import NonFiniteLossError, discriminator_losses, generator_losses, training_step
