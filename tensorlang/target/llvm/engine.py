"""Driving LLVM for a built module: target machines, the O3 pipeline, MCJIT, and assembly,
object and shared-library emission (initialization and host detection: ``host``).

Guarantees: LLVM's process-wide state is only touched while holding ``host.LOCK`` (LLVM is not
thread-safe); the JIT code of a JITLibrary stays valid for as long as the library is alive;
every LLVM failure surfaces as a BuildError.
"""

from __future__ import annotations

import ctypes
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from functools import cache

import llvmlite.binding as llvm

from ...errors import BuildError, TargetError
from . import threadpool
from .cpu_features import missing_on_host
from .host import LOCK, host_cpu_name, host_triple, llvm_target_for, same_arch
from .target import LLVMTarget


def _create_target_machine(target: LLVMTarget, reloc: str, jit: bool) -> llvm.TargetMachine:
    with LOCK:
        return llvm_target_for(target.triple).create_target_machine(
            cpu=target.cpu, features=target.features, opt=target.opt_level, reloc=reloc,
            codemodel="jitdefault" if jit else "default", jit=jit)


@cache
def _cached_target_machine(target: LLVMTarget, reloc: str) -> llvm.TargetMachine:
    """Shared machines for optimization and emission (never handed to MCJIT, which owns its own)."""
    return _create_target_machine(target, reloc, jit=False)


def _parse(ir_text: str, name: str, tm: llvm.TargetMachine) -> llvm.ModuleRef:
    try:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
    except RuntimeError as exc:
        raise BuildError(f"LLVM rejected the IR generated for '{name}': {exc}") from None
    mod.name = name
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    return mod


def _optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine, level: int, slp: bool = True,
              loops: bool = True) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    vectorize = level >= 2
    pto.loop_vectorization = vectorize and loops
    pto.slp_vectorization = vectorize and slp  # off by default in llvmlite; it packs unrolled stores
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


# LLVM's vectorizers together have produced invalid IR from valid input (LLVM 22: a
# shufflevector that does not dominate its uses, in a float64 lrn gradient), which LLVM's
# code generator then aborts the process on: so the optimized module is verified, and on
# failure optimized again from the input with fewer vectorizers.
_FALLBACKS = ({"slp": True, "loops": True}, {"slp": False, "loops": True}, {"slp": False, "loops": False})


def _optimized(ir_text: str, name: str, tm: llvm.TargetMachine, level: int) -> llvm.ModuleRef:
    """``ir_text`` parsed and optimized into a module that passes LLVM's verifier."""
    for options in _FALLBACKS:
        mod = _parse(ir_text, name, tm)
        _optimize(mod, tm, level, **options)
        try:
            mod.verify()
            return mod
        except RuntimeError as exc:
            error = exc
    raise BuildError(f"LLVM's optimizer produced invalid IR for '{name}' with and without its vectorizers: "
                     f"{str(error).strip()[:300]}")


class JITLibrary:
    """Compiled code of one module: the optimized IR, and (on the host) MCJIT machine code."""

    def __init__(self, name: str, target: LLVMTarget, ir_unopt: str, ir_opt: str,
                 engine: llvm.ExecutionEngine | None, why_not: str | None = None):
        self.name = name
        self.why_not = why_not  # why a module for this host's architecture has no machine code
        self.target = target
        self.ir_unopt = ir_unopt
        self.ir_opt = ir_opt
        self._engine = engine
        self._asm: str | None = None
        self._object: bytes | None = None

    @property
    def runnable(self) -> bool:
        return self._engine is not None

    def address(self, symbol: str) -> int:
        """Address of a function or global; BuildError when it is missing or not runnable here."""
        if self._engine is None and self.why_not:
            raise TargetError(self.why_not)
        if self._engine is None:
            raise BuildError(f"'{self.name}' was compiled for {self.target.triple}, which this "
                             f"host ({host_triple()}) cannot run; export it or read its assembly")
        with LOCK:
            addr = self._engine.get_global_value_address(symbol)
        if not addr:
            raise BuildError(f"symbol '{symbol}' is missing from the compiled module '{self.name}'")
        return addr

    def source(self, fmt: str) -> str:
        if fmt == "ll":
            return self.ir_opt
        if fmt == "ll-unopt":
            return self.ir_unopt
        if fmt == "asm":
            if self._asm is None:
                with LOCK:
                    tm = _cached_target_machine(self.target, "default")
                    self._asm = tm.emit_assembly(_parse(self.ir_opt, self.name, tm))
            return self._asm
        raise TargetError(f"no '{fmt}' source in a JIT module; use 'll', 'll-unopt' or 'asm'")

    def object_code(self) -> bytes:
        """Position-independent object code, ready to link into a shared library."""
        if self._object is None:
            with LOCK:
                tm = _cached_target_machine(self.target, "pic")
                mod = _parse(self.ir_opt, self.name, tm)
                _link_private_pool(mod, tm, self.target)
                self._object = tm.emit_object(mod)
        return self._object

    def bitcode(self) -> bytes:
        """The optimized module as LLVM bitcode (``Module.save("f.bc")``, for clang or llvm-link)."""
        with LOCK:
            tm = _cached_target_machine(self.target, "pic")
            return _parse(self.ir_opt, self.name, tm).as_bitcode()

    def save(self, path: str) -> None:
        """Write a shared library holding this module to ``path``."""
        link_shared(self.object_code(), path)


