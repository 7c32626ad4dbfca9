"""The shape explorer's table against real PyTorch: a forward pass, torchinfo as an
independent peer, the generated source code executed, and input gradients for the
receptive field."""
import random

import pytest
import torch
import torch.nn as nn
from torchinfo import summary

from cnndemo.core import arch
from cnndemo.lessons import shapes

torch.set_num_threads(1)
IMAGE_PRESETS = [n for n, p in arch.PRESETS.items() if len(p.input_shape) == 3]


# ------------------------------------------------------------------ random specs

def _random_layer(rng: random.Random, x: torch.Tensor) -> dict:
    """One random layer for the current activation `x` (it may not fit)."""
    if x.dim() == 4:
        c = x.shape[1]
        kind = rng.choice(["Conv2d"] * 4 + ["MaxPool2d", "AvgPool2d", "ReLU", "Tanh",
                                             "LeakyReLU", "BatchNorm2d", "Dropout", "Sigmoid"])
        if kind == "Conv2d":
            k = rng.choice([1, 2, 3, 3, 5])
            return {"type": kind, "in_channels": c, "out_channels": rng.randint(1, 8),
                    "kernel_size": k, "stride": rng.choice([1, 1, 2, 3]),
                    "padding": rng.choice([0, 0, 1, 2]), "dilation": rng.choice([1, 1, 2]),
                    "bias": rng.random() < 0.8}
        if kind in ("MaxPool2d", "AvgPool2d"):
            k = rng.choice([2, 2, 3])
            return {"type": kind, "kernel_size": k, "stride": rng.choice([None, 1, 2]),
                    "padding": rng.choice([0, 0, 1]), "ceil_mode": rng.random() < 0.3}
        if kind == "BatchNorm2d":
            return {"type": kind, "num_features": c}
        return arch.to_dict(arch.LAYER_TYPES[kind]())
    kind = rng.choice(["Linear", "Linear", "ReLU", "Dropout", "Tanh"])
    if kind == "Linear":
        return {"type": kind, "in_features": x.shape[1], "out_features": rng.randint(1, 40),
                "bias": rng.random() < 0.8}
    return arch.to_dict(arch.LAYER_TYPES[kind]())


def random_valid_spec(rng: random.Random):
    """A random network that PyTorch itself runs (PyTorch decides what is valid)."""
    input_shape = (rng.randint(1, 3), rng.randint(6, 30), rng.randint(6, 30))
    x = torch.zeros(2, *input_shape)
    spec = []
    for _ in range(rng.randint(1, 7)):
        for _attempt in range(10):
            d = _random_layer(rng, x)
            try:
                y = arch.build([arch.from_dict(d)]).eval()(x)
            except RuntimeError:
                continue
            spec.append(d)
            x = y
            break
    if rng.random() < 0.8:
        spec.append({"type": "Flatten"})
        x = x.flatten(1)
        for _ in range(rng.randint(1, 3)):
            d = _random_layer(rng, x)
            spec.append(d)
            x = arch.build([arch.from_dict(d)]).eval()(x)
    return spec, input_shape


RANDOM = [random_valid_spec(random.Random(seed)) for seed in range(110)]
CASES = [(arch.spec_to_dicts(p.spec), p.input_shape) for p in arch.PRESETS.values()] + RANDOM


def _real_layers(spec, input_shape, batch):
    model = arch.build(arch.spec_from_dicts(spec)).eval()
    x = torch.zeros(batch, *input_shape)
    outs = []
    for module in model:
        x = module(x)
        outs.append(tuple(x.shape))
    return model, outs


# ------------------------------------------------------------------ table vs PyTorch

def test_random_specs_are_varied():
    kinds = {d["type"] for spec, _ in RANDOM for d in spec}
    assert {"Conv2d", "MaxPool2d", "AvgPool2d", "Linear", "BatchNorm2d"} <= kinds
    assert sum(any(d.get("dilation", 1) > 1 for d in s) for s, _ in RANDOM) >= 10
    assert sum(any(d.get("ceil_mode") for d in s) for s, _ in RANDOM) >= 10


