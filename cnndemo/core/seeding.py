"""Reproducible randomness without torch's global generator.

One server process runs every student's page in its own thread. `torch.manual_seed` seeds
the one generator they all share, so one student's reseed (or draw) would change another
student's "reproducible" run. Here every seeded computation gets its own `torch.Generator`.

Layers such as `nn.Linear` initialise themselves from the global generator when they are
built; `init_parameters` draws the same initial values again from a private generator, in
the order PyTorch would, so a model built after seeding the global generator with s and one initialised
here with `generator(s)` hold identical weights.
"""
from __future__ import annotations

import math

import torch
from torch import nn

# Layers whose construction sets their parameters without any randomness.
_DETERMINISTIC = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
                  nn.PReLU)


def generator(seed: int, device="cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def default_init(module: nn.Module, gen: torch.Generator) -> None:
    """PyTorch's own `reset_parameters` of Linear and Conv layers, drawn from `gen`:
    weight ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias likewise."""
    w = module.weight
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=gen)
    if module.bias is not None:
        fan_in = w.shape[1] * math.prod(w.shape[2:])
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        nn.init.uniform_(module.bias, -bound, bound, generator=gen)


@torch.no_grad()
def init_parameters(model: nn.Module, seed: int | torch.Generator) -> nn.Module:
    """Re-initialise every layer of `model` from its own generator, in construction order
    (the order of `model.modules()` for the Sequential models of this app)."""
    gen = seed if isinstance(seed, torch.Generator) else generator(seed)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            default_init(m, gen)
        elif any(True for _ in m.parameters(recurse=False)) and not isinstance(m, _DETERMINISTIC):
            raise ValueError(f"don't know how {type(m).__name__} initialises its parameters")
    return model
