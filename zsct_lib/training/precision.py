"""Numeric precision of a run: `train.amp` = auto | fp32 | bf16 (`none` is read as fp32).

`auto` trains under bf16 autocast where the device computes bf16 natively (a CUDA GPU that supports
it; a CPU with AVX512-BF16 or AMX-BF16 instructions, or an Arm CPU with the BF16 extension) and in
fp32 elsewhere: on a CPU without those instructions bf16 is emulated and slower than fp32.
"""
from __future__ import annotations

import contextlib
import functools
import platform
import subprocess
from pathlib import Path

import torch

AMP_CHOICES = ("auto", "fp32", "bf16", "none")


def _cpuinfo_lines() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.read_text(errors="replace").splitlines() if cpuinfo.is_file() else []


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else the platform's processor string."""
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            return "CPU " + line.split(":", 1)[1].strip()
    return "CPU " + (platform.processor() or platform.machine())


@functools.lru_cache(maxsize=None)
def cpu_bf16_instructions() -> tuple[str, ...]:
    """The CPU's native bf16 instruction sets, by their names in /proc/cpuinfo (Linux) or sysctl (macOS)."""
    native = ("avx512_bf16", "amx_bf16", "bf16")        # x86 AVX512-BF16, x86 AMX, Arm FEAT_BF16
    lines = _cpuinfo_lines()
    if lines:
        words = set()
        for line in lines:
            if line.lower().startswith(("flags", "features")):
                words.update(line.split(":", 1)[-1].split())
        return tuple(name for name in native if name in words)
    if platform.system() == "Darwin":
        try:
            answer = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True, text=True,
                                    timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ()
        return ("bf16",) if answer == "1" else ()
    return ()


def resolve_amp(setting: str, device: torch.device) -> tuple[str, str]:
    """`train.amp` on this device -> ("bf16" | "fp32", why). `auto` picks bf16 only where it is native."""
    if setting not in AMP_CHOICES:
        raise ValueError(f"train.amp {setting!r} is not one of {', '.join(AMP_CHOICES)}")
    if setting in ("fp32", "none"):
        return "fp32", f"train.amp={setting}"
    if setting == "bf16":
        return "bf16", "train.amp=bf16"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", f"train.amp=auto: {torch.cuda.get_device_name(device)} computes bf16 natively"
        return "fp32", f"train.amp=auto: {torch.cuda.get_device_name(device)} has no native bf16"
    if device.type == "cpu":
        found = cpu_bf16_instructions()
        if found:
            return "bf16", f"train.amp=auto: this CPU computes bf16 natively ({', '.join(found)})"
        return "fp32", "train.amp=auto: this CPU has no bf16 instructions (bf16 would be emulated, slower than fp32)"
    return "fp32", f"train.amp=auto: no native bf16 known for device {device.type!r}"


@functools.lru_cache(maxsize=None)
def _auto_is_bf16(device: torch.device) -> bool:
    return resolve_amp("auto", device)[0] == "bf16"


def autocast(setting: str, device: torch.device):
    """The context a step runs its forward passes in: bf16 autocast or nothing (fp32). `train` has
    already resolved `auto`; a caller that steps with `auto` itself pays the check once per device."""
    if setting == "bf16" or (setting == "auto" and _auto_is_bf16(device)):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
