"""What each lesson page keeps in its link: the fields, their defaults and bounds.

Session keys are the pages' own widget keys; link names are short and unique per page.
A preset decides the defaults of the fields it sets, so `?preset=outline` alone is a full link.
"""
from __future__ import annotations

from cnndemo.classroom.links import Field, check_network
from cnndemo.core import arch, train
from cnndemo.lessons import filters, losses, optimizers
from cnndemo.lessons import gradients as grad

F = Field
CONV = filters.CONV_PRESETS
POOL = filters.POOL_PRESETS
GRADIENT_TABS = ("autograd", "regression", "perceptron", "activations", "vanishing",
                 "optimizers")
LOSS_TABS = ("softmax", "compare", "grad", "entropy", "model")
CONV_TABS = ("step", "stack", "filters", "channels", "why")
POOL_TABS = ("real", "volume")
PERCEPTRON_PRESETS = ("or", "and", "xor1", "xor2")
TRAIN_ARCHS = ("course-b", "course-a", "course-c", "mlp", "deep-mlp", "count-exercise")
SEED_MAX = 2**31 - 1


def _conv() -> list[Field]:
    a = CONV["example_a"]
    return [
        F("preset", "convolution_preset", "choice", "example_a", choices=tuple(CONV)),
        F("input", "convolution_input", "grid", a["input"]),
        F("kernel", "convolution_kernel", "grid", a["kernel"]),
        F("bias", "convolution_bias", "float", a["bias"], -1e6, 1e6),
        F("stride", "convolution_stride", "int", a["stride"], 1, 4),
        F("padding", "convolution_padding", "int", a["padding"], 0, 3),
        F("dilation", "convolution_dilation", "int", a["dilation"], 1, 3),
        F("step", "convolution_step", "int", 0, 0, 10_000),
        F("tab", "convolution_tab", "choice", "step", choices=CONV_TABS),
    ]


def _pool() -> list[Field]:
    return [
        F("preset", "pooling_preset", "choice", "four", choices=tuple(POOL)),
        F("input", "pooling_input", "grid", POOL["four"]),
        F("kernel", "pooling_kernel", "int", 2, 1, 4),
        F("stride", "pooling_stride", "int", 2, 1, 4),
        F("padding", "pooling_padding", "int", 0, 0, 2),
        F("ceil", "pooling_ceil", "bool", False),
        F("step", "pooling_step", "int", 0, 0, 10_000),
        F("tab", "pooling_tab", "choice", "real", choices=POOL_TABS),
    ]


def _shapes() -> list[Field]:
    return [
        F("preset", "shapes.preset", "choice", "course-a", choices=("empty", *arch.PRESETS)),
        F("vector", "shapes.vector", "bool", False),
        F("c", "shapes.in_c", "int", 1, 1, 4096),
        F("h", "shapes.in_h", "int", 28, 1, 4096),
        F("w", "shapes.in_w", "int", 28, 1, 4096),
        F("n", "shapes.in_n", "int", 784, 1, 10_000_000),
        F("batch", "shapes.batch", "int", 1, 1, 100_000),
        # "" = the preset's own network; otherwise the whole edited network
        F("net", "shapes.spec", "json", "", max_len=4000, check=check_network),
    ]


def _losses() -> list[Field]:
    right = losses.LOGIT_PRESETS["right"]
    return [
        F("preset", "losses_preset", "choice", "right", choices=tuple(losses.LOGIT_PRESETS)),
        *[F(f"z{i}", f"losses_z{i}", "float", float(right[i]), -10.0, 10.0) for i in range(10)],
        F("true", "losses_true", "int", losses.PRESET_TRUE_CLASS, 0, 9),
        F("temp", "losses_temp", "float", 1.0, 0.1, 5.0),
        F("unit", "losses_unit", "choice", "nats", choices=losses.UNITS),
        F("tab", "losses_tab", "choice", "softmax", choices=LOSS_TABS),
        F("src", "losses_src", "choice", "softmax", choices=("softmax", "typed", "course")),
    ]


