"""Device fingerprints: which device measured a trial, so bests are kept and applied per device.

A fingerprint names a device class, not a machine: two hosts with the same CPU model and
features (or the same GPU model and compute capability) and the same library versions measure
alike and share one ``key``.  The hostname rides along for people, never for matching.

Guarantees: a fingerprint is plain JSON data (``to_json``/``from_json`` round-trip exactly);
``cpu_fingerprint()`` never touches the CUDA driver, so it is safe in a tuning parent that
forks; a GPU fingerprint is built from what a measuring worker read off its device
(``gpu_fingerprint``), never from the parent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import re
import socket
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeviceFingerprint:
    """One device class.

    ``kind`` is ``"cpu"`` or ``"gpu"``; ``name`` the CPU model (LLVM's CPU name, e.g.
    ``znver5``) or the GPU name; ``arch`` the CPU's vector features that change generated code
    (e.g. ``avx512f``) or the GPU's compute capability (``sm_90``); ``versions`` the library
    versions that change code or timing (tensorlang, llvmlite/LLVM, CUDA driver ...).
    """

    kind: str
    name: str
    arch: tuple[str, ...] = ()
    versions: tuple[tuple[str, str], ...] = ()
    model: str = ""  # human-readable model string (/proc/cpuinfo "model name", GPU marketing name)
    host: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        """A short stable id of the device class (same CPU/GPU model, arch and versions)."""
        text = json.dumps([self.kind, self.name, list(self.arch), [list(v) for v in self.versions]])
        slug = re.sub(r"[^A-Za-z0-9_.]+", "_", self.name).strip("_")
        return f"{self.kind}-{slug}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"

    def describe(self) -> str:
        """One line for people: ``cpu znver5 (AMD EPYC, avx512f) tensorlang 0.1.0``."""
        arch = ", ".join(self.arch[:4]) + (" ..." if len(self.arch) > 4 else "")
        detail = ", ".join(x for x in (self.model, arch) if x)
        versions = " ".join(f"{k} {v}" for k, v in self.versions)
        return f"{self.kind} {self.name}" + (f" ({detail})" if detail else "") + (f" {versions}" if versions else "")

    def same_device(self, other: DeviceFingerprint) -> bool:
        """Whether ``other`` is the same device model and arch (library versions may differ)."""
        return (self.kind, self.name, self.arch) == (other.kind, other.name, other.arch)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "arch": list(self.arch),
                "versions": {k: v for k, v in self.versions}, "model": self.model, "host": self.host,
                "key": self.key}

    @classmethod
    def from_json(cls, data: Any) -> DeviceFingerprint:
        """Parse what ``to_json`` wrote; raises ValueError on anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or not isinstance(data.get("name"), str):
            raise ValueError(f"not a device fingerprint: {data!r:.120}")
        arch = data.get("arch", [])
        versions = data.get("versions", {})
        if not isinstance(arch, list) or not all(isinstance(a, str) for a in arch):
            raise ValueError(f"fingerprint 'arch' must be a list of strings, got {arch!r:.80}")
        if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
            raise ValueError(f"fingerprint 'versions' must map names to strings, got {versions!r:.80}")
        return cls(kind=data["kind"], name=data["name"], arch=tuple(arch), versions=tuple(sorted(versions.items())),
                   model=str(data.get("model", "")), host=str(data.get("host", "")))


# CPU features that change the code LLVM generates for our kernels (vector ISA, FMA, AMX).
_CODEGEN_FEATURES = ("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vnni",
                     "avx512bf16", "avx512fp16", "amx-tile", "amx-bf16", "amx-int8", "neon", "sve", "sve2")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def cpu_fingerprint() -> DeviceFingerprint:
    """The host CPU's fingerprint (LLVM's CPU name and the codegen-relevant features)."""
    import llvmlite

    from .. import __version__
    from ..target.llvm import host

    enabled = {f[1:] for f in host.host_cpu_features().split(",") if f.startswith("+")}
    arch = tuple(f for f in _CODEGEN_FEATURES if f in enabled)
    # llvmlite pins its LLVM version, so its own version names both.
    versions = (("llvmlite", llvmlite.__version__), ("tensorlang", __version__))
    return DeviceFingerprint("cpu", host.host_cpu_name(), arch, versions, model=_cpu_model(),
                             host=socket.gethostname())


def foreign_cpu(device: DeviceFingerprint | None) -> str | None:
    """The description of the CPU that measured a record (its ``device``) when that is not this
    host's model and features, else None (a GPU's or an unrecorded device included): the records
    best-pickers leave out unless asked, since a schedule tuned for one CPU can be slow on another."""
    if device is None or device.kind != "cpu" or device.same_device(cpu_fingerprint()):
        return None
    return device.describe()


def gpu_fingerprint(name: str, compute_capability: tuple[int, int] | str, versions: dict[str, str] | None = None,
                    host: str | None = None) -> DeviceFingerprint:
    """A GPU's fingerprint from what a measuring worker read off its device."""
    from .. import __version__

    if isinstance(compute_capability, str):
        cc = compute_capability
    else:
        major, minor = compute_capability
        cc = f"sm_{major}{minor}"
    vers = {"tensorlang": __version__, **(versions or {})}
    return DeviceFingerprint("gpu", name, (cc,), tuple(sorted(vers.items())), model=name,
                             host=host if host is not None else socket.gethostname())
