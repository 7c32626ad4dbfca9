"""Training speed estimates that cost nothing to make: scaled from a measured run.

The web server must not train to find out how fast training is (one student's measurement
would slow the whole class). Every saved checkpoint records the speed its training run had
(`samples_per_s`, `device`); a new network's speed is estimated from the closest such run on
the same kind of device, scaled by the multiply-adds per image (a training step's work is about
three forward passes, so it grows with them).
"""
from __future__ import annotations

from dataclasses import dataclass

from cnndemo.core import arch


@dataclass(frozen=True)
class Reference:
    """A measured training run: what was trained, where, and how fast."""

    name: str
    samples_per_s: float
    macs: int
    device: str  # "cpu", "cuda", "mps"


@dataclass(frozen=True)
class Estimate:
    samples_per_s: float
    reference: Reference  # the closest run (the first, when several are as close)


def macs_per_sample(layers, input_shape) -> int:
    """Multiply-adds of one forward pass of one image (at least 1)."""
    return max(1, sum(r.macs for r in arch.infer(layers, tuple(input_shape))))


def reference_from_meta(meta: dict) -> Reference | None:
    """The measured run recorded in a checkpoint's metadata, if it has one."""
    sps, spec, shape = meta.get("samples_per_s"), meta.get("spec"), meta.get("input_shape")
    if not sps or not spec or not shape:
        return None
    try:
        macs = macs_per_sample(arch.spec_from_dicts(spec), shape)
    except (arch.SpecError, KeyError, TypeError, ValueError):
        return None
    device = str(meta.get("device") or "cpu").split(":")[0]
    return Reference(str(meta.get("name", "?")), float(sps), macs, device)


def estimate(layers, input_shape, refs: list[Reference], device: str) -> Estimate | None:
    """Samples per second for `layers` on `device`, from the references closest in work
    (same device kind first; the mean of those equally close); None without any."""
    if not refs:
        return None
    macs = macs_per_sample(layers, input_shape)
    same = [r for r in refs if r.device == device] or list(refs)

    def distance(r: Reference) -> float:
        return abs(r.macs - macs) / max(r.macs, macs)

    best = min(distance(r) for r in same)
    closest = [r for r in same if distance(r) == best]
    sps = sum(r.samples_per_s * r.macs / macs for r in closest) / len(closest)
    return Estimate(sps, closest[0])
