"""Check: do 2-thread kernels keep both threads after the pool's helper has slept?

    python benchmarks/pool_wake.py [--bursts 30] [--pause-ms 5]

A parallel loop whose every element records the Linux thread id that computed it (so a call
shows which threads ran it) is called in bursts of 10 back-to-back calls, each burst after a
pause long enough for the pool's helper thread to stop spinning and sleep.  Waking a sleeping
vCPU of this virtual machine takes about 15 us, or about 4 ms (a timer tick), so the first call
of a burst often runs on the caller alone.  The table gives the share of calls that ran on
both threads: the first call of each burst, and the other nine.  On a quiet 2-core machine the
other nine should nearly all use both threads; before the pool stopped counting a late wake-up
as a sign of busy cores, each late wake-up lengthened a back-off to the caller alone (1, 2, 4 ...
64 launches), which kept the helper asleep for the next try.  On a busy machine both shares
drop, as they should (the pool backs off when the other core is really taken).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import tensorlang as tl
from tensorlang import te


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bursts", type=int, default=30)
    ap.add_argument("--pause-ms", type=float, default=5.0)
    args = ap.parse_args()
    n = 1 << 12
    A = te.placeholder((n,), name="A")
    T = te.compute((n,), lambda i: te.call_extern("int32", "gettid") + te.cast(A[i] * 0, "int32"), name="T")
    s = te.create_schedule(T.op)
    xo, _ = s[T].split(T.op.axis[0], factor=64)
    s[T].parallel(xo)
    f = tl.build(s, [A, T], target="llvm")
    f.set_num_threads(2)
    f.set_parallel_min_work(0)
    a = np.ones(n, np.float32)
    out = np.zeros(n, np.int32)
    f(a, out)
    first = rest = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.bursts):
        time.sleep(args.pause_ms / 1e3)
        for k in range(10):
            f(a, out)
            both = len(set(out.tolist())) > 1
            first += both and k == 0
            rest += both and k > 0
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (1 min) {five:.2f} (5 min); {len(os.sched_getaffinity(0))} CPUs")
    print(f"calls on both threads: first of a burst {first}/{args.bursts}, others {rest}/{9 * args.bursts} "
          f"({100 * rest / (9 * args.bursts):.0f}%); process CPU / wall {cpu / wall:.2f} (pauses included)")


if __name__ == "__main__":
    main()