@pytest.mark.parametrize("spec,input_shape", CASES)
def test_table_matches_forward_pass_and_torchinfo(spec, input_shape):
    batch = 3
    report = shapes.explain(spec, input_shape, batch)
    assert report.error is None
    model, outs = _real_layers(spec, input_shape, batch)
    assert [r.output_shape for r in report.rows] == outs
    assert [r.params for r in report.rows] == [sum(p.numel() for p in m.parameters())
                                               for m in model]
    stats = summary(model, input_size=(batch, *input_shape), verbose=0, device="cpu")
    leaves = [layer for layer in stats.summary_list if layer.depth == 1]
    assert [tuple(layer.output_size) for layer in leaves] == outs
    assert [r.params for r in report.rows] == [layer.num_params for layer in leaves]
    assert [r.mult_adds for r in report.rows] == [layer.macs for layer in leaves]
    assert report.totals.params == stats.total_params
    assert report.totals.trainable == stats.trainable_params
    assert report.totals.mult_adds == stats.total_mult_adds
    state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert report.totals.model_bytes == state_bytes
    assert report.totals.activation_bytes == sum(4 * torch.Size(s).numel() for s in outs)


def test_ceil_mode_pool_larger_than_input():
    spec = [arch.AvgPool2d(2, ceil_mode=True)]
    assert shapes.explain(spec, (1, 1, 1)).rows[0].output_shape == \
        _real_layers(arch.spec_to_dicts(spec), (1, 1, 1), 1)[1][0]


def test_course_a_numbers():
    p = arch.preset("course-a")
    report = shapes.explain(p.spec, p.input_shape, batch=64)
    flatten = next(r for r in report.rows if r.type == "Flatten")
    assert flatten.output_shape == (64, 576)
    assert report.rows[0].params_formula == "16*1*5*5 + 16 = 416"
    assert report.rows[0].size_formula == "floor((28 - 5 + 2*0)/1) + 1 = 24"
    assert report.rows[0].activation_bytes == 64 * 16 * 24 * 24 * 4
    assert shapes.human_bytes(report.rows[0].activation_bytes) == "2.2 MB"


# ------------------------------------------------------------------ generated code

@pytest.mark.parametrize("spec,input_shape", CASES[:7] + RANDOM[:30])
def test_generated_code_runs_and_reproduces_the_table(spec, input_shape):
    source = shapes.pytorch_source(spec, input_shape)
    namespace = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    model = namespace["Net"]().eval()
    report = shapes.explain(spec, input_shape, batch=2)
    seen = []
    for child in model.children():
        child.register_forward_hook(lambda m, i, o: seen.append((tuple(o.shape), m)))
    out = model(torch.zeros(2, *input_shape))
    assert [s for s, _ in seen] == [r.output_shape for r in report.rows]
    assert [sum(p.numel() for p in m.parameters()) for _, m in seen] == \
        [r.params for r in report.rows]
    assert tuple(out.shape) == report.rows[-1].output_shape
    for row in report.rows:
        assert f"# [b, {', '.join(str(s) for s in row.output_shape[1:])}]" in source


