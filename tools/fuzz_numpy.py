"""The differential fuzzer of tests/integration/test_fuzz_numpy.py, for as long as you like.

    python tools/fuzz_numpy.py --examples 20000          # about 10 minutes on one core
    python tools/fuzz_numpy.py --schedules --examples 2000  # whole random schedules (slower)

Prints the number of examples run and, on a mismatch, the smallest failing case hypothesis
found (the test's assertion message names expression, dtype and schedule).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.test_fuzz_numpy import cases, check_case  # noqa: E402
from tests.integration.test_fuzz_schedules import check_schedule_case, schedule_cases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz tensorlang's LLVM backend against numpy.")
    parser.add_argument("--examples", type=int, default=5000, help="how many random cases to try")
    parser.add_argument("--schedules", action="store_true",
                        help="fuzz whole schedules (tests/integration/test_fuzz_schedules.py) instead of "
                             "1-D expressions")
    parser.add_argument("--seed", type=int, help="hypothesis seed, to repeat a run")
    parser.add_argument("--trace", help="write each case to this file before running it (a crash's case is the last)")
    args = parser.parse_args()
    count = 0
    strategy, check = (schedule_cases(), check_schedule_case) if args.schedules else (cases(), check_case)

    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case) -> None:
        nonlocal count
        count += 1
        if args.trace:
            with open(args.trace, "w") as f:
                f.write(f"{case!r}\n")
        check(case)


    if args.seed is not None:
        run = seed(args.seed)(run)
    start = time.perf_counter()
    try:
        run()
    except AssertionError as exc:
        print(f"MISMATCH after {count} examples:\n{exc}")
        return 1
    print(f"{count} examples, 0 mismatches, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
