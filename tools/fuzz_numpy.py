"""The differential fuzzer of tests/integration/test_fuzz_numpy.py, for as long as you like.

    python tools/fuzz_numpy.py --examples 20000          # about 10 minutes on one core

Prints the number of examples run and, on a mismatch, the smallest failing case hypothesis
found (the test's assertion message names expression, dtype and schedule).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.test_fuzz_numpy import cases, check_case  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz tensorlang's LLVM backend against numpy.")
    parser.add_argument("--examples", type=int, default=5000, help="how many random cases to try")
    args = parser.parse_args()
    count = 0

    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(cases())
    def run(case) -> None:
        nonlocal count
        count += 1
        check_case(case)

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
