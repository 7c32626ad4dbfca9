"""Two server processes, one class: the teacher on one, a student on the other, following.

The class lives in the shared SQLite store under the runs folder, so a class behind a proxy
with several workers stays one class. Both servers here share only CNNDEMO_RUNS_DIR.
"""
import os
import tempfile

import pytest

from tests.browser.test_classroom import KEY, advance, join, start_lesson, where
from tests.conftest import streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def two_servers():
    env = dict(os.environ, CNNDEMO_TEACHER_KEY=KEY,
               CNNDEMO_RUNS_DIR=tempfile.mkdtemp(prefix="cnndemo-class-two-"))
    with streamlit_server(env, name="class-a") as a, streamlit_server(env, name="class-b") as b:
        yield a, b


def test_a_student_on_another_server_process_follows_the_teacher(two_servers, _browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    server_a, server_b = two_servers
    assert server_a != server_b
    teacher, code = start_lesson(_browser, server_a)
    student = join(_browser, server_b, code, "Min-jun")
    assert student.url.startswith(server_b)
    assert where(student) == ("/convolution", {"preset": "example_b", "tab": "why"})

    for n in (2, 3, 4, 5, 6):  # A, B and stacking, filters, pooling, 3-D volumes
        advance(teacher, [student], n)
        assert where(student) == where(teacher), (n, student.url, teacher.url)
    assert where(student) == ("/pooling", {"preset": "six", "kernel": "3", "stride": "3", "tab": "volume"})
    expect(student.get_by_text("Step 6 of 12", exact=False)).to_be_visible()

    # the teacher's panel on server A counts the student connected to server B
    teacher.locator("[data-testid='stSidebar']").get_by_role("link", name="Class panel").click()
    expect(teacher.locator("[data-testid='stMetricValue']").first).to_have_text("1")
    for p in (teacher, student):
        assert p.locator("[data-testid='stException']").count() == 0
        p.context.close()
