"""The code that runs inside a training job's process (see `cnndemo.jobs.manager`).

It trains each run of the job with `cnndemo.core.train.fit` and reports through one end of a
pipe: "run_start", throttled "batch" points, "epoch" points, "run_end" (history, results
and where the trained weights were saved) and finally "job_end". Only plain Python values
cross the pipe, never tensors, so the server process needs no shared memory with it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
import traceback

QUEUED, RUNNING, DONE, STOPPED, FAILED, DIVERGED, CRASHED = (
    "queued", "running", "done", "stopped", "failed", "diverged", "crashed")
FINISHED = (DONE, STOPPED, FAILED, DIVERGED, CRASHED)
LIVE_BATCH_INTERVAL_S = 0.15  # how often a worker reports batch progress at most
LIVE_TEST_INTERVAL_S = 3.0    # how often the live test curve gets a point during an epoch
LIVE_TEST_SAMPLES = 300       # on this many test images (a few % of the training time)


def _plain(v):
    """Make callback payloads picklable without torch: numbers, strings, lists, dicts."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _plain(dataclasses.asdict(v))
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if hasattr(v, "item") and getattr(v, "numel", lambda: 1)() == 1:
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def _history_dict(h) -> dict:
    return {k: _plain(getattr(h, k, None)) for k in
            ("train_loss", "train_acc", "test_loss", "test_acc", "stopped",
             "samples_per_s", "device", "seconds")}


def _fraction(info: dict, cfg) -> float | None:
    """Fraction of a run done, from a batch/epoch callback payload (epochs are 1-based)."""
    epochs = max(1, int(getattr(cfg, "epochs", 1)))
    if info.get("epoch") is None:
        return None
    b, nb = info.get("batch"), info.get("n_batches")
    within = (b / nb) if (b is not None and nb) else 1.0
    return max(0.0, min(1.0, (info["epoch"] - 1 + within) / epochs))


def main(runs, conn, stop_ev, threads, workdir, with_results) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.nice(5)  # students' pages come first
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server is the server's
    state = DONE
    err = None

    def send(msg):
        conn.send(msg)

    try:
        import torch
        torch.set_num_threads(max(1, int(threads)))
        from cnndemo.core import data, train
        from cnndemo.lessons import experiments
        models = experiments.initial_models([r.cfg for r in runs])
        for i, (run, model) in enumerate(zip(runs, models)):
            if stop_ev.is_set():
                break
            cfg = dataclasses.replace(run.cfg, threads=threads)
            send({"type": "run_start", "run": i, "device": str(train.pick_device(cfg.device))})
            ds = data.load(cfg.dataset)
            last, last_test = [0.0], [time.time()]

            def on_batch(info, i=i, cfg=cfg, model=model, ds=ds, last=last, last_test=last_test):
                info = _plain(info)
                now = time.time()
                if now - last_test[0] >= LIVE_TEST_INTERVAL_S:
                    # a live test point mid-epoch; evaluate() restores train mode after
                    last_test[0] = now
                    info["test_acc"], info["test_loss"] = train.evaluate(
                        model, ds.test_x[:LIVE_TEST_SAMPLES], ds.test_y[:LIVE_TEST_SAMPLES],
                        loss=cfg.loss)
                elif now - last[0] < LIVE_BATCH_INTERVAL_S:
                    return
                last[0] = now
                send({"type": "batch", "run": i, "info": info, "fraction": _fraction(info, cfg)})

            def on_epoch(info, i=i, cfg=cfg):
                info = _plain(info)
                send({"type": "epoch", "run": i, "info": info, "fraction": _fraction(info, cfg)})

            cbs = train.Callbacks(on_batch_end=on_batch, on_epoch_end=on_epoch)
            run_state, run_err, div_at = DONE, None, None
            try:
                hist = train.fit(model, ds, cfg, callbacks=cbs, stop=stop_ev)
                if getattr(hist, "stopped", False):
                    run_state = STOPPED
            except train.Diverged as e:
                hist, run_state = e.history, DIVERGED
                div_at = (e.epoch, e.batch)
                run_err = f"diverged at epoch {e.epoch}, batch {e.batch}"
            msg = {"type": "run_end", "run": i, "state": run_state, "error": run_err,
                   "diverged_at": div_at, "history": _history_dict(hist) if hist else None}
            if run_state != DIVERGED:
                path = os.path.join(workdir, f"run{i}.pt")
                torch.save(model.state_dict(), path + ".tmp")
                os.replace(path + ".tmp", path)
                msg["state_path"] = path
                if with_results:
                    msg["results"] = experiments.compute_results(
                        model, ds, device=cfg.device, test_subset=cfg.test_subset)
            send(msg)
            if run_state == STOPPED:
                state = STOPPED
                break
            if run_state == DIVERGED and len(runs) == 1:
                state, err = DIVERGED, run_err
        if stop_ev.is_set():
            state = STOPPED
    except Exception as e:  # reported to the page as a plain message, traceback to a file
        state, err = FAILED, f"{type(e).__name__}: {e}"
        with open(os.path.join(workdir, "error.txt"), "w") as f:
            traceback.print_exc(file=f)
    try:
        send({"type": "job_end", "state": state, "error": err})
        conn.close()
    except OSError:
        pass
