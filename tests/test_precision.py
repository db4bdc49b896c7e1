"""What `precision` means on each device (mtbioner.model.precision)."""

from __future__ import annotations

import pytest
import torch

from mtbioner.model import precision
from mtbioner.errors import MtbionerError

CPU = torch.device("cpu")


def test_cpu_bf16_follows_native_support(monkeypatch):
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert precision.autocast_dtype(CPU, "bf16") is torch.bfloat16
    assert precision.describe(CPU, "bf16") == "precision bf16 on cpu"
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: False)
    assert precision.autocast_dtype(CPU, "bf16") is None
    assert precision.describe(CPU, "bf16") == "precision bf16 is not available on cpu; running fp32"


@pytest.mark.parametrize("name", ["auto", "fp32", "fp16"])
def test_cpu_runs_fp32_unless_bf16_is_asked_for(name, monkeypatch):
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    assert precision.autocast_dtype(CPU, name) is None


def test_cpu_bf16_autocast_computes_matmuls_in_bf16(monkeypatch):
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    with precision.autocast_context(CPU, "bf16"):
        product = torch.ones(2, 3) @ torch.ones(3, 2)
    assert product.dtype is torch.bfloat16
    with precision.autocast_context(CPU, "fp32"):
        assert (torch.ones(2, 3) @ torch.ones(3, 2)).dtype is torch.float32


def test_unknown_precision_and_device_are_one_line_errors():
    with pytest.raises(MtbionerError, match="unknown precision 'fp8'"):
        precision.autocast_dtype(CPU, "fp8")
    with pytest.raises(MtbionerError, match="expected cpu, cuda or cuda:N"):
        precision.resolve_device("gpu0")
