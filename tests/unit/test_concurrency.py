"""The server runs every student's script in a thread of one process: the same work from
8 threads at once must give exactly what it gives alone, and leave the process as it was.

Each test runs `work(i)` serially first (the oracle), then from 8 threads released together
by a barrier, many calls each, and compares every result with the serial one.
"""
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from cnndemo.core import checkpoints, inference, preprocess

THREADS = 8
DRAWINGS = Path(__file__).resolve().parents[1] / "data" / "drawings"


def hammer(work, n_inputs: int, calls: int):
    """(serial results, [(thread, call, input, outcome)] for every concurrent call).

    Thread t's call c works on input (t + c) % n_inputs, so at any moment the threads work
    on different inputs. The outcome is the result, or the exception raised."""
    serial = [work(i) for i in range(n_inputs)]
    threads, seeds = torch.get_num_threads(), socket.getdefaulttimeout()
    barrier = threading.Barrier(THREADS)

    def student(t):
        barrier.wait()
        out = []
        for c in range(calls):
            i = (t + c) % n_inputs
            try:
                out.append((t, c, i, work(i)))
            except Exception as e:  # counted, not hidden: the test reports every one
                out.append((t, c, i, e))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for rs in pool.map(student, range(THREADS)) for r in rs]
    assert torch.get_num_threads() == threads
    assert socket.getdefaulttimeout() == seeds
    return serial, results


def tally(serial, results, same) -> tuple[int, int]:
    """(wrong, raised) among the concurrent results."""
    raised = sum(isinstance(r, Exception) for *_, r in results)
    wrong = sum(not isinstance(r, Exception) and not same(r, serial[i]) for _, _, i, r in results)
    return wrong, raised


def assert_all_equal(serial, results, same):
    wrong, raised = tally(serial, results, same)
    errors = sorted({f"{type(r).__name__}: {r}" for *_, r in results if isinstance(r, Exception)})
    assert (wrong, raised) == (0, 0), (f"{wrong} wrong and {raised} raised of {len(results)}; "
                                       f"{errors[:3]}")


# --- inference on the model st.cache_resource shares ---------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return checkpoints.load(checkpoints.shipped_path("mnist"))


def same_inference(a: inference.Result, b: inference.Result) -> bool:
    return (np.array_equal(a.prediction.probs, b.prediction.probs)
            and a.shape_trail() == b.shape_trail()
            and [x.name for x in a.layers] == [x.name for x in b.layers]
            and all(np.array_equal(x.values, y.values) for x, y in zip(a.layers, b.layers)))


def test_inference_on_one_shared_model_gives_each_student_their_own_result(shipped):
    images = [preprocess.preprocess(preprocess.load_image(DRAWINGS / f"{d}_01.png")).image
              for d in range(10)]
    serial, results = hammer(
        lambda i: inference.run(shipped.model, images[i], shipped.spec, shipped.classes),
        len(images), calls=40)
    assert [r.prediction.label for r in serial] == [str(d) for d in range(10)]
    assert_all_equal(serial, results, same_inference)
    assert not shipped.model.training
