"""bench/wsclient.py, the follow bench's stand-in for a browser tab, against the real server:
it opens a page, finds widgets by key, changes one, and reruns a page the way a tab does."""
import asyncio
import concurrent.futures

import pytest

from bench import wsclient

pytestmark = pytest.mark.browser


def test_a_protocol_tab_opens_a_page_and_changes_a_control(app_server):
    async def go():
        s = wsclient.Session(app_server, "pooling", "preset=six&kernel=2&stride=2")
        await s.open()
        try:
            assert s.seen("Pooling") is not None and not s.errors
            runs = s.runs
            kernel = s.widget_id("pooling_kernel")
            assert list(s.widgets[kernel].value) == [2.0]  # the link's kernel, not the default
            state = wsclient.WidgetState(id=kernel)
            state.double_array_value.data.append(3.0)  # what the browser sends for a slider
            await s.rerun([state])
            assert s.runs == runs + 1 and not s.errors
            assert "kernel=3" in s.query  # the page wrote its new state to the address
        finally:
            await s.close()

    # its own event loop in its own thread: Playwright's sync API may hold this thread's loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result(timeout=180)