def test_generated_code_main_block_prints_shape_and_params(capsys):
    p = arch.preset("course-b")
    exec(compile(shapes.pytorch_source(p.spec, p.input_shape), "<g>", "exec"),
         {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert "torch.Size([1, 10])" in printed
    assert f"{arch.total_params(p.spec)} parameters" in printed


def test_generated_code_for_a_broken_spec_names_the_failing_layer():
    p = arch.preset("course-a")
    p.spec[9].in_features = 3136
    source = shapes.pytorch_source(p.spec, p.input_shape)
    assert "self.fc1 = nn.Linear(3136, 100)" in source
    assert "x = self.fc1(x)  # fails: receives 576 features: set in_features to 576." in source


# ------------------------------------------------------------------ receptive field

@pytest.mark.parametrize("name,sizes", [
    ("course-a", [5, 5, 9, 9, 10, 18, 18, 20]),
    ("course-b", [3, 3, 4, 8, 8, 10]),
    ("course-c", [3, 3, 4, 8, 8, 10, 18, 18, 22]),
])
def test_receptive_field_hand_values(name, sizes):
    p = arch.preset(name)
    rfs = shapes.receptive_fields(p.spec, p.input_shape)
    assert [rf.size for rf in rfs[:len(sizes)]] == sizes
    last = rfs[len(sizes) - 1]
    assert last.jump == {"course-a": 4, "course-b": 4, "course-c": 8}[name]
    assert all(rf.whole for rf, layer in zip(rfs, p.spec)
               if isinstance(layer, arch.Linear))


def _random_stack(rng):
    spec = []
    for _ in range(rng.randint(2, 5)):
        if rng.random() < 0.6:
            k = rng.choice([1, 2, 3, 5])
            spec.append(arch.Conv2d(1, 1, k, stride=rng.choice([1, 1, 2]),
                                    padding=rng.choice([0, 1, 2]), dilation=rng.choice([1, 2])))
            spec.append(rng.choice([arch.ReLU(), arch.Tanh()]))
        else:
            k = rng.choice([2, 3])
            cls = rng.choice([arch.MaxPool2d, arch.AvgPool2d])
            spec.append(cls(k, rng.choice([None, 1, 2]), rng.choice([0, 1]),
                            ceil_mode=rng.random() < 0.3))
    return spec


def _measured_extent(spec, input_shape, rf, out_shape):
    """Nonzero extent of the input gradient of one output unit whose window lies inside
    the input. Max pooling passes gradient to one winner only, so the measurement swaps
    it for average pooling with the same window geometry (kernel, stride, padding)."""
    modules = []
    for layer, module in zip(spec, arch.build(spec)):
        if isinstance(layer, arch.MaxPool2d):
            module = nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding,
                                  ceil_mode=layer.ceil_mode)
        if isinstance(module, nn.Conv2d):
            # positive averaging weights: no cancellation, and tanh never saturates
            nn.init.constant_(module.weight, 1.0 / module.weight[0, 0].numel())
            nn.init.zeros_(module.bias)
        modules.append(module.double())
    _, h, w = input_shape
    rows = [i for i in range(out_shape[2]) if rf.window(i)[0] >= 0 and rf.window(i)[1] < h]
    cols = [j for j in range(out_shape[3]) if rf.window(j)[0] >= 0 and rf.window(j)[1] < w]
    if not rows or not cols:
        return None
    x = torch.full((1, *input_shape), 0.5, dtype=torch.float64, requires_grad=True)
    nn.Sequential(*modules)(x)[0, 0, rows[0], cols[-1]].backward()
    nz = x.grad[0, 0].nonzero()
    return ((int(nz[:, 0].min()), int(nz[:, 0].max())),
            (int(nz[:, 1].min()), int(nz[:, 1].max())), rows[0], cols[-1])


def test_receptive_field_matches_input_gradient_on_random_stacks():
    rng = random.Random(5)
    measured = 0
    while measured < 25:
        spec = _random_stack(rng)
        input_shape = (1, 40, 47)
        report = shapes.explain(spec, input_shape)
        if report.error is not None:
            continue
        rf = report.rows[-1].rf
        got = _measured_extent(spec, input_shape, rf, report.rows[-1].output_shape)
        if got is None:
            continue
        (r0, r1), (c0, c1), i, j = got
        assert (r0, r1) == rf.window(i), spec
        assert (c0, c1) == rf.window(j), spec
        assert r1 - r0 + 1 == rf.size
        measured += 1


# ------------------------------------------------------------------ errors and fixes

def _torch_failure_index(spec, input_shape):
    """The first layer PyTorch refuses."""
    x = torch.zeros(2, *input_shape)
    for i, module in enumerate(arch.build(arch.spec_from_dicts(spec)).eval()):
        try:
            x = module(x)
        except RuntimeError:
            return i
    return None


MUTABLE = ("in_channels", "out_channels", "kernel_size", "padding", "in_features",
           "num_features")


def _mutate(rng, spec):
    spec = [dict(d) for d in spec]
    candidates = [(i, k) for i, d in enumerate(spec) for k in d if k in MUTABLE]
    i, key = rng.choice(candidates)
    spec[i][key] = max(1, spec[i][key] + rng.choice([-2, -1, 1, 2, 3, 7]))
    return spec


def _apply_fix(spec, error: arch.SpecError) -> list[dict]:
    """The spec (layer dicts, as the editor holds them) with the error's fix applied, as the
    page's fix button does."""
    if error is None or not error.fix:
        raise ValueError("This error has no single obvious fix.")
    dicts = [dict(d) for d in spec]
    dicts[error.index].update(error.fix)
    return dicts


def test_errors_in_the_right_row_and_fixes_give_valid_networks():
    rng = random.Random(11)
    broken = fixed = 0
    for spec, input_shape in CASES * 3:
        if not any(k in MUTABLE for d in spec for k in d):
            continue
        spec = _mutate(rng, spec)
        report = shapes.explain(spec, input_shape)
        failing = _torch_failure_index(spec, input_shape)
        assert (report.error.index if report.error else None) == failing
        if report.error is None:
            continue
        broken += 1
        assert len(report.rows) == report.error.index  # the rows before it stay
        for _ in range(len(spec)):
            if report.error is None or not report.error.fix:
                break
            spec = _apply_fix(spec, report.error)
            before = report.error.index
            report = shapes.explain(spec, input_shape)
            assert report.error is None or report.error.index > before
        if report.error is None:
            fixed += 1
            assert _torch_failure_index(spec, input_shape) is None
    assert broken >= 60 and fixed >= 30


def test_course_a_kernel_change_breaks_linear_and_fix_restores():
    spec = arch.spec_to_dicts(arch.preset("course-a").spec)
    spec[0]["kernel_size"] = 7
    report = shapes.explain(spec, (1, 28, 28))
    assert report.error.index == 9 and report.error.fix == {"in_features": 256}
    assert [r.output_shape[1:] for r in report.rows if r.type == "Flatten"] == [(256,)]
    fixed = _apply_fix(spec, report.error)
    assert fixed[9]["in_features"] == 256
    assert shapes.explain(fixed, (1, 28, 28)).totals.params == \
        sum(p.numel() for p in arch.build(arch.spec_from_dicts(fixed)).parameters())
    with pytest.raises(ValueError):
        _apply_fix(spec, None)


# ------------------------------------------------------------------ course exercises

def test_course_checks_all_pass_with_the_course_numbers():
    checks = {c.key: c for c in shapes.course_checks()}
    assert set(checks) == {"trail-a", "trail-b", "trail-c", "params-mlp", "pool-7"}
    assert all(c.ok for c in checks.values())
    assert checks["params-mlp"].actual == "1,149,010"
    assert checks["params-mlp"].detail == ("(784+1)*500 + (500+1)*500 + (500+1)*500 + "
                                           "(500+1)*500 + (500+1)*10 = 1,149,010")
    assert checks["pool-7"].detail == "floor((7 - 2 + 2*1)/2) + 1 = 4"
    assert checks["trail-c"].actual.endswith("128x4x4 -> 2048 -> 625 -> 10")


def test_default_and_retyped_layers_fit():
    spec = arch.spec_to_dicts(arch.preset("course-b").spec)[:6]
    prev = shapes.explain(spec, (1, 28, 28)).rows[-1].output_shape
    for kind in shapes.EDITABLE_TYPES:
        if kind == "Linear":
            continue
        d = shapes.default_layer(kind, prev)
        assert shapes.explain(spec + [d], (1, 28, 28)).error is None, kind
    tail = shapes.retype({"type": "MaxPool2d", "kernel_size": 3, "stride": 3, "padding": 1,
                          "ceil_mode": False}, "Conv2d", prev)
    assert tail["kernel_size"] == 3 and tail["stride"] == 3 and tail["in_channels"] == 64
    flat = spec + [{"type": "Flatten"}]
    assert shapes.default_layer("Linear", (1, 3136))["in_features"] == 3136
    assert shapes.explain(flat + [shapes.default_layer("Linear", (1, 3136))],
                          (1, 28, 28)).error is None


# ------------------------------------------------------------------ 3-D view

def test_volumes_figure_labels_every_volume_log_scaled():
    from cnndemo.figures import shapes as F

    p = arch.preset("course-a")
    report = shapes.explain(p.spec, p.input_shape)
    vols = F.volumes(report.rows, p.input_shape)
    assert [v[1] for v in vols] == ["input", "conv1", "conv2", "pool1", "conv3", "pool2",
                                    "flatten", "fc1", "fc2"]
    fig = F.volumes_figure(report.rows, p.input_shape)
    labels = list(fig.data[2].text)
    assert labels == ["28×28×1", "24×24×16", "20×20×32", "10×10×32", "6×6×64", "3×3×64",
                      "576", "100", "10"]
    assert len(fig.data[0].i) == 12 * len(vols)  # one box (12 triangles) per volume
    zs = fig.data[0].z
    heights = [max(zs[8 * k:8 * k + 8]) for k in range(len(vols))]
    assert heights[0] == pytest.approx(F.scale(28)) and heights[5] == pytest.approx(F.scale(3))
    assert heights[6] == pytest.approx(F.scale(576))
    assert 2 < heights[0] / heights[5] < 3  # 28 vs 3: ~9x in pixels, ~2.6x on the log scale
