"""Devices and numeric precision: what `--device` and `precision` mean, for training and prediction alike.

`precision` is one of:
- `fp32`: exact float32 everywhere;
- `bf16`: bfloat16 autocast — on CUDA, and on CPUs with native bf16 support (AVX512-BF16 / AMX): on this
  project's 2-core machines MiniLM trains ~1.6x and predicts ~3x faster than in fp32, at the price of bf16
  rounding (benchmarks/cpu_training.py measures what it does to F1). A CPU without native bf16 runs fp32;
- `fp16`: float16 autocast with gradient scaling, CUDA only (CPU runs fp32);
- `auto`: bf16 on CUDA where supported, else fp16; fp32 on CPU (exact by default where it is cheap to be).
"""

from __future__ import annotations

import contextlib

import torch

from mtbioner.errors import MtbionerError
from mtbioner.params import param_choices

#: The values of `precision` (train.precision's enum in the params schema, their one list).
PRECISIONS: tuple[str, ...] = param_choices("train", "precision")


def resolve_device(device: str | None) -> torch.device:
    """`auto`/None = CUDA when available, else CPU; a malformed or unavailable device is a one-line error."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise MtbionerError(f"--device {device!r}: expected cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise MtbionerError(f"device {device!r} requested but CUDA is not available")
    return resolved


def cpu_supports_bf16() -> bool:
    """Native bf16 matrix kernels on this CPU (oneDNN's check: AVX512-BF16 or AMX)."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype of `precision` on `device` (module docstring); None = plain fp32."""
    if precision not in PRECISIONS:
        raise MtbionerError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if precision == "fp16":
            return torch.float16
        if precision == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16
    if device.type == "cpu" and precision == "bf16" and cpu_supports_bf16():
        return torch.bfloat16
    return None


def autocast_context(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    dtype = autocast_dtype(device, precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def describe(device: torch.device, precision: str) -> str:
    """One log line: what `precision` becomes on `device` (e.g. that bf16 falls back to fp32 on this CPU)."""
    dtype = autocast_dtype(device, precision)
    effective = "fp32" if dtype is None else {torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]
    if precision not in ("auto", effective):
        return f"precision {precision} is not available on {device}; running {effective}"
    return f"precision {effective} on {device}"
