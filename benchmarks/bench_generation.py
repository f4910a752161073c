"""Speed of the embedded benchmark's generator, on one CPU thread.

Prints images per second (and CPU milliseconds per image) for full samples (image + label), images only (the unlabelled target
split) and labels only (the fast path used for class statistics), at 128x256 and 512x1024, and
the time to make 1,000 samples at 128x256. With --out, writes the numbers as JSON.

    python benchmarks/bench_generation.py [--images 200] [--large-images 20] [--out bench.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from zsct_lib.data.benchmark import generate_label, generate_scene


def rate(make, count: int) -> dict:
    """Speed of `make(index)` over `count` indices, after one warm-up call: images per second of
    wall-clock time, and milliseconds of this process's CPU time per image (the better number
    when other programs share the machine)."""
    make(10_000)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        make(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"images_per_s": round(count / wall, 2), "cpu_ms_per_image": round(1000 * cpu / count, 2)}


def measure(height: int, width: int, count: int, benchmark: str) -> dict:
    out = {}
    for domain in ("source", "target"):
        out[f"{domain}_image_and_label"] = rate(
            lambda i: generate_scene(benchmark, domain, 0, i, height, width), count)
    out["target_image_only"] = rate(
        lambda i: generate_scene(benchmark, "target", 0, i, height, width, with_label=False), count)
    out["source_label_only"] = rate(lambda i: generate_label(benchmark, "source", 0, i, height, width), count)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="images per measurement at 128x256")
    parser.add_argument("--large-images", type=int, default=20, help="images per measurement at 512x1024")
    parser.add_argument("--benchmark", default="gta_like")
    parser.add_argument("--out", type=Path, default=None, help="write the numbers to this JSON file")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    results = {"benchmark": args.benchmark, "threads": 1, "python": platform.python_version(),
               "machine": platform.machine(), "cpus": os.cpu_count(),
               "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    print(f"1 thread; load average {results['load_average_1min']} on {results['cpus']} CPUs "
          "(other programs slow the wall clock, less the CPU time)")
    for (height, width), count in (((128, 256), args.images), ((512, 1024), args.large_images)):
        numbers = measure(height, width, count, args.benchmark)
        results[f"{height}x{width}"] = numbers
        print(f"{height}x{width}, {count} images each:")
        for name, value in numbers.items():
            print(f"  {name:<24} {value['images_per_s']:8.1f} images/s   {value['cpu_ms_per_image']:7.1f} ms CPU/image")
    full = results["128x256"]
    cpu_ms = 0.5 * (full["source_image_and_label"]["cpu_ms_per_image"] + full["target_image_and_label"]["cpu_ms_per_image"])
    wall_s = 0.5 * (1 / full["source_image_and_label"]["images_per_s"] + 1 / full["target_image_and_label"]["images_per_s"])
    results["seconds_per_1000_at_128x256"] = {"wall": round(1000 * wall_s, 1), "cpu": round(cpu_ms, 1)}
    print(f"1,000 samples (image + label) at 128x256: {1000 * wall_s:.1f} s wall clock, {cpu_ms:.1f} s CPU")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
