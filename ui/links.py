"""Every lab's state is a link: one `links.bind(PAGE)` line near the top of a page.

`bind` runs before the page creates its widgets. When the address holds a link the session has
not applied yet (a fresh browser, a shared link, the teacher moving the class), it seeds
st.session_state from it; otherwise it writes the current controls back into the address, so
the address is always the page's state. Widget values are committed to session_state before
a rerun starts, so the top of the script already sees the latest change.
"""
from __future__ import annotations

import html
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from cnndemo import i18n
from cnndemo.classroom import links as L
from cnndemo.classroom import pages as P
from cnndemo.core import arch
from ui.common import tr
from ui.pages import PAGES

LAST = "_links_last"      # {page: the link last applied or written}
PENDING = "_links_apply"  # {page: query} a follow step waiting for its page to open
BAD = "_links_bad"
PAGE_PATHS = frozenset(name for _, name, _ in PAGES if name != "home")


def _tab_getter(page: str, names: tuple):
    def get(ss):
        label = ss.get(f"{page}_tab")
        for name in names:
            if label in {i18n.t(f"{page}.tab.{name}", lang) for lang in i18n.LANGS}:
                return name
        return names[0]
    return get


def _tab_setter(page: str):
    def put(ss, name, _values):
        ss[f"{page}_tab"] = tr(f"{page}.tab.{name}")
    return put


def _preset_net(name) -> list[dict]:
    return [] if name not in arch.PRESETS else arch.spec_to_dicts(arch.preset(name).spec)


def _net_getter(ss):
    """The network as the editor shows it now (its widgets win over the last synced spec)."""
    net = []
    for d in ss.get("shapes.spec", []):
        layer = {k: ss.get(f"shapes.l{d['uid']}.{k}", v) for k, v in d.items()
                 if k not in ("uid", "type")}
        net.append({"type": d["type"], **layer})
    if net == _preset_net(ss.get("shapes.preset")):
        return ""
    try:
        return L.compact_network(net)
    except (ValueError, TypeError):
        return net


def _net_setter(ss, net, values):
    from ui import shapes as view

    if values["shapes.vector"]:
        shape = (values["shapes.in_n"],)
    else:
        shape = tuple(values[k] for k in ("shapes.in_c", "shapes.in_h", "shapes.in_w"))
    preset = values["shapes.preset"]
    view.set_spec(_preset_net(preset) if net == "" else net, shape,
                  preset if net == "" else "custom")
    ss["shapes.saved_inputs"] = {k: values[k] for k in view.INPUTS if k in values}


GETTERS = {("convolution", "tab"): _tab_getter("convolution", P.CONV_TABS),
           ("gradients", "tab"): _tab_getter("gradients", P.GRADIENT_TABS),
           ("pooling", "tab"): _tab_getter("pooling", P.POOL_TABS),
           ("losses", "tab"): _tab_getter("losses", P.LOSS_TABS),
           ("shapes", "net"): _net_getter}
SETTERS = {("convolution", "tab"): _tab_setter("convolution"),
           ("gradients", "tab"): _tab_setter("gradients"),
           ("pooling", "tab"): _tab_setter("pooling"),
           ("losses", "tab"): _tab_setter("losses"),
           ("shapes", "net"): _net_setter}


def _current(page: str) -> dict:
    ss = st.session_state
    values = {}
    for f in P.SPECS[page]:
        get = GETTERS.get((page, f.name))
        if get is not None:
            values[f.key] = get(ss)
        elif f.key in ss:
            values[f.key] = ss[f.key]
    return values


def query_for(page: str) -> dict[str, str]:
    """This session's state of `page` as link parameters (only what differs from defaults)."""
    values = _current(page)
    return L.encode(P.SPECS[page], values, P.base(page, values))


def apply(page: str, query: dict[str, str]) -> list[str]:
    """Put a link's state into the session (defaults for what it leaves out); returns bad names."""
    ss = st.session_state
    values, bad = L.decode(P.SPECS[page], query, P.base_from_query(page, query))
    for f in P.SPECS[page]:
        setter = SETTERS.get((page, f.name))
        if setter is None:
            ss[f.key] = values[f.key]
    for f in P.SPECS[page]:
        setter = SETTERS.get((page, f.name))
        if setter is not None:
            setter(ss, values[f.key], values)
    return bad


def _write(page: str, params: dict[str, str]) -> None:
    names = {f.name for f in P.SPECS[page]}
    qp = st.query_params
    for name in names - set(params):
        if name in qp:
            del qp[name]
    for name, text in params.items():
        if qp.get(name) != text:
            qp[name] = text


def bind(page: str) -> None:
    """Seed the page's controls from the address (or a follow step), then mirror them back."""
    ss = st.session_state
    names = {f.name for f in P.SPECS[page]}
    in_url = {k: st.query_params[k] for k in st.query_params if k in names}
    last = ss.setdefault(LAST, {})
    pending = ss.get(PENDING, {}).pop(page, None)
    incoming = pending if pending is not None else (
        in_url if in_url and in_url != last.get(page) else None)
    if incoming is not None:
        bad = apply(page, incoming)
        if bad:
            ss[BAD] = (page, bad)
    params = query_for(page)
    _write(page, params)
    last[page] = params
    ss["_links_page"] = page
    got = ss.pop(BAD, None)
    if got and got[0] == page:
        st.warning(tr("classroom.link_bad", names=", ".join(got[1])), icon=":material/link_off:")
    copy_button(page, params)


def app_base() -> str:
    """The app's own address, without the page the browser is on (st.context.url has it)."""
    u = urlsplit(st.context.url or "")
    parts = [p for p in u.path.split("/") if p]
    if parts and parts[-1] in PAGE_PATHS:
        parts = parts[:-1]
    return urlunsplit((u.scheme, u.netloc, "/".join(parts), "", "")).rstrip("/")


def link(page: str, params: dict[str, str] | None = None) -> str:
    base = app_base()
    path = "" if page == "home" else page
    query = L.to_query(query_for(page) if params is None else params)
    return f"{base}/{path}" + (f"?{query}" if query else "")


def copy_button(page: str, params: dict[str, str]) -> None:
    with st.sidebar.popover(tr("classroom.copy_link"), icon=":material/link:", width="stretch"):
        st.caption(tr("classroom.copy_link_help"))
        st.code(link(page, params), language=None, wrap_lines=True)


def plain(text: str) -> str:
    """Escape a user's text for the few places markdown is unavoidable."""
    return html.escape(str(text)).replace("[", "&#91;").replace("*", "&#42;").replace(
        "_", "&#95;").replace("`", "&#96;")
