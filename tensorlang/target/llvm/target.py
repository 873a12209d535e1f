"""The LLVM CPU target: parsing of "llvm ..." target strings into an immutable LLVMTarget.

Guarantees: every option of a target string is either understood or rejected with a
TargetError naming it; an LLVMTarget always carries a concrete triple, cpu and feature list.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import TargetError
from ..target import no_effect_option, option_words, unknown_option

_OPTIONS = ("-mcpu=NAME", "-mattr=+feat,-feat", "-mtriple=TRIPLE", "-opt-level=0..3", "-fast-math",
            "-fp-contract=on|off", "-bounds-check")
# TVM's llvm options that name the target or steer Relay and AOT builds (system-lib, runtime, executor
# ...): a te build ignores them in TVM too, so ported target strings build unchanged.
_DESCRIPTIVE = frozenset({"-device", "-keys", "-model", "-libs", "-tag", "-num-cores", "-system-lib",
                          "-link-params", "-runtime", "-unpacked-api", "-interface-api", "-executor", "-jit",
                          "-from_device"})
# TVM's llvm options that tune LLVM in ways tensorlang does not offer: without them results are the
# same (or, for the fast-math flags, exactly rounded), so they are accepted with a warning.
_NO_EFFECT = frozenset({"-cl-opt", "-mabi", "-mfloat-abi", "-fast-math-nnan", "-fast-math-ninf", "-fast-math-nsz",
                        "-fast-math-arcp", "-fast-math-contract", "-fast-math-reassoc"})


@dataclass(frozen=True)
class LLVMTarget:
    """A CPU code generation target: LLVM triple, cpu name, feature string ("+avx2,-avx512f"),
    optimization level, whether float math may be reassociated (-fast-math) and whether every
    buffer access is checked at run time (-bounds-check: a BoundsError naming the tensor and
    index instead of reading garbage; slower, for debugging)."""

    triple: str
    cpu: str
    features: str
    opt_level: int = 3
    fast_math: bool = False
    fp_contract: bool = True  # fuse a*b+c into FMA (TVM's default); -fp-contract=off for separate rounding
    bounds_check: bool = False
    # Features a named CPU has without naming them ("+avx512f" for -mcpu=skylake-avx512), asked
    # of LLVM (cpu_features.py); LLVM knows them already, so the target string leaves them out.
    implied: str = ""

    kind = "llvm"

    @classmethod
    def from_string(cls, text: str = "llvm") -> LLVMTarget:
        """Parse "llvm [-mcpu=..] [-mattr=..] [-mtriple=..] [-opt-level=N] [-fast-math] [-bounds-check]"."""
        from . import host  # llvmlite is only needed once a target is really made
        from .cpu_features import implied_features

        opts: dict[str, str] = {}
        for word, key, eq, value in option_words(text, "llvm", "an LLVM"):
            if key in ("-fast-math", "-bounds-check") and not eq:
                opts[key] = "1"
            elif key == "-fp-contract" and value in ("on", "off", "fast"):
                opts[key] = value
            elif key in ("-mcpu", "-mattr", "-mtriple", "-opt-level") and eq and value:
                opts[key] = value
            elif key == "-num-cores" and not (eq and value.isdigit() and int(value) > 0):
                raise TargetError(f"-num-cores must be a positive integer, got '{word}' in target '{text}'")
            elif key.lstrip("-") == "system-lib":
                pass  # "-system-lib", TVM's older "--system-lib", "-system-lib=1": one loadable module either way
            elif key in _DESCRIPTIVE and eq:
                pass
            elif key in _NO_EFFECT:
                no_effect_option(word, text)
            else:
                raise unknown_option(word, text, _OPTIONS)

        host_triple = host.host_triple()
        triple = opts.get("-mtriple", host_triple)
        host.llvm_target_for(triple)  # an unknown triple fails here, not at build time
        native = host.same_arch(triple, host_triple)
        if opts.get("-mcpu") == "native":  # clang's and TVM users' name for this machine's CPU
            if not native:
                raise TargetError(f"-mcpu=native names this machine's CPU, which cannot run code for {triple}; "
                                  f"name a CPU of that architecture in target '{text}'")
            del opts["-mcpu"]
        if "-mcpu" in opts:
            cpu = opts["-mcpu"]
            # A named CPU brings its own features; the host's list would override them.
            base = host.host_cpu_features() if native and cpu == host.host_cpu_name() else ""
        elif native:
            cpu, base = host.host_cpu_name(), host.host_cpu_features()
        else:
            cpu, base = "generic", ""
        features = _merge_features(base, opts.get("-mattr", ""), text)
        implied = ""
        if cpu != host.host_cpu_name() or "-mattr" in opts:  # the host's own names need no check
            host.check_cpu(triple, cpu, opts.get("-mattr", ""), text)
            if not base and cpu != "generic":
                implied = implied_features(triple, cpu, opts.get("-mattr", ""))

        level = opts.get("-opt-level", "3")
        if level not in ("0", "1", "2", "3"):
            raise TargetError(f"-opt-level must be 0, 1, 2 or 3, got '{level}' in target '{text}'")
        return cls(triple=triple, cpu=cpu, features=features, opt_level=int(level),
                   fast_math="-fast-math" in opts, fp_contract=opts.get("-fp-contract", "on") != "off",
                   bounds_check="-bounds-check" in opts, implied=implied)

    def has_feature(self, name: str) -> bool:
        """Whether ``name`` ("avx512f") is on: the named CPU's own features, then the feature list,
        whose last mention wins, as in LLVM."""
        state = f"+{name}" in self.implied.split(",")
        for f in self.features.split(","):
            if f[1:] == name:
                state = f.startswith("+")
        return state

    @property
    def vector_bits(self) -> int:
        """Widest native SIMD register in bits, as far as the feature list tells (128 if unknown)."""
        if self.has_feature("avx512f"):
            return 512
        if self.has_feature("avx") or self.has_feature("avx2"):
            return 256
        return 128

    @property
    def x86_avx512(self) -> bool:
        """Whether code may use AVX-512F instructions by their x86 intrinsics (vscalefps)."""
        return self.triple.split("-")[0] in ("x86_64", "i386", "i686") and self.has_feature("avx512f")

    def __str__(self) -> str:
        parts = ["llvm", f"-mtriple={self.triple}", f"-mcpu={self.cpu}"]
        if self.features:
            parts.append(f"-mattr={self.features}")
        if self.opt_level != 3:
            parts.append(f"-opt-level={self.opt_level}")
        if self.fast_math:
            parts.append("-fast-math")
        if not self.fp_contract:
            parts.append("-fp-contract=off")
        if self.bounds_check:
            parts.append("-bounds-check")
        return " ".join(parts)


def _merge_features(base: str, overrides: str, text: str) -> str:
    """``base`` with each "+name"/"-name" of ``overrides`` replacing the entry of that name.

    Overrides go last because LLVM applies features left to right: a trailing "-avx512f"
    also clears the features that imply it (avx512bw, ...) that the host list turned on.
    """
    merged: dict[str, str] = {}
    for item in filter(None, base.split(",")):
        merged[item[1:]] = item[0]
    for item in filter(None, overrides.split(",")):
        if item[0] not in "+-" or len(item) < 2:
            raise TargetError(f"bad -mattr entry '{item}' in target '{text}': "
                              "write features as +name or -name, comma separated")
        merged.pop(item[1:], None)
        merged[item[1:]] = item[0]
    return ",".join(sign + name for name, sign in merged.items())
