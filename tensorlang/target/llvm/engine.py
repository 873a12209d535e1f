"""Everything that touches llvmlite.binding: initialization, target machines, the O3 pipeline,
MCJIT, and assembly, object and shared-library emission.

Guarantees: LLVM's process-wide state is only touched while holding ``_LOCK`` (LLVM is not
thread-safe); the JIT code of a JITLibrary stays valid for as long as the library is alive;
every LLVM failure surfaces as a BuildError.
"""

from __future__ import annotations

import ctypes.util
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from functools import cache

import llvmlite.binding as llvm

from ...errors import BuildError, TargetError
from ..llvm_target import LLVMTarget

_LOCK = threading.RLock()
_initialized: set[str] = set()


def _init(all_targets: bool = False) -> None:
    """One-time LLVM initialization: the host target, or every target for cross compilation."""
    with _LOCK:
        if "native" not in _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()
            # MCJIT looks external symbols up only in libraries loaded through LLVM; an unknown
            # one silently becomes address 0. Generated code calls into libc (threads, malloc)
            # and libm (tanhf, and fmod/expf that LLVM itself emits for frem and llvm.exp).
            for lib in ("c", "m", "pthread"):
                path = ctypes.util.find_library(lib)
                if path:
                    llvm.load_library_permanently(path)
            _initialized.add("native")
        if all_targets and "all" not in _initialized:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _initialized.add("all")


@cache
def host_triple() -> str:
    _init()
    return llvm.get_process_triple()


@cache
def host_cpu_name() -> str:
    _init()
    return llvm.get_host_cpu_name()


@cache
def host_cpu_features() -> str:
    """The host's features as "+a,-b,..." (empty when LLVM cannot tell)."""
    _init()
    try:
        return llvm.get_host_cpu_features().flatten()
    except RuntimeError:
        return ""


def entry_symbol(name: str) -> str:
    """The symbol for a function called ``name``: the name itself, unless the process already
    defines it (fmod, exp, main, ...), where code LLVM emits could call ours instead of libm's."""
    _init()
    return f"__tl_{name}" if llvm.address_of_symbol(name) else name


def same_arch(triple_a: str, triple_b: str) -> bool:
    """Whether two triples name the same architecture and OS (code for one runs on the other)."""
    a, b = llvm.get_triple_parts(triple_a), llvm.get_triple_parts(triple_b)
    return (a.Arch, a.OS) == (b.Arch, b.OS)


def llvm_target_for(triple: str) -> llvm.Target:
    """The LLVM backend for ``triple``; TargetError when this LLVM has none."""
    with _LOCK:
        _init(all_targets=not same_arch(triple, host_triple()))
        try:
            return llvm.Target.from_triple(triple)
        except RuntimeError as exc:
            raise TargetError(f"LLVM does not know the triple '{triple}': {exc}") from None


def _create_target_machine(target: LLVMTarget, reloc: str, jit: bool) -> llvm.TargetMachine:
    with _LOCK:
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


def _optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine, level: int) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    vectorize = level >= 2
    pto.loop_vectorization = vectorize
    pto.slp_vectorization = vectorize  # off by default in llvmlite; it packs unrolled stores
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


class JITLibrary:
    """Compiled code of one module: the optimized IR, and (on the host) MCJIT machine code."""

    def __init__(self, name: str, target: LLVMTarget, ir_unopt: str, ir_opt: str,
                 engine: llvm.ExecutionEngine | None):
        self.name = name
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
        if self._engine is None:
            raise BuildError(f"'{self.name}' was compiled for {self.target.triple}, which this "
                             f"host ({host_triple()}) cannot run; export it or read its assembly")
        with _LOCK:
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
                with _LOCK:
                    tm = _cached_target_machine(self.target, "default")
                    self._asm = tm.emit_assembly(_parse(self.ir_opt, self.name, tm))
            return self._asm
        raise TargetError(f"no '{fmt}' source in a JIT module; use 'll', 'll-unopt' or 'asm'")

    def object_code(self) -> bytes:
        """Position-independent object code, ready to link into a shared library."""
        if self._object is None:
            with _LOCK:
                tm = _cached_target_machine(self.target, "pic")
                self._object = tm.emit_object(_parse(self.ir_opt, self.name, tm))
        return self._object

    def save(self, path: str) -> None:
        """Write a shared library holding this module to ``path``."""
        link_shared(self.object_code(), path)


def compile_module(ir_text: str, target: LLVMTarget, name: str, jit: bool = True) -> JITLibrary:
    """Verify, optimize (new pass manager) and, when the target runs on this host and ``jit``
    is set, JIT-compile (builders that only export a library skip the JIT)."""
    with _LOCK:
        tm = _cached_target_machine(target, "default")
        mod = _parse(ir_text, name, tm)
        _optimize(mod, tm, target.opt_level)
        ir_opt = str(mod)
        engine = None
        if jit and same_arch(target.triple, host_triple()):
            # MCJIT takes ownership of its target machine, so it gets a fresh one.
            _check_symbols(mod, name)
            jit_tm = _create_target_machine(target, "default", jit=True)
            try:
                engine = llvm.create_mcjit_compiler(mod, jit_tm)
                engine.finalize_object()
            except RuntimeError as exc:
                raise BuildError(f"MCJIT could not compile '{name}': {exc}") from None
    return JITLibrary(name, target, ir_text, ir_opt, engine)


def _check_symbols(mod: llvm.ModuleRef, name: str) -> None:
    """Fail now, not with a jump to address 0, when the code calls something the process lacks."""
    for fn in mod.functions:
        if fn.is_declaration and not fn.name.startswith("llvm.") and not llvm.address_of_symbol(fn.name):
            raise BuildError(f"'{name}' calls '{fn.name}', which this process does not provide")


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
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            if os.path.exists(out_tmp):
                os.unlink(out_tmp)
            raise BuildError(f"linking {path} failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
        os.replace(out_tmp, path)
