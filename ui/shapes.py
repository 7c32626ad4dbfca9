"""Streamlit side of the shape explorer: the layer editor's state and rows, the table,
the totals and the exercise checks. The numbers all come from `cnndemo.lessons.shapes`.

The network lives in `st.session_state["shapes.spec"]` as a list of layer dicts, each
with a stable `uid`; every field has a widget keyed `shapes.l<uid>.<field>`, so editing,
adding, removing and moving layers never mixes up the widgets of two layers.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd
import streamlit as st

from cnndemo import i18n
from cnndemo.core import arch
from cnndemo.figures import shapes as figures_shapes
from cnndemo.lessons import shapes
from ui.common import lang, shared_figure, tr

# The 3-D view, built once per network for the whole class (most start from a preset).
_volumes_figure = shared_figure(figures_shapes.volumes_figure)
TAB = "shapes.tab"
TABS = ("3d", "code", "exercises", "train")


def volumes_figure(rows, input_shape):
    """The 3-D view of the rows; the same figure for every batch size."""
    return _volumes_figure(figures_shapes.layer_volumes(rows), tuple(input_shape))


def tab_labels() -> list[str]:
    """The tabs' labels; the open tab's label is first turned into the language shown now
    (only the open tab runs, and a label of the other language would open the first)."""
    label = st.session_state.get(TAB)
    if label is not None:
        for name in TABS:
            if label in {i18n.t(f"shapes.tab.{name}", code) for code in i18n.LANGS}:
                if label != tr(f"shapes.tab.{name}"):
                    st.session_state[TAB] = tr(f"shapes.tab.{name}")
                break
        else:
            del st.session_state[TAB]
    return [tr(f"shapes.tab.{name}") for name in TABS]

SPEC = "shapes.spec"
FLOAT_FIELDS = ("negative_slope", "p")
TRAINING_PAGE = Path(__file__).resolve().parent.parent / "lessons" / "training.py"


def _wkey(uid: int, name: str) -> str:
    return f"shapes.l{uid}.{name}"


def _forget_widgets(uid: int) -> None:
    for key in [k for k in st.session_state if str(k).startswith(f"shapes.l{uid}.")]:
        del st.session_state[key]


def set_spec(dicts, input_shape, name: str) -> None:
    """Replace the network (a preset, an exercise, or empty) and its input."""
    for d in st.session_state.get(SPEC, []):
        _forget_widgets(d["uid"])
    start = st.session_state.get("shapes.next_uid", 0)
    st.session_state[SPEC] = [{"uid": start + i, **d} for i, d in enumerate(dicts)]
    st.session_state["shapes.next_uid"] = start + len(dicts)
    st.session_state["shapes.name"] = name
    vector = len(input_shape) == 1
    st.session_state["shapes.vector"] = vector
    if vector:
        st.session_state["shapes.in_n"] = int(input_shape[0])
    else:
        for key, value in zip(("in_c", "in_h", "in_w"), input_shape):
            st.session_state[f"shapes.{key}"] = int(value)


def load_preset() -> None:
    name = st.session_state["shapes.preset"]
    if name == "empty":
        set_spec([], (1, 28, 28), "custom")
        return
    p = arch.preset(name)
    set_spec(arch.spec_to_dicts(p.spec), p.input_shape, name)


INPUTS = {"shapes.preset": "course-a", "shapes.vector": False, "shapes.in_c": 1,
          "shapes.in_h": 28, "shapes.in_w": 28, "shapes.in_n": 784, "shapes.batch": 1}
SAVED = "shapes.saved_inputs"


def init_state() -> None:
    """Streamlit forgets a widget's value when its page is left; the network and the
    input are kept in plain session keys and given back to the widgets here."""
    saved = st.session_state.get(SAVED, INPUTS)
    for key, default in INPUTS.items():
        if key not in st.session_state:
            st.session_state[key] = saved.get(key, default)
    if SPEC not in st.session_state:
        load_preset()


def save_inputs() -> None:
    st.session_state[SAVED] = {k: st.session_state[k] for k in INPUTS if k in st.session_state}


def sync_from_widgets() -> None:
    """Copy this run's widget values into the spec before anything is computed, so the
    table and the editor's error mark always describe the same network."""
    for d in st.session_state[SPEC]:
        for field in d:
            key = _wkey(d["uid"], field)
            if field not in ("uid", "type") and key in st.session_state:
                d[field] = st.session_state[key]


def layer_dicts() -> list[dict]:
    return [{k: v for k, v in d.items() if k != "uid"} for d in st.session_state[SPEC]]


def input_shape() -> tuple:
    if st.session_state.get("shapes.vector"):
        return (int(st.session_state["shapes.in_n"]),)
    return tuple(int(st.session_state[f"shapes.{k}"]) for k in ("in_c", "in_h", "in_w"))


# ------------------------------------------------------------------ editing callbacks

def _position(uid: int) -> int:
    return next(i for i, d in enumerate(st.session_state[SPEC]) if d["uid"] == uid)


