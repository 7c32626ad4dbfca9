"""`python -m cnndemo bench`: speed measurements (never part of the tests).

Every benchmark lives in this folder, outside the `cnndemo` package because the page
benchmarks drive a Streamlit server or AppTest. A bench is a function that returns a dict of
figures or yields dicts one by one; the runner prints each figure as soon as it has it.

The default run (under a minute on two cores) measures what a class feels: the model's
inference, the engine against the course's loop, and a real server (`bench.classroom`): each
page's rerun for one student, then a bounded class of 30. `--full` adds the slow ones: time to
accuracy, the older AppTest page benches and the Draw page while two jobs train.
"""
from __future__ import annotations

import importlib
import logging
import os

import torch

from bench.timing import p50_ms, seed_loop
from cnndemo.core import arch, checkpoints, data, train


def bench_infer() -> dict:
    model = checkpoints.load(checkpoints.shipped_path("mnist")).model
    x = torch.rand(1, 1, 28, 28)

    def once():
        with torch.no_grad():
            model(x)

    return {"infer_ms_p50": p50_ms(once, repeats=200)}


def bench_train(n: int = 3000, repeats: int = 3) -> dict:
    """Samples per second of `train.fit` against the course's loop (per-image ToTensor,
    a shuffling DataLoader), same network, same one thread, best of `repeats` each,
    interleaved so that a busy machine slows both alike."""
    ds = data.load("mnist")
    device = train.pick_device()
    cfg = train.TrainConfig(preset="course-b", epochs=1, batch_size=100, train_subset=n,
                            test_subset=100, seed=1, threads=1)
    engine, seed = [], []
    old = torch.get_num_threads()
    try:
        for _ in range(repeats):
            engine.append(train.fit(train.make_model(cfg), ds, cfg).samples_per_s)
            torch.set_num_threads(1)
            model = arch.build(arch.preset("course-b").spec)
            run = seed_loop(model, ds.train_x[:n], ds.train_y[:n], device=device)
            seed.append(run["seen"] / run["seconds"])
    finally:
        torch.set_num_threads(old)
    e, s = max(engine), max(seed)
    return {"train_samples_per_s": round(e, 1), "seed_loop_samples_per_s": round(s, 1),
            "train_speedup_vs_seed_loop": round(e / s, 2), "device": str(device)}


def _classroom():
    from bench import classroom

    yield from classroom.run()


def _predict() -> dict:
    from bench import draw

    return draw.predict_ms_p50()


QUICK = {"infer": bench_infer, "predict": _predict, "train": bench_train,
         "classroom": _classroom}
FULL_MODULES = ("convolution", "draw", "explain", "gradients", "losses", "shapes", "training",
                "classroom_follow")


def _full_benches() -> dict:
    """The slow benchmarks of this folder (time to accuracy; AppTest page runs)."""
    found = {}
    for name in FULL_MODULES:
        module = importlib.import_module(f"bench.{name}")
        fns = getattr(module, "BENCHES", None) or [getattr(module, "run", None)
                                                   or getattr(module, f"bench_{name}", None)]
        for fn in (f for f in fns if f is not None):
            found[f"{name}.{fn.__name__}"] = fn
    return found


BARE_MODE_LOGGERS = ("streamlit.runtime.scriptrunner_utils.script_run_context",
                     "streamlit.runtime.state.session_state_proxy")


def quiet_streamlit() -> None:
    """AppTest and cached functions called outside `streamlit run` warn on every call
    ("missing ScriptRunContext ... bare mode", "Session state does not function"): noise in
    a benchmark's output. Streamlit resets log levels when it reads its config, so these two
    loggers are switched off rather than turned down."""
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    for name in BARE_MODE_LOGGERS:
        logging.getLogger(name).disabled = True


def benches(only=None, full: bool = False) -> dict:
    found = {**QUICK, **(_full_benches() if full else {})}
    if only:
        found = {k: v for k, v in found.items() if k in only or k.split(".")[0] in only}
    return found


def run_all(only=None, full: bool = False, progress=None):
    """Yield (bench name, dict of figures) as soon as each is known. A failing bench
    yields `<name>_error` and the others still run. `progress(i, n, name)` is told
    before each bench."""
    quiet_streamlit()
    chosen = benches(only, full)
    for i, (name, fn) in enumerate(chosen.items()):
        if progress:
            progress(i, len(chosen), name)
        try:
            out = fn()
            if isinstance(out, dict):
                yield name, out
            else:
                for part in out:
                    yield name, part
        except Exception as e:  # one failing bench must not hide the others
            yield name, {f"{name}_error": f"{type(e).__name__}: {e}"}
    if progress:
        progress(len(chosen), len(chosen), "")
