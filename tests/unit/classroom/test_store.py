"""The class store: a real SQLite file shared by threads and processes."""
import multiprocessing as mp
import sqlite3
import threading
import time

import pytest

from cnndemo.classroom import store as S

IMG = bytes(range(256)) * 3 + bytes(16)  # 784 bytes


@pytest.fixture
def db(tmp_path):
    return S.Store(tmp_path / "class.sqlite3")


def test_file_appears_on_first_use_in_wal_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNDEMO_RUNS_DIR", str(tmp_path / "fresh"))
    st = S.Store()
    assert not st.path.exists()
    lesson = st.start_lesson("convolution", "preset=example_a")
    assert st.path == tmp_path / "fresh" / "classroom.sqlite3" and st.path.exists()
    assert st.journal_mode() == "wal"
    assert len(lesson.code) == S.CODE_LEN and set(lesson.code) <= set(S.CODE_ALPHABET)


def test_lesson_step_locks_and_seq(db):
    a = db.start_lesson("home", "", locks={"training"})
    assert db.lesson(a.code.lower()) == a  # codes are typed in any case
    b = db.set_step(a.code, 3, "convolution", "preset=example_b")
    assert (b.step, b.page, b.state, b.seq) == (3, "convolution", "preset=example_b", a.seq + 1)
    c = db.set_locks(a.code, ["training", "model"])
    assert c.locks == {"training", "model"} and c.seq == b.seq + 1
    assert db.lesson("NOPE9") is None and db.lesson("") is None
    with pytest.raises(S.StoreError):
        db.set_step("NOPE9", 1, "home", "")


def test_members_numbers_names_and_heartbeat(db):
    code = db.start_lesson("home").code
    m1 = db.join(code, "s1", "  Ji-woo \n <b>x</b> ")
    m2 = db.join(code, "s2", "")
    assert (m1.name, m1.number) == ("Ji-woo <b>x</b>", 1)  # kept as text; never rendered as HTML
    assert (m2.name, m2.number) == ("Student 2", 2)
    assert db.join(code, "s1", "Ji-woo").number == 1  # rejoining keeps the number
    assert [m.name for m in db.members(code)] == ["Ji-woo", "Student 2"]
    assert db.heartbeat(code, "s2") and not db.heartbeat(code, "ghost")
    db.leave(code, "s1")
    assert [m.member for m in db.members(code)] == ["s2"]
    assert db.members(code, within_s=-1) == []
    with pytest.raises(S.StoreError):
        db.join("NOPE9", "s3")
    assert len(db.join(code, "s4", "x" * 500).name) == S.NAME_MAX


def test_drawings_are_capped_labelled_and_deleted_with_the_lesson(tmp_path):
    db = S.Store(tmp_path / "c.sqlite3", max_drawings=5)
    code = db.start_lesson("draw").code
    ids = [db.add_drawing(code, "s1", "A", IMG, pred=i % 10) for i in range(8)]
    got = db.drawings(code)
    assert [d.id for d in got] == ids[:-6:-1] and db.count_drawings(code) == 5
    assert got[0].image == IMG and got[0].pred == 7 and got[0].label is None
    assert db.set_label(code, ids[-1], "s1", 3)
    assert not db.set_label(code, ids[-1], "someone-else", 4)  # only the author labels
    assert db.drawings(code, limit=1)[0].label == 3
    with pytest.raises(S.StoreError):
        db.set_label(code, ids[-1], "s1", 12)
    with pytest.raises(S.StoreError):
        db.add_drawing(code, "s1", "A", b"short", pred=1)
    db.end_lesson(code)
    assert db.lesson(code) is None and db.drawings(code) == [] and db.members(code, None) == []
    with pytest.raises(S.StoreError):
        db.add_drawing(code, "s1", "A", IMG, pred=1)


