"""The server runs every student's script in a thread of one process: the same work from
8 threads at once must give exactly what it gives alone, and leave the process as it was.

Each test runs `work(i)` serially first (the oracle), then from 8 threads released together
by a barrier, many calls each, and compares every result with the serial one.
"""
import dataclasses
import functools
import gzip
import hashlib
import socket
import struct
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from cnndemo.core import arch, checkpoints, data, inference, preprocess, seeding, train
from cnndemo.lessons import experiments
from cnndemo.lessons import gradients as G
from cnndemo.lessons import optimizers as O

THREADS = 8
DRAWINGS = Path(__file__).resolve().parents[1] / "data" / "drawings"


def hammer(work, n_inputs: int, calls: int):
    """(serial results, [(thread, call, input, outcome)] for every concurrent call).

    Thread t's call c works on input (t + c) % n_inputs, so at any moment the threads work
    on different inputs. The outcome is the result, or the exception raised."""
    serial = [work(i) for i in range(n_inputs)]
    threads, timeout = torch.get_num_threads(), socket.getdefaulttimeout()
    filters = list(warnings.filters)
    barrier = threading.Barrier(THREADS)

    def student(t):
        # torch applies a thread count set with torch.set_num_threads to a new thread only
        # when it first parallelises something (get_num_threads does that too); MKL calls
        # made before then use every core and sum in another order: last-bit differences
        # that have nothing to do with the code under test. Streamlit's script threads
        # have the same issue; OMP_NUM_THREADS=1 in the server's environment avoids it.
        torch.get_num_threads()
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
    assert socket.getdefaulttimeout() == timeout
    assert warnings.filters == filters
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


# --- seeded lesson demos: each draws from its own generator -------------------------------

def same(a, b) -> bool:
    """Exact equality of nested results: dataclasses, lists, arrays, tensors, numbers."""
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and same(dataclasses.asdict(a), dataclasses.asdict(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, torch.Tensor)):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    return a == b or (a != a and b != b)  # NaN equals NaN here


X, Y = G.regression_data()
GATE_RUNS = [("or", 0), ("xor", 4), ("and", 2), ("xor", 3)]


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


