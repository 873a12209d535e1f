"""A persistent thread pool for parallel loops, as LLVM IR: ``__tl_pool_launch``.

``i32 __tl_pool_launch(worker, closure, begin, end, nthreads)`` runs ``worker(closure, b, e)``
over ``[begin, end)`` split into up to ``CHUNKS_PER_THREAD`` equal chunks per thread, which the
calling thread and the pool threads (created on first need, then kept) claim one at a time: when
the scheduler has lent a pool thread's core to another process, the caller runs the chunks that
thread would have run instead of waiting, and waits at most for the one chunk the thread holds;
when the others fall behind (their cores are busy), the next launches run on the caller alone
for a while (1, 2, 4 ... 64 launches) before trying again; a launch that had to wake a sleeping
thread or start a new one is no evidence of busy cores (only of wake-up latency) and never
starts or lengthens a back-off.
A pool thread spins for a while after its chunk (a following launch finds it awake), offering its
core to others now and then, and then sleeps on a condition variable; launching costs an atomic
increment, and a broadcast only when someone sleeps.

Where it lives: JIT modules call one pool per process, which the engine compiles once and keeps
for the life of the process (its threads must never run freed code); an exported library links
its own private copy (``pool_module``), so a loaded ``.so`` needs nothing else.

Guarantees: every chunk runs exactly once; the first non-zero status of any chunk is returned; launches from
several threads at once are serialized; a forked child (which has none of its parent's threads)
starts a fresh pool on its first launch (the pool remembers the pid that made it); at most
``MAX_THREADS`` pool threads.  If a thread cannot be created the launch runs with the threads it
has, down to the calling thread alone.
"""

from __future__ import annotations

import llvmlite.ir as ir

SYMBOL = "__tl_pool_launch"
MAX_THREADS = 256
_SPIN = 4000  # polls (with a pause) before a pool thread sleeps: tens of microseconds
_YIELD_EVERY = 256  # a spinning thread offers its core to others this often (the machine may be busy)
# Chunks per thread: small enough that a thread the scheduler stops while it holds one delays
# the launch by a small share of the work; large enough that claiming one (a CAS) stays cheap.
CHUNKS_PER_THREAD = 8
_MAX_BACKOFF = 64  # launches run on the caller alone, at most, after the other threads fell behind

I1, I8, I32, I64 = (ir.IntType(n) for n in (1, 8, 32, 64))
PTR = ir.PointerType()
WORKER_TYPE = ir.FunctionType(I32, [PTR, I64, I64])
LAUNCH_TYPE = ir.FunctionType(I32, [WORKER_TYPE.as_pointer(), PTR, I64, I64, I32])
_SYNC_BYTES = 64  # room for a pthread_mutex_t (40 bytes) or pthread_cond_t (48) on 64-bit Linux


def _c(ty: ir.Type, v: int) -> ir.Constant:
    return ir.Constant(ty, v)


