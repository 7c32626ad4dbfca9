"""Command line: python -m cnndemo {presets,summary,train,evaluate,predict,bench}."""
from __future__ import annotations

import argparse
import json
import sys
import time

from cnndemo.core import arch


def _shape(text: str) -> tuple:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,28,28, not {text!r}") from None


def cmd_presets(a) -> int:
    for name, p in arch.PRESETS.items():
        print(f"{name:16s} {p.title}")
    return 0


def cmd_summary(a) -> int:
    p = arch.preset(a.preset)
    shape = a.input or p.input_shape
    try:
        rows = arch.infer(p.spec, shape)
    except arch.SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    total = sum(r.params for r in rows)
    if a.json:
        print(json.dumps({"layers": [{"name": r.name, "type": r.type,
                                      "output_shape": list(r.output_shape), "params": r.params}
                                     for r in rows], "total_params": total}))
        return 0
    print(f"{'#':>3}  {'layer':34s} {'output shape':20s} {'params':>12s}  arithmetic")
    for r in rows:
        print(f"{r.index + 1:>3}  {r.name:34s} {str(list(r.output_shape)):20s} "
              f"{r.params:>12,}  {r.params_formula if r.params else ''}")
    print(f"Total params: {total:,}")
    return 0


class _Bar:
    """A one-line text progress bar on stderr."""

    def __init__(self, total: int):
        self.total, self.last = total, 0.0

    def __call__(self, info: dict) -> None:
        done = (info["epoch"] - 1) * info["n_batches"] + info["batch"]
        now = time.perf_counter()
        if now - self.last < 0.5 and done < self.total:
            return
        self.last = now
        frac = done / self.total
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        sys.stderr.write(f"\r[{bar}] {frac:5.1%} epoch {info['epoch']} loss {info['loss']:.4f} "
                         f"{info['samples_per_s']:,.0f} samples/s")
        sys.stderr.flush()


def cmd_train(a) -> int:
    import math

    import torch

    from cnndemo.core import checkpoints, data, train

    try:
        checkpoints.check_writable(a.out)  # before training, not after 40 epochs
    except checkpoints.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        ds = data.load(a.dataset)
    except data.DataUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg = train.TrainConfig(dataset=a.dataset, preset=a.preset, epochs=a.epochs, loss=a.loss,
                            optimizer=a.optimizer, lr=a.lr, batch_size=a.batch_size,
                            seed=a.seed, train_subset=a.train_subset, augment=a.augment,
                            schedule=a.schedule,
                            device=a.device, threads=a.threads)
    try:
        cfg.validate(len(ds.train_y))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.threads:  # the command is its own process; fit leaves torch's threads alone
        torch.set_num_threads(a.threads)
    print(ds.describe(), file=sys.stderr)
    model = train.make_model(cfg)
    n = min(len(ds.train_y), a.train_subset or len(ds.train_y))
    bar = _Bar(a.epochs * math.ceil(n / a.batch_size))
    epoch_line = lambda i: sys.stderr.write(  # noqa: E731
        f"\n  epoch {i['epoch']}: train acc {i['train_acc']:.4f}  test acc {i['test_acc']:.4f}\n")
    try:
        hist = train.fit(model, ds, cfg, train.Callbacks(on_batch_end=bar, on_epoch_end=epoch_line))
    except train.Diverged as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 3
    acc = hist.test_acc[-1]
    meta = checkpoints.run_meta(cfg, ds, acc, len(ds.test_y),
                                name=a.name or a.out.rsplit("/", 1)[-1][:-3],
                                epochs=len(hist.train_loss), device=hist.device,
                                samples_per_s=hist.samples_per_s)
    checkpoints.save(a.out, model, meta)
    print(f"saved {a.out}: {acc:.2%} on {len(ds.test_y):,} {ds.test_kind} images "
          f"({hist.seconds:.0f} s, {hist.samples_per_s:,.0f} samples/s on {hist.device})",
          file=sys.stderr)
    return 0