def test_lessons_expire_and_are_bounded(tmp_path):
    db = S.Store(tmp_path / "c.sqlite3", ttl_s=0.2, max_lessons=2)
    old = db.start_lesson("home").code
    db.add_drawing(old, "s", "S", IMG, pred=1)
    time.sleep(0.3)
    assert db.lesson(old) is None
    db.start_lesson("home")  # purges the expired one on the way
    raw = sqlite3.connect(db.path)
    assert raw.execute("SELECT COUNT(*) FROM drawings").fetchone()[0] == 0
    db.start_lesson("home")
    with pytest.raises(S.StoreError):
        db.start_lesson("home")


def test_eight_threads_at_once(db):
    code = db.start_lesson("home").code
    errors, barrier = [], threading.Barrier(8)

    def student(i):
        try:
            barrier.wait()
            db.join(code, f"t{i}", f"T{i}")
            for j in range(20):
                db.heartbeat(code, f"t{i}")
                db.add_drawing(code, f"t{i}", f"T{i}", IMG, pred=j % 10)
                assert db.lesson(code) is not None
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(db.members(code)) == 8
    assert db.count_drawings(code) == 160
    assert sorted(m.number for m in db.members(code)) == list(range(1, 9))


def _teacher(path, q):
    db = S.Store(path)
    code = db.start_lesson("home").code
    q.put(code)
    for step in range(1, 31):
        db.set_step(code, step, "convolution", f"stride={step % 4 + 1}")
    q.put("done")


def _student(path, code, q):
    db = S.Store(path)
    db.join(code, "p2", "Other process")
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline:
        lesson = db.lesson(code)
        seen.add(lesson.step)
        db.add_drawing(code, "p2", "Other process", IMG, pred=lesson.step % 10)
        if lesson.step == 30:
            break
    q.put(sorted(seen))


def test_two_processes_share_the_file(tmp_path):
    path = tmp_path / "shared.sqlite3"
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    teacher = ctx.Process(target=_teacher, args=(path, q))
    teacher.start()
    code = q.get(timeout=60)
    sq = ctx.Queue()
    student = ctx.Process(target=_student, args=(path, code, sq))
    student.start()
    assert q.get(timeout=60) == "done"
    seen = sq.get(timeout=90)
    teacher.join(30)
    student.join(30)
    assert teacher.exitcode == 0 and student.exitcode == 0
    assert seen[-1] == 30
    db = S.Store(path)
    assert db.lesson(code).step == 30 and db.lesson(code).seq == 31
    assert [m.name for m in db.members(code)] == ["Other process"]
    assert db.count_drawings(code) >= 1


def test_a_class_code_from_a_link_keeps_only_code_letters():
    assert S.clean_code(" ab2c3 ") == "AB2C3"
    assert S.clean_code("AB-2C 3") == "AB2C3"
    assert S.clean_code("'; DROP TABLE lessons; --") == "DRPTA"
    assert S.clean_code(None) == "" and S.clean_code("0O1I") == ""


def test_the_class_model_is_kept_without_moving_the_class(db):
    les = db.start_lesson("draw", "", 11, locks={"model"})
    moved = db.set_model(les.code, "/models/class-finetuned.pt")
    assert moved.model == "/models/class-finetuned.pt" and moved.seq == les.seq
    assert (moved.step, moved.page, moved.locks) == (11, "draw", frozenset({"model"}))
    with pytest.raises(S.StoreError):
        db.set_model("NOPE2", "x")


def test_a_store_file_from_before_the_class_model_gains_the_column(tmp_path):
    path = tmp_path / "classroom.sqlite"
    old = sqlite3.connect(path)
    old.executescript(S.SCHEMA.replace(", model TEXT NOT NULL DEFAULT ''", ""))
    old.execute("INSERT INTO lessons VALUES ('ABCDE', 1, ?, 2, 'pooling', '', '[]', 1)",
                (time.time(),))
    old.commit()
    old.close()
    les = S.Store(path).lesson("ABCDE")
    assert (les.page, les.step, les.model) == ("pooling", 2, "")
    assert S.Store(path).set_model("ABCDE", "m.pt").model == "m.pt"
