"""Random configs of the CUDA templates on ``cuda -emulate`` against numpy, for as long as you like
(tests/integration/test_cuda_template_configs.py runs a few per template in CI).

    python tools/cuda_config_sweep.py --configs 40                 # every template, 40 configs each
    python tools/cuda_config_sweep.py --template tutorial_conv2d --configs 200 --seed 3

Prints one line per config (ok / rejected and why / WRONG with the error) and a summary per
template; exits 1 when any config computed a wrong answer.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.test_cuda_template_configs import TEMPLATES, check_config, sample_indices  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Check random CUDA template configs against numpy (emulated).")
    parser.add_argument("--template", choices=sorted(TEMPLATES), action="append",
                        help="template to sweep (repeatable; default: all)")
    parser.add_argument("--configs", type=int, default=20, help="configs drawn per template")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    wrong = 0
    for key in args.template or sorted(TEMPLATES):
        template = TEMPLATES[key]
        task = template.task()
        rng = np.random.default_rng(args.seed)
        outcomes: Counter[str] = Counter()
        times = []
        for index in sample_indices(task, args.configs, args.seed):
            start = time.perf_counter()
            try:
                rejected = check_config(template, task, index, rng)
            except AssertionError as exc:
                wrong += 1
                outcomes["WRONG"] += 1
                first = next((ln for ln in str(exc).splitlines() if "Max absolute" in ln), "")
                print(f"{key} {index}: WRONG {first.strip()} {task.config_space.get(index)}", flush=True)
                continue
            elapsed = time.perf_counter() - start
            if rejected is None:
                times.append(elapsed)
                outcomes["ok"] += 1
                print(f"{key} {index}: ok {elapsed:.2f} s", flush=True)
            else:
                outcomes[rejected.split(":")[0]] += 1
                print(f"{key} {index}: rejected {rejected[:160]}", flush=True)
        median = f"{np.median(times):.2f} s" if times else "-"
        print(f"== {key}: {dict(outcomes)}, median build+run of the ok ones {median}", flush=True)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