class _Pool:
    """Builds the pool's globals and functions into one module."""

    def __init__(self, module: ir.Module, pause: bool):
        self.m = module
        self.pause = pause

        def gv(name: str, ty: ir.Type, init: object = 0, align: int = 8) -> ir.GlobalVariable:
            g = ir.GlobalVariable(module, ty, f"__tl_pool.{name}")
            g.linkage = "internal"
            g.initializer = ir.Constant(ty, init) if not isinstance(ty, ir.ArrayType) else ir.Constant(ty, None)
            g.align = align
            return g

        sync = ir.ArrayType(I8, _SYNC_BYTES)
        self.pid, self.size, self.init_lock = gv("pid", I32, 0, 4), gv("size", I32, 0, 4), gv("init_lock", I32, 0, 4)
        self.gen = gv("gen", I64, 0, 64)
        self.spawn_gen = gv("spawn_gen", I64, 0, 8)  # the generation a new thread waits past
        self.counter = gv("counter", I64, 0, 64)  # (generation << 32) | next unclaimed chunk
        self.done = gv("done", I64, 0, 64)  # chunks of the current job finished
        self.sleepers = gv("sleepers", I32, 0, 64)
        self.status = gv("status", I32, 0, 64)
        self.fn, self.closure = gv("fn", PTR, None), gv("closure", PTR, None)
        self.begin, self.end, self.nthreads = gv("begin", I64), gv("end", I64), gv("nthreads", I64)
        self.nchunks = gv("nchunks", I64)
        # Launches still to run on the caller alone, and the length of the last such run of them.
        self.skip, self.backoff = gv("skip", I32, 0, 4), gv("backoff", I32, 0, 4)
        self.mutex, self.cond, self.launch_mutex = gv("mutex", sync, None, 64), gv("cond", sync, None, 64), \
            gv("launch_mutex", sync, None, 64)
        decl = self.declare
        self.mutex_init = decl("pthread_mutex_init", I32, [PTR, PTR])
        self.mutex_lock = decl("pthread_mutex_lock", I32, [PTR])
        self.mutex_unlock = decl("pthread_mutex_unlock", I32, [PTR])
        self.cond_init = decl("pthread_cond_init", I32, [PTR, PTR])
        self.cond_wait = decl("pthread_cond_wait", I32, [PTR, PTR])
        self.cond_broadcast = decl("pthread_cond_broadcast", I32, [PTR])
        self.create = decl("pthread_create", I32, [PTR, PTR, PTR, PTR])
        self.detach = decl("pthread_detach", I32, [I64])
        self.getpid = decl("getpid", I32, [])
        self.sched_yield = decl("sched_yield", I32, [])
        self.pause_fn = decl("llvm.x86.sse2.pause", ir.VoidType(), []) if pause else None
        self.chunk = self._chunk_fn()
        self.participate = self._participate_fn()
        self.thread_main = self._thread_main()
        self.launch = self._launch()

    def declare(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        try:
            return self.m.get_global(name)
        except KeyError:
            return ir.Function(self.m, ir.FunctionType(ret, args), name=name)

    def relax(self, b: ir.IRBuilder) -> None:
        if self.pause_fn is not None:
            b.call(self.pause_fn, [])

    def _chunk_fn(self) -> ir.Function:
        """``run_chunk(t)``: chunk ``t`` of the ``nchunks`` of the current job (the first ``rem`` one longer);
        the first non-zero status is kept as the job's status."""
        fn = ir.Function(self.m, ir.FunctionType(I32, [I64]), "__tl_pool.run_chunk")
        fn.linkage = "internal"
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        t = fn.args[0]
        lo = b.load(self.begin, typ=I64)
        n = b.sub(b.load(self.end, typ=I64), lo)
        nt = b.load(self.nchunks, typ=I64)
        chunk, rem = b.sdiv(n, nt), b.srem(n, nt)
        first = b.add(b.add(lo, b.mul(t, chunk)), b.select(b.icmp_signed("<", t, rem), t, rem))
        size = b.add(chunk, b.zext(b.icmp_signed("<", t, rem), I64))
        worker = b.load(self.fn, typ=WORKER_TYPE.as_pointer())
        st = b.call(worker, [b.load(self.closure, typ=PTR), first, b.add(first, size)])
        with b.if_then(b.icmp_signed("!=", st, _c(I32, 0))):
            b.cmpxchg(self.status, _c(I32, 0), st, "seq_cst", "seq_cst")
        b.ret(st)
        return fn

    def _participate_fn(self) -> ir.Function:
        """``participate(g)``: claim chunks of job ``g`` (its generation's low 32 bits) one at a
        time and run them, until none is left or another job has started.  Claiming is a CAS on
        (generation, next chunk), so a thread that wakes late cannot take a chunk of a job that
        is over, and nobody waits for a thread the scheduler has not run yet.  Returns the chunks
        this thread ran."""
        fn = ir.Function(self.m, ir.FunctionType(I64, [I64]), "__tl_pool.participate")
        fn.linkage = "internal"
        g = fn.args[0]
        entry = fn.append_basic_block("entry")
        loop = fn.append_basic_block("claim")
        check = fn.append_basic_block("claim.check")
        cas = fn.append_basic_block("claim.cas")
        run = fn.append_basic_block("claim.run")
        out = fn.append_basic_block("out")
        b = ir.IRBuilder(entry)
        ran = b.alloca(I64)
        b.store(_c(I64, 0), ran)
        b.branch(loop)
        b.position_at_end(loop)
        c = b.load_atomic(self.counter, "seq_cst", 8, typ=I64)
        same = b.icmp_unsigned("==", b.lshr(c, _c(I64, 32)), b.and_(g, _c(I64, 0xFFFFFFFF)))
        b.cbranch(same, check, out)
        b.position_at_end(check)
        k = b.and_(c, _c(I64, 0xFFFFFFFF))
        nt = b.load_atomic(self.nchunks, "seq_cst", 8, typ=I64)
        b.cbranch(b.icmp_signed("<", k, nt), cas, out)
        b.position_at_end(cas)
        pair = b.cmpxchg(self.counter, c, b.add(c, _c(I64, 1)), "seq_cst", "seq_cst")
        b.cbranch(b.extract_value(pair, 1), run, loop)
        b.position_at_end(run)
        b.call(self.chunk, [k])
        b.store(b.add(b.load(ran, typ=I64), _c(I64, 1)), ran)
        b.atomic_rmw("add", self.done, _c(I64, 1), "seq_cst")
        b.branch(loop)
        b.position_at_end(out)
        b.ret(b.load(ran, typ=I64))
        return fn

    def _thread_main(self) -> ir.Function:
        """A pool thread: wait for a new generation (spin, then sleep), run its chunk when the
        job wants it, count itself done, repeat."""
        fn = ir.Function(self.m, ir.FunctionType(PTR, [PTR]), "__tl_pool.thread")
        fn.linkage = "internal"
        entry = fn.append_basic_block("entry")
        wait = fn.append_basic_block("wait")
        spin = fn.append_basic_block("spin")
        spin_next = fn.append_basic_block("spin.next")
        sleep = fn.append_basic_block("sleep")
        sleep_loop = fn.append_basic_block("sleep.loop")
        sleep_wait = fn.append_basic_block("sleep.wait")
        woke = fn.append_basic_block("woke")
        got = fn.append_basic_block("got")
        b = ir.IRBuilder(entry)
        seen_slot = b.alloca(I64)
        # Not the current generation: the launch that made this thread may have published its
        # job already, and that job counts on this thread.
        b.store(b.load_atomic(self.spawn_gen, "seq_cst", 8, typ=I64), seen_slot)
        b.branch(wait)

        b.position_at_end(wait)
        seen = b.load(seen_slot, typ=I64)
        b.branch(spin)
        b.position_at_end(spin)
        i = b.phi(I32)
        i.add_incoming(_c(I32, 0), wait)
        g = b.load_atomic(self.gen, "seq_cst", 8, typ=I64)
        b.cbranch(b.icmp_unsigned("!=", g, seen), got, spin_next)
        b.position_at_end(spin_next)
        self.relax(b)
        with b.if_then(b.icmp_unsigned("==", b.and_(i, _c(I32, _YIELD_EVERY - 1)), _c(I32, _YIELD_EVERY - 1))):
            b.call(self.sched_yield, [])
        i_next = b.add(i, _c(I32, 1))
        i.add_incoming(i_next, b.block)
        b.cbranch(b.icmp_signed("<", i_next, _c(I32, _SPIN)), spin, sleep)

        b.position_at_end(sleep)
        b.call(self.mutex_lock, [self.mutex])
        b.atomic_rmw("add", self.sleepers, _c(I32, 1), "seq_cst")
        b.branch(sleep_loop)
        b.position_at_end(sleep_loop)
        g2 = b.load_atomic(self.gen, "seq_cst", 8, typ=I64)
        b.cbranch(b.icmp_unsigned("!=", g2, seen), woke, sleep_wait)
        b.position_at_end(sleep_wait)
        b.call(self.cond_wait, [self.cond, self.mutex])
        b.branch(sleep_loop)
        b.position_at_end(woke)
        b.atomic_rmw("sub", self.sleepers, _c(I32, 1), "seq_cst")
        b.call(self.mutex_unlock, [self.mutex])
        b.branch(got)

        b.position_at_end(got)
        now = b.load_atomic(self.gen, "seq_cst", 8, typ=I64)
        b.store(now, seen_slot)
        b.call(self.participate, [now])
        b.branch(wait)
        return fn

    def _ensure(self, b: ir.IRBuilder, want: ir.Value) -> ir.Value:
        """Under the launch mutex: make sure the pool belongs to this process and has up to
        ``want`` threads; returns the threads it has (maybe fewer)."""
        have = b.load(self.size, typ=I32)
        with b.if_then(b.icmp_signed("<", have, want)):
            b.store_atomic(b.load_atomic(self.gen, "seq_cst", 8, typ=I64), self.spawn_gen, "seq_cst", 8)
            slot = b.alloca(I64)
            with _counted_loop(b, b.load(self.size, typ=I32), want) as (k, stop):
                rc = b.call(self.create, [slot, ir.Constant(PTR, None), self.thread_main,
                                          b.inttoptr(b.zext(b.add(k, _c(I32, 1)), I64), PTR)])
                with b.if_then(b.icmp_signed("!=", rc, _c(I32, 0))):
                    b.branch(stop)
                b.call(self.detach, [b.load(slot, typ=I64)])
                b.store(b.add(k, _c(I32, 1)), self.size)
        return b.load(self.size, typ=I32)

    def _reset_if_forked(self, b: ir.IRBuilder) -> None:
        """First launch in this process (or in a forked child): fresh locks, no threads."""
        me = b.call(self.getpid, [])
        with b.if_then(b.icmp_signed("!=", b.load_atomic(self.pid, "acquire", 4, typ=I32), me), likely=False):
            loop = b.function.append_basic_block("initlock")
            body = b.function.append_basic_block("initlock.got")
            b.branch(loop)
            b.position_at_end(loop)
            pair = b.cmpxchg(self.init_lock, _c(I32, 0), _c(I32, 1), "acquire", "monotonic")
            self.relax(b)
            b.cbranch(b.extract_value(pair, 1), body, loop)
            b.position_at_end(body)
            with b.if_then(b.icmp_signed("!=", b.load(self.pid, typ=I32), me)):
                null = ir.Constant(PTR, None)
                for mtx in (self.mutex, self.launch_mutex):
                    b.call(self.mutex_init, [mtx, null])
                b.call(self.cond_init, [self.cond, null])
                b.store(_c(I32, 0), self.size)
                b.store_atomic(_c(I32, 0), self.sleepers, "seq_cst", 4)
                b.store_atomic(_c(I64, 0), self.counter, "seq_cst", 8)
                b.store_atomic(_c(I64, 0), self.gen, "seq_cst", 8)
                b.store_atomic(me, self.pid, "release", 4)
            b.store_atomic(_c(I32, 0), self.init_lock, "release", 4)

    def _adapt(self, b: ir.IRBuilder, helped: ir.Value, chunks: ir.Value, nt: ir.Value) -> None:
        """After a launch: if the other threads ran less than half their share of the chunks
        (their cores were busy with other processes, so the caller did their work and then
        waited), run the next 1, 2, 4 ... up to ``_MAX_BACKOFF`` launches on the caller alone;
        a launch where they kept up resets the backoff.  On a busy machine a process's threads
        share one allotment of CPU, so a second thread cannot make it faster, only add waiting."""
        share = b.mul(chunks, b.sub(nt, _c(I64, 1)))  # helpers' fair share x nt
        starved = b.icmp_signed("<", b.mul(helped, b.mul(nt, _c(I64, 2))), share)
        last = b.load_atomic(self.backoff, "monotonic", 4, typ=I32)
        grown = b.shl(last, _c(I32, 1))
        grown = b.select(b.icmp_signed("<", grown, _c(I32, 1)), _c(I32, 1), grown)
        grown = b.select(b.icmp_signed(">", grown, _c(I32, _MAX_BACKOFF)), _c(I32, _MAX_BACKOFF), grown)
        nxt = b.select(starved, grown, _c(I32, 0))
        b.store_atomic(nxt, self.backoff, "monotonic", 4)
        b.store_atomic(nxt, self.skip, "monotonic", 4)

    def _launch(self) -> ir.Function:
        fn = ir.Function(self.m, LAUNCH_TYPE, SYMBOL)
        worker, closure, lo, hi, want = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        n = b.sub(hi, lo)
        with b.if_then(b.icmp_signed("<=", n, _c(I64, 0))):
            b.ret(_c(I32, 0))
        nt = b.sext(want, I64)
        nt = b.select(b.icmp_signed("<", nt, n), nt, n)
        nt = b.select(b.icmp_signed(">", nt, _c(I64, MAX_THREADS + 1)), _c(I64, MAX_THREADS + 1), nt)
        with b.if_then(b.icmp_signed("<=", nt, _c(I64, 1))):
            b.ret(b.call(worker, [closure, lo, hi]))
        # Backing off: the last parallel launches found the other threads' cores busy.
        skip = b.load_atomic(self.skip, "monotonic", 4, typ=I32)
        with b.if_then(b.icmp_signed(">", skip, _c(I32, 0)), likely=False):
            b.store_atomic(b.sub(skip, _c(I32, 1)), self.skip, "monotonic", 4)
            b.ret(b.call(worker, [closure, lo, hi]))
        self._reset_if_forked(b)
        b.call(self.mutex_lock, [self.launch_mutex])
        had = b.load(self.size, typ=I32)
        have = self._ensure(b, b.trunc(b.sub(nt, _c(I64, 1)), I32))
        nt = b.add(b.zext(have, I64), _c(I64, 1))
        gen = b.add(b.load_atomic(self.gen, "seq_cst", 8, typ=I64), _c(I64, 1))  # only launches write it
        tag = b.shl(b.and_(gen, _c(I64, 0xFFFFFFFF)), _c(I64, 32))
        # Close the counter to the new generation before the job's fields change: a late thread
        # of the last job can no longer claim anything.
        b.store_atomic(b.or_(tag, _c(I64, 0xFFFFFFFF)), self.counter, "seq_cst", 8)
        b.store(worker, self.fn)
        b.store(closure, self.closure)
        b.store(lo, self.begin)
        b.store(hi, self.end)
        b.store_atomic(nt, self.nthreads, "seq_cst", 8)
        chunks = b.mul(nt, _c(I64, CHUNKS_PER_THREAD))
        chunks = b.select(b.icmp_signed("<", n, chunks), n, chunks)
        b.store_atomic(chunks, self.nchunks, "seq_cst", 8)
        b.store_atomic(_c(I32, 0), self.status, "seq_cst", 4)
        b.store_atomic(_c(I64, 0), self.done, "seq_cst", 8)
        b.store_atomic(tag, self.counter, "seq_cst", 8)  # chunks 0.. open for claiming
        b.store_atomic(gen, self.gen, "seq_cst", 8)  # wakes the pool
        asleep = b.icmp_signed(">", b.load_atomic(self.sleepers, "seq_cst", 4, typ=I32), _c(I32, 0))
        # A launch that had to wake a thread or start one measures how long that took (a
        # sleeping vCPU of a virtual machine may wake only at its next timer tick, 4 ms here),
        # not whether the threads' cores are busy: it does not count toward backing off.
        # Counting it trapped a quiet machine on one thread: each retry after a back-off found
        # the helper asleep again, woke it too late, and backed off longer.
        late_start = b.or_(asleep, b.icmp_signed("<", had, have))
        with b.if_then(asleep):
            b.call(self.mutex_lock, [self.mutex])
            b.call(self.cond_broadcast, [self.cond])
            b.call(self.mutex_unlock, [self.mutex])
        mine = b.call(self.participate, [gen])
        # Wait for the others: spin, yielding the core now and then (they may share it).
        loop = fn.append_basic_block("join")
        spin = fn.append_basic_block("join.spin")
        done = fn.append_basic_block("join.done")
        pre = b.block
        b.branch(loop)
        b.position_at_end(loop)
        i = b.phi(I32)
        i.add_incoming(_c(I32, 0), pre)
        finished = b.load_atomic(self.done, "seq_cst", 8, typ=I64)
        b.cbranch(b.icmp_signed(">=", finished, chunks), done, spin)
        b.position_at_end(spin)
        self.relax(b)
        with b.if_then(b.icmp_unsigned("==", b.and_(i, _c(I32, 1023)), _c(I32, 1023))):
            b.call(self.sched_yield, [])
        nxt = b.add(i, _c(I32, 1))
        i.add_incoming(nxt, b.block)
        b.branch(loop)
        b.position_at_end(done)
        with b.if_then(b.not_(late_start)):
            self._adapt(b, b.sub(chunks, mine), chunks, nt)
        status = b.load_atomic(self.status, "seq_cst", 4, typ=I32)
        b.call(self.mutex_unlock, [self.launch_mutex])
        b.ret(status)
        return fn


class _counted_loop:
    """``for k in [lo, hi)`` as a context manager yielding (k, stop block)."""

    def __init__(self, b: ir.IRBuilder, lo: ir.Value, hi: ir.Value):
        self.b, self.lo, self.hi = b, lo, hi

    def __enter__(self) -> tuple[ir.Value, ir.Block]:
        b = self.b
        fn = b.function
        self.pre = b.block
        self.head = fn.append_basic_block("grow")
        self.body = fn.append_basic_block("grow.body")
        self.exit = fn.append_basic_block("grow.exit")
        b.branch(self.head)
        b.position_at_end(self.head)
        self.k = b.phi(I32)
        self.k.add_incoming(self.lo, self.pre)
        b.cbranch(b.icmp_signed("<", self.k, self.hi), self.body, self.exit)
        b.position_at_end(self.body)
        return self.k, self.exit

    def __exit__(self, *exc: object) -> None:
        b = self.b
        nxt = b.add(self.k, _c(I32, 1))
        self.k.add_incoming(nxt, b.block)
        b.branch(self.head)
        b.position_at_end(self.exit)


def pool_module(triple: str) -> str:
    """LLVM IR text of a module holding the pool and ``__tl_pool_launch`` for ``triple``."""
    module = ir.Module(name="tensorlang_threadpool")
    module.triple = triple
    _Pool(module, pause=triple.split("-")[0] in ("x86_64", "i686", "i386"))
    return str(module)