def cmd_evaluate(a) -> int:
    from cnndemo.core import checkpoints, data, train

    try:
        loaded = checkpoints.load(a.checkpoint)
        ds = data.load(loaded.dataset)
    except (checkpoints.CheckpointError, data.DataUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    acc, _ = train.evaluate(loaded.model, ds.test_x, ds.test_y, device="cpu")
    result = {"accuracy": acc, "n": len(ds.test_y), "dataset": ds.name, "source": ds.source}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{acc:.2%} on {len(ds.test_y):,} {ds.test_kind} images ({ds.describe()})")
    return 0


def cmd_bench(a) -> int:
    """One JSON line per figure as soon as it is measured, then one summary line.
    With --full, a progress bar on stderr (the slow benches take minutes). With --gpu, the
    CUDA path instead (refused clearly on a machine without one)."""
    if a.gpu:
        from bench import gpu

        try:
            results = gpu.run()
        except gpu.NoGpu as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for key, value in results.items():
            print(json.dumps({key: value}), flush=True)
        return 0
    from bench.runner import run_all

    def progress(i, n, name):
        bar = "#" * round(24 * i / max(n, 1))
        print(f"\r[{bar:<24}] {i}/{n} {name:<40}", end="" if i < n else "\n",
              file=sys.stderr, flush=True)

    t0, summary = time.perf_counter(), {}
    for _name, figures in run_all(only=a.only, full=a.full, progress=progress if a.full else None):
        for key, value in figures.items():
            summary[key] = value
            if a.full:
                print(file=sys.stderr)
            print(json.dumps({key: value}), flush=True)
    print(json.dumps({"summary": summary, "seconds": round(time.perf_counter() - t0, 1)}),
          flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    from cnndemo.core.train import LOSSES, OPTIMIZERS, SCHEDULES

    ap = argparse.ArgumentParser(prog="python -m cnndemo", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("presets", help="list the preset networks").set_defaults(fn=cmd_presets)
    s = sub.add_parser("summary", help="per-layer shapes and parameters")
    s.add_argument("--preset", required=True, choices=list(arch.PRESETS))
    s.add_argument("--input", type=_shape, help="C,H,W (default: the preset's)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_summary)
    t = sub.add_parser("train", help="train a preset and save a checkpoint")
    t.add_argument("--preset", required=True, choices=list(arch.PRESETS))
    t.add_argument("--dataset", required=True, choices=["mnist", "fashion-mnist"])
    t.add_argument("--epochs", type=int, required=True)
    t.add_argument("--loss", default="ce", choices=LOSSES)
    t.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--batch-size", type=int, default=100)
    t.add_argument("--seed", type=int, default=777)
    t.add_argument("--train-subset", type=int)
    t.add_argument("--augment", action="store_true", help="random shifts and rotations")
    t.add_argument("--schedule", default="constant", choices=SCHEDULES,
                   help="cosine: decay the learning rate to 0 over the run")
    t.add_argument("--device")
    t.add_argument("--threads", type=int)
    t.add_argument("--name")
    t.add_argument("--out", required=True)
    t.set_defaults(fn=cmd_train)
    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on its test set")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--json", action="store_true")
    e.set_defaults(fn=cmd_evaluate)
    sub.add_parser("predict", help="read digits from PNG files (see predict --help)")
    b = sub.add_parser("bench", help="measure speed (never part of the tests)")
    b.add_argument("--json", action="store_true", help="accepted for old scripts: the output "
                   "is always JSON lines")
    b.add_argument("--full", action="store_true", help="also the slow benches: time to "
                   "accuracy, AppTest page runs, Draw while training (minutes)")
    b.add_argument("--only", nargs="*", help="names of benches to run")
    b.add_argument("--gpu", action="store_true",
                   help="the CUDA path instead: time to 90%% on Fashion-MNIST, samples/s against "
                        "the course loop (needs an NVIDIA GPU)")
    b.set_defaults(fn=cmd_bench)
    return ap


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "predict":  # its own parser: flags may come before the images
        from cnndemo.cli.predict import main as predict_main

        return predict_main(argv[1:])
    a = parser().parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