def _move(uid: int, step: int) -> None:
    spec = st.session_state[SPEC]
    i = _position(uid)
    j = i + step
    if 0 <= j < len(spec):
        spec[i], spec[j] = spec[j], spec[i]
        st.session_state["shapes.name"] = "custom"


def _delete(uid: int) -> None:
    st.session_state[SPEC].pop(_position(uid))
    _forget_widgets(uid)
    st.session_state["shapes.name"] = "custom"


def _prev_shape(index: int) -> tuple | None:
    if index == 0:
        return (1, *input_shape())
    report = shapes.explain(layer_dicts()[:index], input_shape(), 1)
    return report.rows[-1].output_shape if report.error is None else None


def _retype(uid: int) -> None:
    i = _position(uid)
    spec = st.session_state[SPEC]
    kind = st.session_state[_wkey(uid, "type")]
    new = shapes.retype({k: v for k, v in spec[i].items() if k != "uid"}, kind, _prev_shape(i))
    _forget_widgets(uid)
    spec[i] = {"uid": uid, **new}
    st.session_state["shapes.name"] = "custom"


def add_layer() -> None:
    kind = st.session_state["shapes.add_type"]
    spec = st.session_state[SPEC]
    uid = st.session_state["shapes.next_uid"]
    st.session_state["shapes.next_uid"] = uid + 1
    spec.append({"uid": uid, **shapes.default_layer(kind, _prev_shape(len(spec)))})
    st.session_state["shapes.name"] = "custom"


def apply_fix(index: int, fix: dict) -> None:
    d = st.session_state[SPEC][index]
    for field, value in fix.items():
        d[field] = value
        st.session_state[_wkey(d["uid"], field)] = value


# ------------------------------------------------------------------ the editor rows

def _field_widget(col, uid: int, kind: str, field: str, value):
    key = _wkey(uid, field)
    if key not in st.session_state:
        st.session_state[key] = value
    label = tr(f"shapes.field.{field}")
    if isinstance(value, bool) or field in ("bias", "ceil_mode"):
        return col.checkbox(label, key=key)
    if field in FLOAT_FIELDS:
        top = 1.0 if field == "p" else None
        return col.number_input(label, min_value=0.0, max_value=top, step=0.05, key=key,
                                format="%.2f")
    if field == "stride" and kind in ("MaxPool2d", "AvgPool2d"):
        # empty means PyTorch's default for pooling: stride = kernel size
        return col.number_input(label, min_value=1, step=1, key=key, value=None,
                                placeholder=tr("shapes.stride_default"))
    low = 0 if field == "padding" else 1
    return col.number_input(label, min_value=low, step=1, key=key)


def editor_rows(error: arch.SpecError | None) -> None:
    """One row of widgets per layer; reads the values back into the spec."""
    spec = st.session_state[SPEC]
    n = len(spec)
    for i, d in enumerate(spec):
        uid = d["uid"]
        cols = st.columns([0.45, 1.4, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.4, 0.4, 0.4],
                          vertical_alignment="bottom")
        mark = " :red[:material/error:]" if error is not None and error.index == i else ""
        cols[0].markdown(f"**{i + 1}**{mark}")
        tkey = _wkey(uid, "type")
        if tkey not in st.session_state:
            st.session_state[tkey] = d["type"]
        cols[1].selectbox(tr("shapes.field.type"), shapes.EDITABLE_TYPES, key=tkey,
                          on_change=_retype, args=(uid,))
        fields = [f for f in d if f not in ("uid", "type")]
        for col, field in zip(cols[2:9], fields):
            d[field] = _field_widget(col, uid, d["type"], field, d[field])
        cols[9].button("", icon=":material/arrow_upward:", key=_wkey(uid, "up"), on_click=_move,
                       args=(uid, -1), disabled=i == 0, help=tr("shapes.up"))
        cols[10].button("", icon=":material/arrow_downward:", key=_wkey(uid, "down"),
                        on_click=_move, args=(uid, 1), disabled=i == n - 1, help=tr("shapes.down"))
        cols[11].button("", icon=":material/delete:", key=_wkey(uid, "del"), on_click=_delete,
                        args=(uid,), help=tr("shapes.delete"))


# ------------------------------------------------------------------ table and totals

