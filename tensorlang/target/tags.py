"""TVM's target tags ("nvidia/nvidia-a100", "nvidia/jetson-nano"): names for the target strings
of common NVIDIA GPUs, with the device limits TVM's tag table gives them."""

from __future__ import annotations

# The limits most CUDA GPUs share; a tag states only its architecture and what differs.
_SHARED, _THREADS, _WARP = 49152, 1024, 32


def _cuda(arch: str, registers: int = 65536, host: str | None = None) -> tuple[str, str | None]:
    return (f"cuda -arch={arch} -max_shared_memory_per_block={_SHARED} -max_threads_per_block={_THREADS} "
            f"-thread_warp_size={_WARP} -registers_per_block={registers}", host)


_JETSON_HOST = "llvm -mtriple=aarch64-linux-gnu -mcpu={}"

# tag -> (target string, host string or None)
TAGS: dict[str, tuple[str, str | None]] = {
    "nvidia/jetson-nano": _cuda("sm_53", 32768, _JETSON_HOST.format("cortex-a57")),
    "nvidia/jetson-agx-xavier": _cuda("sm_72", 65536, _JETSON_HOST.format("carmel")),
    "nvidia/jetson-orin-nano": _cuda("sm_87", 65536, _JETSON_HOST.format("cortex-a78")),
    "nvidia/jetson-agx-orin-32gb": _cuda("sm_87", 65536, _JETSON_HOST.format("cortex-a78")),
    "nvidia/jetson-agx-orin-64gb": _cuda("sm_87", 65536, _JETSON_HOST.format("cortex-a78")),
    "nvidia/tesla-k80": _cuda("sm_37"),
    "nvidia/tesla-k40": _cuda("sm_35"),
    "nvidia/tesla-p100": _cuda("sm_60"),
    "nvidia/tesla-p40": _cuda("sm_61"),
    "nvidia/tesla-p4": _cuda("sm_61"),
    "nvidia/tesla-m60": _cuda("sm_52"),
    "nvidia/tesla-m40": _cuda("sm_52"),
    "nvidia/nvidia-v100": _cuda("sm_70"),
    "nvidia/nvidia-t4": _cuda("sm_75"),
    "nvidia/nvidia-a100": _cuda("sm_80"),
    "nvidia/nvidia-a30": _cuda("sm_80"),
    "nvidia/nvidia-a40": _cuda("sm_86"),
    "nvidia/nvidia-a10": _cuda("sm_86"),
    "nvidia/nvidia-a10g": _cuda("sm_86"),
    "nvidia/nvidia-a16": _cuda("sm_86"),
    "nvidia/nvidia-a2": _cuda("sm_86"),
    "nvidia/nvidia-l4": _cuda("sm_89"),
    "nvidia/nvidia-h100": _cuda("sm_90"),
    "nvidia/rtx-a6000": _cuda("sm_86"),
    "nvidia/quadro-rtx-8000": _cuda("sm_75"),
    "nvidia/geforce-rtx-4090": _cuda("sm_89"),
    "nvidia/geforce-rtx-3090": _cuda("sm_86"),
    "nvidia/geforce-rtx-3080": _cuda("sm_86"),
    "nvidia/geforce-rtx-3070": _cuda("sm_86"),
    "nvidia/geforce-rtx-2080-ti": _cuda("sm_75"),
    "nvidia/geforce-rtx-2080": _cuda("sm_75"),
    "nvidia/geforce-gtx-1080-ti": _cuda("sm_61"),
    "nvidia/geforce-gtx-1080": _cuda("sm_61"),
}