def _gradients() -> list[Field]:
    return [
        F("tab", "gradients_tab", "choice", "autograd", choices=GRADIENT_TABS),
        F("noise", "gradients_reg_noise", "float", 1.0, 0.0, 10.0),
        F("reg_lr", "gradients_reg_lr", "float", 0.01, 0.0, 10.0),
        F("reg_steps", "gradients_reg_steps", "int", 200, 10, 1000),
        F("seed", "gradients_reg_seed", "int", 777, 0, SEED_MAX),
        F("gate", "gradients_pc_preset", "choice", "or", choices=PERCEPTRON_PRESETS),
        F("pc_lr", "gradients_pc_lr", "float", 0.1, 0.0, 10.0),
        F("pc_steps", "gradients_pc_steps", "int", 500, 50, 3000),
        F("acts", "gradients_act_names", "choices", list(grad.ACTIVATIONS),
          choices=grad.ACTIVATIONS),
        F("slope", "gradients_act_slope", "float", 0.1, 0.0, 0.5),
        F("prelu", "gradients_act_prelu", "float", 0.25, 0.0, 0.5),
        F("depth", "gradients_van_depth", "int", 10, optimizers.MIN_DEPTH, optimizers.MAX_DEPTH),
        F("act", "gradients_van_act", "choice", next(iter(optimizers.DEEP_ACTIVATIONS)),
          choices=tuple(optimizers.DEEP_ACTIVATIONS)),
        F("init", "gradients_van_init", "choice", optimizers.INITS[0], choices=optimizers.INITS),
        F("surface", "gradients_opt_surface", "choice", next(iter(optimizers.SURFACES)),
          choices=tuple(optimizers.SURFACES)),
        F("opts", "gradients_opt_names", "choices", list(optimizers.OPTIMIZERS),
          choices=tuple(optimizers.OPTIMIZERS)),
    ]


def _training() -> list[Field]:
    return [
        F("data", "training_dataset", "choice", "mnist", choices=("mnist", "fashion-mnist")),
        F("arch", "training_arch", "choice", TRAIN_ARCHS[0], choices=TRAIN_ARCHS),
        F("n", "training_subset_mnist", "int", 4000, 100, 60_000),
        F("n_fashion", "training_subset_fashion-mnist", "int", 10_000, 100, 60_000),
        F("loss", "training_loss", "choice", train.LOSSES[0], choices=train.LOSSES),
        F("opt", "training_optimizer", "choice", train.OPTIMIZERS[4], choices=train.OPTIMIZERS),
        F("lr", "training_lr", "float", 0.002, 0.0, 10.0),
        F("momentum", "training_momentum", "choice", 0.9, choices=(0.5, 0.9)),
        F("batch", "training_batch", "int", 64, 1, 60_000),
        F("epochs", "training_epochs", "int", 3, 1, 100),
        F("seed", "training_seed", "int", 777, 0, SEED_MAX),
        F("augment", "training_augment", "bool", False),
        F("cosine", "training_cosine", "bool", True),
    ]


SPECS: dict[str, list[Field]] = {
    "home": [], "draw": [], "convolution": _conv(), "pooling": _pool(), "shapes": _shapes(),
    "losses": _losses(), "gradients": _gradients(), "training": _training(),
}
PAGES = tuple(SPECS)


def preset_base(page: str, preset) -> dict:
    """Defaults that a preset sets (by session key); {} for pages without such presets."""
    if page == "convolution" and preset in CONV:
        return {f"convolution_{k}": v for k, v in CONV[preset].items()}
    if page == "pooling" and preset in POOL:
        return {"pooling_input": POOL[preset]}
    if page == "losses" and preset in losses.LOGIT_PRESETS:
        return {f"losses_z{i}": float(v) for i, v in enumerate(losses.LOGIT_PRESETS[preset])}
    return {}


def base(page: str, values: dict) -> dict:
    return preset_base(page, values.get(f"{page}_preset"))


def base_from_query(page: str, query: dict) -> dict:
    return preset_base(page, query.get("preset"))