def _shape(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


COLUMNS = {"n": 40, "layer": 175, "output": 125, "formula": 245, "params": 85, "arith": 195,
           "mult_adds": 95, "rf": 110, "memory": 100}


def table(report: shapes.Report) -> pd.DataFrame:
    cols = {k: tr(f"shapes.col.{k}") for k in COLUMNS}
    records = []
    for r in report.rows:
        rf = shapes.rf_text(r.rf)
        records.append({cols["n"]: r.index + 1, cols["layer"]: r.name,
                        cols["output"]: _shape(r.output_shape),
                        cols["formula"]: r.size_formula or "", cols["params"]: r.params,
                        cols["arith"]: r.params_formula if r.params else "",
                        cols["mult_adds"]: r.mult_adds,
                        cols["rf"]: tr("shapes.rf_all") if rf == "all" else rf,
                        cols["memory"]: shapes.human_bytes(r.activation_bytes)})
    if report.error is not None:
        e = report.error
        records.append({cols["n"]: e.index + 1, cols["layer"]: e.layer_name,
                        cols["output"]: "✗ " + tr("shapes.error_short"), cols["formula"]: "",
                        cols["params"]: float("nan"), cols["arith"]: e.localized(lang()),
                        cols["mult_adds"]: float("nan"),
                        cols["rf"]: "", cols["memory"]: ""})
    return pd.DataFrame(records, columns=list(cols.values()))


def render_table(report: shapes.Report) -> None:
    """The table; a pandas Styler only to colour an error row."""
    df = table(report)
    config = {tr(f"shapes.col.{k}"): st.column_config.Column(width=w) for k, w in COLUMNS.items()}
    for k in ("params", "mult_adds"):  # 1,234,567 as the Styler's "{:,.0f}" printed them
        config[tr(f"shapes.col.{k}")] = st.column_config.NumberColumn(
            width=COLUMNS[k], format="localized")
    data = df
    if report.error is not None:
        bad = report.error.index + 1
        n_col = tr("shapes.col.n")

        def highlight(row):
            color = "background-color: #fde2e2; color: #8a1c1c" if row[n_col] == bad else ""
            return [color] * len(row)

        # colours only: the number columns print their thousands themselves (format= in a
        # Styler made streamlit rewrite every cell's display value, most of the page's time)
        data = df.style.apply(highlight, axis=1)
    st.dataframe(data, hide_index=True, column_config=config,
                 height=min(38 + 35 * len(df), 560))


def render_error(report: shapes.Report) -> None:
    e = report.error
    if e is None:
        return
    st.error(tr("shapes.error_row", n=e.index + 1, layer=e.layer_name,
                message=e.localized(lang())))
    if e.fix:
        fix = ", ".join(f"{k} = {v}" for k, v in e.fix.items())
        st.button(tr("shapes.fix_button", fix=fix), key="shapes.fix", type="primary",
                  on_click=apply_fix, args=(e.index, e.fix))
    else:
        st.info(tr("shapes.no_fix"))


def render_totals(report: shapes.Report) -> None:
    t = report.totals
    c = st.columns(5)
    c[0].metric(tr("shapes.total_params"), f"{t.params:,}")
    c[1].metric(tr("shapes.trainable"), f"{t.trainable:,}")
    c[2].metric(tr("shapes.mult_adds"), f"{t.mult_adds:,}")
    c[3].metric(tr("shapes.act_mem"), shapes.human_bytes(t.activation_bytes),
                help=tr("shapes.act_mem_help"))
    c[4].metric(tr("shapes.model_size"), shapes.human_bytes(t.model_bytes),
                help=tr("shapes.model_size_help"))


# ------------------------------------------------------------------ exercises, hand-off

def _load_check(check: shapes.Check) -> None:
    if check.preset:
        st.session_state["shapes.preset"] = check.preset
        load_preset()
    else:
        set_spec([arch.to_dict(arch.MaxPool2d(2, 2, padding=1))], (128, 7, 7), "pool-7")


def render_exercises() -> None:
    for check in shapes.course_checks():
        with st.container(border=True):
            head, button = st.columns([5, 1], vertical_alignment="center")
            icon = ":green[:material/check_circle:]" if check.ok else ":red[:material/cancel:]"
            head.markdown(f"{icon} **{tr('shapes.ex.' + check.key)}**")
            button.button(tr("shapes.ex.load"), key=f"shapes.ex.{check.key}",
                          on_click=_load_check, args=(check,))
            st.markdown(tr("shapes.ex.expected", value=check.expected) + "  \n"
                        + tr("shapes.ex.actual", value=check.actual))
            if check.detail:
                st.code(check.detail, language=None)
            if check.key == "pool-7":
                st.caption(tr("shapes.ex.pool-7.why"))


def handoff(report: shapes.Report) -> None:
    """Give the network to the training page (kept in the session for it)."""
    st.session_state["handoff_spec"] = {"spec": layer_dicts(),
                                        "input_shape": list(report.input_shape),
                                        "name": st.session_state.get("shapes.name", "custom")}
    st.session_state["shapes.handed_off"] = True


def render_handoff(report: shapes.Report) -> None:
    ok = report.error is None and bool(report.rows) and len(report.input_shape) == 3
    clicked = st.button(tr("shapes.train"), key="shapes.train", disabled=not ok,
                        help=None if ok else tr("shapes.train_disabled"))
    if clicked:
        handoff(report)
        if TRAINING_PAGE.exists():
            with contextlib.suppress(st.errors.StreamlitAPIException):
                st.switch_page("lessons/training.py")
        st.success(tr("shapes.handoff_kept"))
