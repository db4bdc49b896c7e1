"""One optimisation step of `MultiTaskModel`: the forward pass under the run's autocast, the combined loss,
backward, gradient clipping, the optimizer and scheduler updates.

The trainer's epoch (`mtbioner.training.trainer.epoch_steps`) calls `device_batch` and `train_step`, and
`benchmarks/` and the GPU check run that epoch, so what they time is what the trainer runs (with its GradScaler
and its loss weights), not a copy of it; like the trainer, they keep the returned losses as tensors
(`trainer.StepLosses`: a per-step `.item()` would make a GPU wait every step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from mtbioner.model.precision import autocast_context, autocast_dtype
from mtbioner.model.tokenization import Features, collate
from mtbioner.param_model import TrainSettings


def combine_losses(losses: dict[str, torch.Tensor], step_task: str | None,
                   weights: dict[str, float]) -> torch.Tensor:
    """The loss one step back-propagates: an alternating step's one task unweighted, a single task's plain
    loss, otherwise the weighted sum of every task's loss (the joint objective)."""
    if step_task is not None:
        return losses[step_task]
    if len(losses) == 1:
        return next(iter(losses.values()))
    return sum(weights[task] * loss for task, loss in losses.items())


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weight matrices only: not on biases, LayerNorm weights (as BERT and HF Trainer)."""
    no_decay: set[str] = set()
    for module_name, module in model.named_modules():
        is_norm = isinstance(module, nn.LayerNorm) or "norm" in type(module).__name__.lower()
        for name, _ in module.named_parameters(recurse=False):
            if is_norm or name == "bias":
                no_decay.add(f"{module_name}.{name}" if module_name else name)
    decay, plain = [], []
    for name, parameter in model.named_parameters():
        (plain if name in no_decay else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


@dataclass
class Optimisation:
    """What a step updates besides the weights, and how: AdamW, the linear warm-up/decay schedule, the fp16
    GradScaler (a no-op in fp32 and bf16), and the run's training settings the step reads (gradient clipping,
    the autocast precision, the loss weights)."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    settings: TrainSettings
    device: torch.device

    @classmethod
    def create(cls, model: nn.Module, settings: TrainSettings, total_steps: int,
               device: torch.device) -> "Optimisation":
        # foreach=True: one multi-tensor update instead of a Python loop over ~100 parameters. On CPU torch
        # defaults to the loop, which made AdamW ~10 % of a MiniLM step (HF Trainer uses the fused kernel); the
        # foreach kernels compute the loop's arithmetic in the same order, so the weights stay bit-identical
        # (fused=True does not: it rounds differently). On CUDA foreach is already the default.
        optimizer = torch.optim.AdamW(parameter_groups(model, settings.weight_decay), lr=settings.learning_rate,
                                      foreach=True)
        scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(settings.warmup_ratio * total_steps),
                                                    total_steps)
        scaler = torch.amp.GradScaler("cuda", enabled=autocast_dtype(device, settings.precision) == torch.float16)
        return cls(optimizer, scheduler, scaler, settings, device)


def device_batch(features: list[Features], indices: list[int], pad_id: int,
                 device: torch.device) -> dict[str, torch.Tensor]:
    """The batch of a schedule entry, collated (padded to its longest) and moved to the device: what the
    trainer feeds `train_step`, and what the benchmarks and the GPU check feed it."""
    return {key: value.to(device) for key, value in collate([features[index] for index in indices], pad_id).items()}


def train_step(model: nn.Module, batch: dict[str, torch.Tensor], step_task: str | None,
               optimisation: Optimisation) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One step on `batch` (already on the device): all enabled tasks (joint) or `step_task` alone
    (alternating). Returns the back-propagated loss and each task's loss, as tensors (no host sync here)."""
    settings = optimisation.settings
    with autocast_context(optimisation.device, settings.precision):
        losses = model.compute_losses(batch, tasks=None if step_task is None else [step_task])
    loss = combine_losses(losses, step_task, settings.loss_weights)
    optimizer, scaler = optimisation.optimizer, optimisation.scaler
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimisation.scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss, losses
