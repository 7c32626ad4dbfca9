"""A student's browser tab without the browser: Streamlit's own websocket protocol, in Python.

A real Chromium tab costs a 2-core machine far more CPU than the server work it asks for, so
30 of them measure Chromium, not the app. This client speaks what the browser speaks
(`/_stcore/stream`, BackMsg/ForwardMsg protobufs): it opens a page, keeps every widget it has
seen, reruns `run_every` fragments on their interval as the frontend does (the class's
follow loop), follows server-side page switches and records when each text appeared. The
server cannot tell it from a browser; what it does not do is draw the page.
"""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

TEXT_FIELDS = ("progress", "markdown", "text", "heading", "alert")


class Session:
    """One tab on `url` (http://host:port), first opening `page` (a url path, '' for home)."""

    def __init__(self, url: str, page: str = "", query: str = ""):
        u = urlparse(url)
        self.http, self.ws_url = url, f"ws://{u.netloc}/_stcore/stream"
        self.page, self.query, self.page_hash = page, query, ""
        self.widgets: dict[str, object] = {}  # widget id -> its element proto, as last sent
        self.states: dict[str, WidgetState] = {}  # values this tab has set, sent every rerun
        self.texts: list[tuple[float, str]] = []  # (time.time(), text) in the order received
        self.errors: list[str] = []
        self.runs = 0
        self._ws = None
        self._timers: dict[str, asyncio.Task] = {}
        self._running = False
        self._finished = asyncio.Event()

    # ------------------------------------------------------------------------ connection
    async def open(self, timeout: float = 120) -> None:
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"],
                                            max_size=None, open_timeout=timeout,
                                            origin=self.http)
        self._reader = asyncio.create_task(self._read())
        await self.rerun(timeout=timeout)

    async def close(self) -> None:
        for t in self._timers.values():
            t.cancel()
        if self._ws is not None:
            await self._ws.close()
        if hasattr(self, "_reader"):
            self._reader.cancel()

    # ------------------------------------------------------------------------ requests
    async def rerun(self, states=(), fragment_id: str = "", auto: bool = False,
                    timeout: float | None = 120) -> None:
        """Ask for a run (of one fragment if `fragment_id`), sending every widget value this
        tab holds plus `states`; wait for it to finish unless `timeout` is None."""
        for s in states:
            if s.WhichOneof("value") != "trigger_value":
                self.states[s.id] = s
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string, cs.page_script_hash = self.query, self.page_hash
        cs.page_name = "" if self.page_hash else self.page
        cs.widget_states.widgets.extend(list(self.states.values()) +
                                        [s for s in states if s.WhichOneof("value") == "trigger_value"])
        if fragment_id:
            cs.fragment_id, cs.is_auto_rerun = fragment_id, auto
        self._finished.clear()
        self._running = True
        await self._ws.send(msg.SerializeToString())
        if timeout is not None:
            await asyncio.wait_for(self._finished.wait(), timeout)

    def widget_id(self, key: str) -> str:
        """The id of the widget whose user key is `key` (ids end with '-<key>')."""
        for wid in self.widgets:
            if wid.endswith(f"-{key}"):
                return wid
        raise KeyError(f"no widget {key!r} on the page")

    def submit_button(self, form_id: str) -> str:
        for wid, el in self.widgets.items():
            if getattr(el, "form_id", None) == form_id and getattr(el, "is_form_submitter", False):
                return wid
        raise KeyError(f"no submit button in form {form_id!r}")

    @staticmethod
    def text(wid: str, value: str) -> WidgetState:
        return WidgetState(id=wid, string_value=value)

    @staticmethod
    def trigger(wid: str) -> WidgetState:
        return WidgetState(id=wid, trigger_value=True)

    def seen(self, needle: str, since: float = 0.0) -> float | None:
        """When a text containing `needle` first arrived after `since`, or None."""
        for t, s in self.texts:
            if t >= since and needle in s:
                return t
        return None

    # ------------------------------------------------------------------------ what comes back
    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
        elif kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "auto_rerun":
            fid, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid not in self._timers:
                self._timers[fid] = asyncio.create_task(self._every(fid, every))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                if (t := self._timers.pop(fid, None)) is not None:
                    t.cancel()
        elif kind == "script_finished":
            self.runs += 1
            self._running = False
            self._finished.set()
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            self.errors.append("script compilation exception")

    def _element(self, el) -> None:
        kind = el.WhichOneof("type")
        if kind is None:
            return
        inner = getattr(el, kind)
        if kind == "exception":
            self.errors.append(f"{inner.type}: {inner.message}"[:200])
        if wid := getattr(inner, "id", ""):
            self.widgets[wid] = inner
        if kind in TEXT_FIELDS:
            body = getattr(inner, "text", "") or getattr(inner, "body", "")
            if body:
                self.texts.append((time.time(), body))
                del self.texts[:-400]

    async def _every(self, fragment_id: str, interval: float) -> None:
        """The frontend's `run_every`: rerun the fragment on its interval while idle."""
        while True:
            await asyncio.sleep(interval)
            if not self._running:
                await self.rerun(fragment_id=fragment_id, auto=True, timeout=None)