def object_from_ir(data: bytes, name: str) -> bytes:
    """Object code for this machine of LLVM IR text or bitcode that ``Module.save`` wrote ("x.ll",
    "x.bc"), ready to link into a shared library (TVM's ``load_module`` of such a file)."""
    host = LLVMTarget.from_string("llvm")
    with LOCK:
        try:
            mod = llvm.parse_bitcode(data) if data.startswith(b"BC\xc0\xde") else llvm.parse_assembly(data.decode())
            mod.verify()
        except (RuntimeError, UnicodeDecodeError) as exc:
            raise BuildError(f"{name} is not LLVM IR or bitcode that LLVM reads: {str(exc).strip()[:300]}") from None
        if mod.triple and not same_arch(mod.triple, host.triple):
            raise BuildError(f"{name} holds code for {mod.triple}, which this {host.triple} machine cannot run")
        tm = _cached_target_machine(host, "pic")
        mod.triple = tm.triple
        _link_private_pool(mod, tm, host)
        return tm.emit_object(mod)


def compile_module(ir_text: str, target: LLVMTarget, name: str, jit: bool = True) -> JITLibrary:
    """Verify, optimize (new pass manager) and, when the target runs on this host and ``jit``
    is set, JIT-compile (builders that only export a library skip the JIT)."""
    with LOCK:
        tm = _cached_target_machine(target, "default")
        mod = _optimized(ir_text, name, tm, target.opt_level)
        ir_opt = str(mod)
        engine = None
        missing = missing_on_host(target) if jit and same_arch(target.triple, host_triple()) else []
        if missing:
            # Running it would kill the process with SIGILL: keep the code (export, assembly),
            # refuse the call with the reason.
            why = (f"'{name}' was compiled for -mcpu={target.cpu}, which uses {', '.join(missing)}; this "
                   f"CPU ({host_cpu_name()}) lacks {'it' if len(missing) == 1 else 'them'}. Build with "
                   f"target 'llvm' for this machine, or export the library to run it on one that has them")
            return JITLibrary(name, target, ir_text, ir_opt, None, why_not=why)
        if jit and same_arch(target.triple, host_triple()):
            # MCJIT takes ownership of its target machine, so it gets a fresh one.
            if _calls_pool(mod):
                _ensure_jit_pool(target)
            _check_symbols(mod, name, ir_opt)
            jit_tm = _create_target_machine(target, "default", jit=True)
            try:
                engine = llvm.create_mcjit_compiler(mod, jit_tm)
                engine.finalize_object()
            except RuntimeError as exc:
                raise BuildError(f"MCJIT could not compile '{name}': {exc}") from None
    return JITLibrary(name, target, ir_text, ir_opt, engine)


def _calls_pool(mod: llvm.ModuleRef) -> bool:
    try:
        return mod.get_function(threadpool.SYMBOL).is_declaration
    except NameError:
        return False


_jit_pool: list[JITLibrary] = []  # the process's thread pool, never freed: its threads run its code