DEMOS = {
    # the page's defaults (seed 777) and other seeds, so that threads reseed differently
    # name: (work(i), how many inputs, calls per thread)
    "fit_line": (lambda i: G.fit_line(X, Y, lr=0.01, steps=40, seed=777 + i), 4, 20),
    "regression_data": (lambda i: G.regression_data(200, 1.0, seed=i), 4, 30),
    "train_perceptron": (lambda i: G.train_perceptron(*GATE_RUNS[i], lr=0.1, steps=50,
                                                      seed=777 + i, snapshots=4), 4, 20),
    "autograd_example": (lambda i: G.autograd_example((1.0 + i, 2.0), (2.0, 3.0)), 3, 30),
    "deep_mlp": (lambda i: state(O.deep_mlp(3 + i, ("sigmoid", "relu")[i % 2],
                                           ("default", "scaled")[i // 2], 16, seed=i)), 4, 30),
    "race": (lambda i: O.race(("valley", "bowl", "rosenbrock")[i], steps=20), 3, 8),
}


@pytest.mark.parametrize("name", list(DEMOS))
def test_seeded_demos_give_each_student_the_run_they_get_alone(name):
    work, n, calls = DEMOS[name]
    serial, results = hammer(work, n, calls)
    assert_all_equal(serial, results, same)


def test_vanishing_gradients_with_a_real_digit_batch():
    x, y, _ = O.digit_batch(32, seed=1)
    work = lambda i: O.vanishing(x, y, 4 + i, ("sigmoid", "tanh", "relu")[i], width=16,  # noqa: E731
                                 seed=i).norms
    serial, results = hammer(work, 3, calls=20)
    assert_all_equal(serial, results, same)


def test_the_regression_defaults_still_end_where_the_page_says():
    # the browser test reads "step 200: w = 5.008" off the page; that number must not move
    run = G.fit_line(X, Y)
    assert (round(run.w[-1], 3), round(run.b[-1], 3)) == (5.008, 1.936)


def test_seeded_init_is_exactly_what_torch_manual_seed_gives():
    spec = arch.preset("course-c").spec  # conv, linear and dropout layers
    torch.manual_seed(777)  # the global generator, here alone on purpose: the oracle
    expected = arch.build(spec)
    got = train.make_model(train.TrainConfig(preset="course-c", seed=777))
    assert same(state(got), state(expected))
    with pytest.raises(ValueError, match="Embedding"):
        seeding.init_parameters(torch.nn.Sequential(torch.nn.Embedding(3, 2)), 0)


# --- training, on a tiny subset ------------------------------------------------------------

TINY = [{"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
        {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"},
        {"type": "Dropout", "p": 0.3}, {"type": "Linear", "in_features": 676, "out_features": 10}]


def test_training_runs_at_once_are_each_reproducible():
    ds = data.load("mnist")
    cfgs = [train.TrainConfig(spec=TINY, epochs=1, batch_size=40, train_subset=160,
                              test_subset=100, seed=s, augment=a, device="cpu")
            for s, a in ((777, False), (1, True), (2, False))]

    def work(i):
        model = train.make_model(cfgs[i])
        hist = train.fit(model, ds, cfgs[i])
        return [b["loss"] for b in hist.batches], hist.test_acc, state(model)

    serial, results = hammer(work, len(cfgs), calls=4)
    assert_all_equal(serial, results, same)


def test_speed_measurement_leaves_torch_threads_alone():
    cfg = train.TrainConfig(spec=TINY, batch_size=20, threads=THREADS + 3, device="cpu")
    serial, results = hammer(lambda i: experiments.measure_samples_per_s(cfg, batches=1) > 0,
                             1, calls=3)
    assert_all_equal(serial, results, same)


# --- datasets ------------------------------------------------------------------------------

@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNDEMO_DATA_DIR", str(tmp_path))
    data._MEMORY.clear()
    yield tmp_path
    data._MEMORY.clear()


def test_a_class_opening_pages_at_once_loads_the_digits_once(fresh):
    barrier = threading.Barrier(THREADS)

    def student(_):
        barrier.wait()
        return data.load("mnist")

    with ThreadPoolExecutor(THREADS) as pool:
        loaded = list(pool.map(student, range(THREADS)))
    assert all(ds is loaded[0] for ds in loaded)  # one build, shared read-only
    alone = data.load("mnist", use_cache=False)
    assert torch.equal(loaded[0].train_x, alone.train_x) and torch.equal(loaded[0].test_y, alone.test_y)
    cache = fresh / "cache"
    assert [f.name for f in cache.iterdir()] == ["mnist.pt"]  # no temp file left behind
    data._MEMORY.clear()
    assert torch.equal(data.load("mnist").train_x, alone.train_x)  # the cache file reads back


def write_idx(path: Path, array) -> str:
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    """A real HTTP server on 127.0.0.1 with a small MNIST-format dataset (real digits)."""
    digits = data.load("mnist")
    folder = tmp_path / "mirror"
    folder.mkdir()
    arrays = {"train-images-idx3-ubyte.gz": digits.train_x[:30].numpy(),
              "train-labels-idx1-ubyte.gz": digits.train_y[:30].numpy(),
              "t10k-images-idx3-ubyte.gz": digits.test_x[:10].numpy(),
              "t10k-labels-idx1-ubyte.gz": digits.test_y[:10].numpy()}
    resources = [(name, write_idx(folder / name, a)) for name, a in arrays.items()]
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", resources, arrays
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_downloads_at_once_each_get_the_whole_dataset(mirror, fresh):
    url, resources, arrays = mirror
    work = lambda i: data.download("mnist", [url], resources, timeout=60)  # noqa: E731
    serial, results = hammer(work, 1, calls=3)
    assert_all_equal(serial, results, same)
    train_x, train_y, test_x, test_y = serial[0]
    assert np.array_equal(train_x.numpy(), arrays["train-images-idx3-ubyte.gz"])
    assert np.array_equal(test_y.numpy(), arrays["t10k-labels-idx1-ubyte.gz"])
    raw = fresh / "MNIST" / "raw"
    assert sorted(f.name for f in raw.iterdir()) == sorted(arrays)  # no temp file left behind


def test_a_silent_mirror_is_given_up_after_the_timeout_of_each_request(mirror, fresh):
    url, resources, arrays = mirror
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        dead = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        work = lambda i: data.download("mnist", [dead], resources, timeout=0.5)  # noqa: E731
        serial, results = hammer(work, 1, calls=1)  # 8 students waiting on it at once
        assert serial == [None] and all(r is None for *_, r in results)
        got = data.download("mnist", [dead, url], resources, timeout=2)  # the next mirror is used
    assert np.array_equal(got[0].numpy(), arrays["train-images-idx3-ubyte.gz"])


def test_a_download_that_fails_its_checksum_is_not_used(mirror, fresh):
    url, resources, _ = mirror
    wrong = [(name, "0" * 32) for name, _ in resources]
    assert data.download("mnist", [url], wrong, timeout=5) is None
    assert not (fresh / "MNIST" / "raw").exists() or not any((fresh / "MNIST" / "raw").iterdir())


def test_the_modules_plotly_looks_up_are_whole_before_any_page_runs():
    """plotly checks values against the pandas (and numpy, PIL) it finds in sys.modules, loaded
    or not. In a class, one student's first table imported pandas while another student's
    figure found it half-initialised, and that page showed an AttributeError. What app.py
    imports before it runs a page must have loaded them, in a fresh process as the server's."""
    import subprocess
    import sys

    code = ("import sys; import ui.classroom, ui.common, ui.pages; "
            "import plotly.basedatatypes; "
            "print(all(m in sys.modules for m in ('pandas', 'numpy', 'PIL.Image')), "
            "hasattr(sys.modules.get('pandas'), 'Series'))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["True", "True"]
