"""Replays behind the review of fang 0.11.0 (docs/real-world.md), on PostgreSQL 15
at READ COMMITTED, with fang's own diesel migrations and query files from
target/corpus/fang-0.11.0/ (scripts/corpus.sh extracts them: fang is fetch-only).

fang 0.11.0 runs every query file on the pool (src/asynk/backend_sqlx.rs), so each statement
commits on its own; 0.10.4 ran `fetch_and_touch_task` and `insert_task` in one transaction each.
Both are replayed.

    python3 scripts/replays/fang.py        (see pg.py for the server)
"""

import uuid
from datetime import datetime, timezone

import pg

ROOT = pg.ROOT / "target" / "corpus" / "fang-0.11.0"
QUERIES = ROOT / "src" / "asynk" / "queries_postgres"
MIGRATIONS = sorted((ROOT / "postgres_migrations" / "migrations").glob("*/up.sql"))
DB = "replay_fang"


def q(name):
    return pg.sql(QUERIES / f"{name}.sql")


def now():
    return datetime.now(timezone.utc)


def setup(tasks=()):
    pg.fresh_db(DB, MIGRATIONS)
    with pg.connect(DB, autocommit=True) as conn:
        for task_id in tasks:
            conn.execute(
                "INSERT INTO fang_tasks (id, metadata) VALUES (%s, '{\"number\": 1}')", (task_id,)
            )


def count(where="true"):
    with pg.connect(DB, autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM fang_tasks WHERE {where}").fetchone()[0]


def fetch(session, show="fetch_task_type('common')"):
    _, rows = session.run(q("fetch_task_type"), ["common", now()], show=show, columns=1)
    return rows[0][0] if rows else None


def touch(session, task_id):
    session.run(
        q("update_task_state"),
        ["in_progress", now(), task_id],
        show=f"update_task_state(in_progress, {str(task_id)[:8]}...)",
        columns=1,
    )


def replay_double_claim():
    pg.title(
        "1. fetch_and_touch_task in 0.11.0 (not reported by isolint): two workers claim the "
        "same task; every statement commits on its own"
    )
    task = uuid.uuid4()
    setup([task])
    w1, w2 = pg.Session(DB, "W1", raw=True), pg.Session(DB, "W2", raw=True)
    got1 = fetch(w1)
    got2 = fetch(w2)
    touch(w1, got1)
    touch(w2, got2)
    print(f"  both workers hold task {str(task)[:8]}...: {got1 == got2 == task}; it runs twice")

    pg.title("1b. the same two queries in one transaction (0.10.4): the second worker skips it")
    w1.close()
    w2.close()
    setup([task])
    w1, w2 = pg.Session(DB, "W1", raw=True), pg.Session(DB, "W2", raw=True)
    w1.run("BEGIN")
    got1 = fetch(w1)
    got2 = fetch(w2)
    touch(w1, got1)
    w1.run("COMMIT")
    print(f"  W2 got: {got2}")
    w1.close()
    w2.close()


def replay_duplicate_unique_task():
    pg.title(
        "2. insert_task_if_not_exists (not reported by isolint): two inserts of one unique task "
        "both insert"
    )
    setup()
    digest = "5d41402abc4b2a76b9719d911017c592"
    w1, w2 = pg.Session(DB, "W1", raw=True), pg.Session(DB, "W2", raw=True)
    for session in (w1, w2):
        session.run(q("find_task_by_uniq_hash"), [digest], show="find_task_by_uniq_hash(h)")
    for session in (w1, w2):
        session.run(
            q("insert_task_uniq"),
            [uuid.uuid4(), '{"number": 1}', "common", digest, now()],
            show="insert_task_uniq(h)",
            columns=1,
        )
    print(f"  tasks with hash h: {count(f'uniq_hash = {digest!r}')}")

    pg.title("2b. the same in one transaction each (0.10.4), interleaved: still two")
    w1.close()
    w2.close()
    setup()
    w1, w2 = pg.Session(DB, "W1", raw=True), pg.Session(DB, "W2", raw=True)
    w1.run("BEGIN")
    w2.run("BEGIN")
    for session in (w1, w2):
        session.run(q("find_task_by_uniq_hash"), [digest], show="find_task_by_uniq_hash(h)")
    for session in (w1, w2):
        session.run(
            q("insert_task_uniq"),
            [uuid.uuid4(), '{"number": 1}', "common", digest, now()],
            show="insert_task_uniq(h)",
            columns=1,
        )
    w1.run("COMMIT")
    w2.run("COMMIT")
    print(f"  tasks with hash h: {count(f'uniq_hash = {digest!r}')}")
    w1.close()
    w2.close()


def replay_remove_and_fetch():
    pg.title(
        "3. remove_tasks_type x fetch_task_type (dangerous-structure pivot, false): the locking "
        "read never returns a row being deleted"
    )
    task = uuid.uuid4()
    setup([task])
    remover, worker = pg.Session(DB, "T1", raw=True), pg.Session(DB, "T2", raw=True)
    remover.run("BEGIN")
    remover.run(q("remove_tasks_type"), ["common"], show="remove_tasks_type('common')")
    fetch(worker)
    remover.run("COMMIT")
    fetch(worker)
    remover.close()
    worker.close()


def replay_dangerous_structure():
    pg.title(
        "4. fetch_task_type, remove_tasks_type, insert_task (dangerous-structure, harmless): the "
        "cycle happens, and each visible effect is a serial one"
    )
    older, task = uuid.uuid4(), uuid.uuid4()
    setup([older, task])
    holder = pg.Session(DB, "T0", raw=True)
    remover, inserter = pg.Session(DB, "T1", raw=True), pg.Session(DB, "T2", raw=True)
    worker = pg.Session(DB, "T3", raw=True)
    holder.run("BEGIN")
    holder.run(
        "SELECT id FROM fang_tasks WHERE id = $1 FOR UPDATE",
        [older],
        show="lock the oldest task (stands for any writer of it)",
        columns=1,
    )
    remover.start(q("remove_tasks_type"), ["common"], show="remove_tasks_type('common')")
    remover.wait_blocked()
    new = uuid.uuid4()
    inserter.run(q("insert_task"), [new, '{"number": 2}', "common", now()], show="insert_task", columns=1)
    fetched = fetch(worker)
    holder.run("COMMIT")
    remover.join()
    touch(worker, fetched)
    left = count()
    print(
        f"  the worker fetched {str(fetched)[:8]}... (deleted since), the new task "
        f"{str(new)[:8]}... is left ({left} row)"
    )
    for session in (holder, remover, inserter, worker):
        session.close()


if __name__ == "__main__":
    replay_double_claim()
    replay_duplicate_unique_task()
    replay_remove_and_fetch()
    replay_dangerous_structure()