def _ensure_jit_pool(target: LLVMTarget) -> None:
    """Compile the process-wide pool once (under LOCK) and let MCJIT resolve its entry."""
    if not _jit_pool:
        lib = compile_module(threadpool.pool_module(host_triple()), target, "tensorlang_threadpool")
        llvm.add_symbol(threadpool.SYMBOL, lib.address(threadpool.SYMBOL))
        _jit_pool.append(lib)


@cache
def _optimized_pool_ir(target: LLVMTarget) -> str:
    """The thread pool module optimized for ``target``'s position-independent code, once a
    process (a tuner's builder warms it before forking: ~40 ms of every exported library)."""
    tm = _cached_target_machine(target, "pic")
    pool = _parse(threadpool.pool_module(tm.triple), "tensorlang_threadpool", tm)
    _optimize(pool, tm, 2)
    return str(pool)


def _link_private_pool(mod: llvm.ModuleRef, tm: llvm.TargetMachine, target: LLVMTarget) -> None:
    """An exported library carries its own thread pool, private to it (a loaded .so needs no
    tensorlang runtime)."""
    if not _calls_pool(mod):
        return
    pool = _parse(_optimized_pool_ir(target), "tensorlang_threadpool", tm)
    mod.link_in(pool)
    mod.get_function(threadpool.SYMBOL).linkage = llvm.Linkage.internal


# Helpers LLVM's backend calls for conversions (not declared in the IR), and the instructions
# that can need them.
_LIBCALLS = (
    ("__truncdfhf2", re.compile(r"fptrunc (<\d+ x )?double>? .*? to (<\d+ x )?half")),
    ("__truncsfhf2", re.compile(r"fptrunc (<\d+ x )?float>? .*? to (<\d+ x )?half")),
    ("__extendhfsf2", re.compile(r"fpext (<\d+ x )?half>? ")),
)


def _check_symbols(mod: llvm.ModuleRef, name: str, text: str) -> None:
    """Fail now, not with a jump to address 0, when the code calls something the process lacks.
    A symbol of a library the user loaded globally (``ctypes.CDLL(path, RTLD_GLOBAL)``), which
    MCJIT does not search, is handed to it, as a dlopen'ed TVM module would find it."""
    for fn in mod.functions:
        if fn.is_declaration and not fn.name.startswith("llvm.") and not llvm.address_of_symbol(fn.name):
            found = ctypes.cast(getattr(_PROCESS, fn.name, None) or 0, ctypes.c_void_p).value
            if not found:
                raise BuildError(f"'{name}' calls '{fn.name}', which this process does not provide (load the "
                                 "library that defines it with ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL))")
            llvm.add_symbol(fn.name, found)
    for symbol, use in _LIBCALLS:
        if not llvm.address_of_symbol(symbol) and use.search(text):
            raise BuildError(f"'{name}' converts to or from float16, for which LLVM calls '{symbol}', which this "
                             "process does not provide (it is in libgcc_s.so.1)")


_PROCESS = ctypes.CDLL(None)  # the process's global symbol scope


def link_shared(obj: bytes, path: str) -> None:
    """Link object code into the shared library ``path`` with the system C compiler ($CC or cc)."""
    cc = shlex.split(os.environ.get("CC", "cc")) or ["cc"]
    exe = shutil.which(cc[0])
    if exe is None:
        raise BuildError(f"cannot link {path}: no C compiler '{cc[0]}' on PATH "
                         "(install cc/gcc/clang, or set CC)")
    path = os.path.abspath(path)
    with tempfile.TemporaryDirectory(prefix="tensorlang-link-") as tmp:
        obj_path = os.path.join(tmp, "module.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        # Link next to the destination, then rename: a reader never sees a half-written file.
        out_tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
        cmd = [exe, *cc[1:], "-shared", "-o", out_tmp, obj_path, "-lm", "-lpthread"]
        # The compiler driver's own temporary files (gcc's ccXXXXXX.*) go in this folder too: a run
        # killed while it links leaves them where the builder's sweep (or a later run's) finds them.
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TMPDIR": tmp})
        if proc.returncode != 0:
            if os.path.exists(out_tmp):
                os.unlink(out_tmp)
            raise BuildError(f"linking {path} failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
        os.replace(out_tmp, path)
