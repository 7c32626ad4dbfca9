"""Training speed estimates scaled from measured runs (no training happens in them)."""
from cnndemo.core import arch, checkpoints, speed


def _shipped_refs():
    return [speed.reference_from_meta(checkpoints.load(checkpoints.shipped_path(d)).meta)
            for d in ("mnist", "fashion-mnist")]


def test_a_checkpoint_records_its_measured_speed_and_the_work_per_image():
    meta = checkpoints.load(checkpoints.shipped_path("mnist")).meta
    ref = speed.reference_from_meta(meta)
    assert ref.samples_per_s == meta["samples_per_s"]
    assert ref.device == meta["device"]
    # course-b: conv 32x(1*3*3) at 28x28, conv 64x(32*3*3) at 14x14, linear 3136x10
    assert ref.macs == 28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 10


def test_the_same_network_gets_the_measured_speed_and_twice_the_work_half_of_it():
    refs = _shipped_refs()
    b = arch.preset("course-b")
    est = speed.estimate(b.spec, b.input_shape, refs, "cpu")
    assert est.samples_per_s == sum(r.samples_per_s for r in refs) / 2
    wide = [arch.Conv2d(1, 64, 3, padding=1), arch.ReLU(), arch.MaxPool2d(2),
            arch.Conv2d(64, 64, 3, padding=1), arch.ReLU(), arch.MaxPool2d(2),
            arch.Flatten(), arch.Linear(3136, 10)]
    heavier = speed.estimate(wide, (1, 28, 28), refs, "cpu")
    ratio = speed.macs_per_sample(wide, (1, 28, 28)) / speed.macs_per_sample(b.spec, (1, 28, 28))
    assert abs(heavier.samples_per_s * ratio - est.samples_per_s) < 1e-6


def test_a_run_on_the_same_device_kind_is_preferred_and_none_without_runs():
    cpu = speed.Reference("cpu run", 1000.0, 1000, "cpu")
    gpu = speed.Reference("gpu run", 50000.0, 1000, "cuda")
    mlp = arch.preset("mlp")
    assert speed.estimate(mlp.spec, mlp.input_shape, [cpu, gpu], "cuda").reference is gpu
    assert speed.estimate(mlp.spec, mlp.input_shape, [cpu, gpu], "cpu").reference is cpu
    assert speed.estimate(mlp.spec, mlp.input_shape, [], "cpu") is None
    assert speed.reference_from_meta({"name": "old", "spec": []}) is None
