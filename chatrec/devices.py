"""Where torch work runs: one setting (`Config.device`) resolved to a torch device string.

    "auto"    an accelerator when one is present (CUDA, then Apple MPS), else "cpu"
    "cpu"     always the CPU
    "cuda"    the current CUDA device ("cuda:0" unless torch was told otherwise)
    "cuda:N"  CUDA device N
    "mps"     Apple's Metal device

Asking for a device that is not there is an error that says what is, never a silent fall-back to the CPU: an
operator who wrote "cuda" expects the GPU. The sentence encoder, the fusion model at serving time and training
(`accelerate`) all resolve the same setting here. Nothing here reads the environment (only `Config` does).
"""
from __future__ import annotations

import re

from chatrec.errors import ChatrecError

SETTINGS = ("auto", "cpu", "cuda", "cuda:N", "mps")
_FORM = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _torch():
    import torch

    return torch


def cuda_count() -> int:
    torch = _torch()
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def mps_available() -> bool:
    backend = getattr(_torch().backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(setting: str = "auto") -> str:
    """The torch device string for a `Config.device` value: "cpu", "cuda:N" or "mps"."""
    value = (setting or "auto").strip().lower()
    if not _FORM.match(value):
        raise ChatrecError(f"unknown device {setting!r}: use one of {', '.join(SETTINGS)} (CHATREC_DEVICE)")
    if value == "cpu":
        return "cpu"
    if value == "auto":
        if cuda_count():
            return f"cuda:{_torch().cuda.current_device()}"
        return "mps" if mps_available() else "cpu"
    if value == "mps":
        if not mps_available():
            raise ChatrecError("device 'mps' asked for, but torch sees no Apple Metal device here; "
                               "use 'auto' or 'cpu'")
        return "mps"
    count = cuda_count()
    if not count:
        torch = _torch()
        built = getattr(torch.version, "cuda", None)
        why = "this torch is a CPU-only build" if not built else f"torch (CUDA {built}) sees no CUDA device"
        raise ChatrecError(f"device {setting!r} asked for, but {why}; use 'auto' or 'cpu'")
    index = int(value.split(":")[1]) if ":" in value else _torch().cuda.current_device()
    if index >= count:
        raise ChatrecError(f"device {setting!r} asked for, but torch sees {count} CUDA device(s) (cuda:0"
                           f"{f'..cuda:{count - 1}' if count > 1 else ''})")
    return f"cuda:{index}"


def encoder_dtype(device: str) -> str:
    """The dtype the sentence encoder runs in on a resolved device: fp16 on CUDA (its vectors match the fp32 ones
    to ~1e-3 in cosine, see tests/test_device.py), fp32 elsewhere (fp16 on a CPU is slower, not faster)."""
    return "float16" if device.startswith("cuda") else "float32"


def describe(device: str) -> str:
    """A device for a log line or a report: "cuda:0 (NVIDIA H200)", "cpu"."""
    if device.startswith("cuda"):
        try:
            return f"{device} ({_torch().cuda.get_device_name(device)})"
        except Exception:  # noqa: BLE001 -- only a label
            return device
    return device
