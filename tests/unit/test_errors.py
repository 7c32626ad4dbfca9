"""The one error base: every error a page explains reads from the locale files."""
import pytest

from cnndemo.core import arch, train
from cnndemo.errors import UserError
from cnndemo.lessons import convolution as ops
from cnndemo.lessons import gradients, losses


def test_every_lesson_error_is_a_user_error_worded_in_both_languages():
    cases = [
        (lambda: ops.parse_grid("1 x"), "convolution.err_not_a_number"),
        (lambda: losses.as_distribution([-1.0, 2.0]), "losses.err.negative"),
        (lambda: gradients.check_lr(0.0), "gradients.err.lr_nonpositive"),
        (lambda: arch.infer([arch.Linear(3, 10)]), "arch.needs_flatten"),
        (lambda: train.TrainConfig(lr=0.0).validate(), "training.err.lr"),
    ]
    for fail, key in cases:
        with pytest.raises(UserError) as e:
            fail()
        assert e.value.locale_key() == key
        en, ko = e.value.localized("en"), e.value.localized("ko")
        assert en != key and ko != key and en != ko, key


def test_page_wording_and_english_message():
    with pytest.raises(ops.OpsError) as e:
        ops.pool2d([[1, 2], [3, 4]], "max", 2, padding=2)
    assert e.value.locale_key("pooling") == "pooling.err_pad_too_big"
    assert "Padding 2 is more than half the kernel size 2" in e.value.localized("en", "pooling")
    err = train.SettingsError("batch", batch=500, n=300)
    assert str(err) == err.localized("en") and "(500)" in str(err) and "(300 images)" in str(err)
