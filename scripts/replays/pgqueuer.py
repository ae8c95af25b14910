"""Replays behind the review of pgqueuer 1.6.0 (docs/real-world.md), on PostgreSQL 15 at
READ COMMITTED, with the schema and query files rendered into corpus/pgqueuer-1.6.0/ (default
settings: no schema, no prefix). Titles name the pair numbers of the review's table.

pgqueuer runs every query alone on an autocommit connection; here each runs in a transaction
that a later COMMIT ends, so that two of them overlap. A step that waits on a row lock is
reported as waiting and finishes after the other session's COMMIT.

    python3 scripts/replays/pgqueuer.py        (see pg.py for the server)
"""

import uuid
from datetime import timedelta

import pg

ROOT = pg.ROOT / "corpus" / "pgqueuer-1.6.0"
QUERIES = ROOT / "queries"
INSTALL = ROOT / "migrations" / "001_install.sql"
DB = "replay_pgqueuer"

W1, W2 = uuid.UUID(int=1), uuid.UUID(int=2)  # the queue_manager_id of each worker
HEARTBEAT_TIMEOUT = timedelta(seconds=30)
ENTRYPOINTS = ["a", "b"]
STATE = (
    "SELECT id, entrypoint, status, CASE queue_manager_id WHEN %s THEN 'W1' WHEN %s THEN 'W2' "
    "ELSE queue_manager_id::text END AS worker, slot FROM pgqueuer ORDER BY id"
)


def q(name):
    return pg.sql(QUERIES / f"{name}.sql")


class Session(pg.Transaction):
    """A transaction of this replay's database; `step` can print only the first COLUMNS values
    of each row."""

    def __init__(self, label):
        super().__init__(DB, label)
        self._columns = None

    def step(self, query, params=None, show=None, columns=None, timeout=10.0):
        self._columns = columns
        return super().step(query, params, show, timeout)

    def shown(self, rows):
        return rows if self._columns is None else [row[: self._columns] for row in rows]


def claim_params(shape, worker, batch=10, limits=(0, 0), global_limit=5):
    """The parameters of dequeue file SHAPE: batch size, entrypoints, worker, heartbeat timeout,
    then the per-entrypoint concurrency limits and/or the worker's global limit."""
    base = [batch, ENTRYPOINTS, worker, HEARTBEAT_TIMEOUT]
    return base + {
        "dequeue_plain": [],
        "dequeue_budget": [global_limit],
        "dequeue_capacity": [list(limits)],
        "dequeue_capacity_budget": [list(limits), global_limit],
    }[shape]


def job(id_, entrypoint, status, worker=None, heartbeat_age=0, slot=None):
    """An INSERT of a due job (execute_after a minute ago), heartbeat HEARTBEAT_AGE seconds old."""
    return (
        "INSERT INTO pgqueuer (id, priority, entrypoint, status, queue_manager_id, heartbeat, "
        f"slot, execute_after) VALUES ({id_}, 0, '{entrypoint}', '{status}', "
        + ("NULL" if worker is None else f"'{worker}'")
        + f", now() - interval '{heartbeat_age} seconds', "
        + ("NULL" if slot is None else str(slot))
        + ", now() - interval '1 minute')"
    )


def setup(rows):
    pg.fresh_db(DB, [INSTALL])
    with pg.connect(DB, autocommit=True) as conn:
        for row in rows:
            conn.execute(row)


def final():
    with pg.connect(DB, autocommit=True) as conn:
        print(f"  final: {conn.execute(STATE, (W1, W2)).fetchall()}")


def claim(session, claim_):
    _, shape, params = claim_
    return session.step(q(shape), params, show=f"{shape} RETURNING id", columns=1)


def concurrent(seed, first, second, note):
    """FIRST's claim, SECOND's claim, COMMIT of FIRST, then SECOND's end. Each is (label, file,
    parameters)."""
    pg.title(note)
    setup(seed)
    a, b = Session(first[0]), Session(second[0])
    claim(a, first)
    finished = claim(b, second)
    a.commit()
    if not finished:
        b.resume()
    b.finish()
    final()
    a.close()
    b.close()


def serial(seed, first, second, note):
    pg.title(note)
    setup(seed)
    for claim_ in (first, second):
        session = Session(claim_[0])
        claim(session, claim_)
        session.commit()
        session.close()
    final()


def replay_stale_job_and_plain_claim():
    # Job 10: W1's picked job (entrypoint b) whose heartbeat is stale; jobs 1, 2 queued.
    seed = [
        job(10, "b", "picked", W1, heartbeat_age=3600),
        job(1, "a", "queued"),
        job(2, "b", "queued"),
    ]
    for shape, extra in (
        ("dequeue_budget", dict(global_limit=2)),
        ("dequeue_capacity", dict(limits=(2, 0))),
        ("dequeue_capacity_budget", dict(limits=(2, 0), global_limit=2)),
    ):
        gated = ("W1", shape, claim_params(shape, W1, **extra))
        plain = ("W2", "dequeue_plain", claim_params("dequeue_plain", W2))
        concurrent(
            seed,
            plain,
            gated,
            f"Q1 (pairs 6, 10, 13) {shape} vs dequeue_plain: the plain claim (W2) takes the "
            f"stale job 10 of W1 and jobs 1, 2; then {shape} (W1) on its snapshot",
        )
        serial(seed, plain, gated, f"Q1 serial dequeue_plain; {shape}")
        concurrent(seed, gated, plain, f"Q1 {shape} (W1) first, then dequeue_plain (W2)")
        serial(seed, gated, plain, f"Q1 serial {shape}; dequeue_plain")


def replay_slot_race():
    # Entrypoint a limited to 2, jobs 1, 2, 3 queued for a; W1 claims one (batch 1), W2 two.
    seed = [job(1, "a", "queued"), job(2, "a", "queued"), job(3, "a", "queued")]
    first = ("W1", "dequeue_capacity",
             claim_params("dequeue_capacity", W1, batch=1, limits=(2, 0)))
    for other in ("dequeue_capacity", "dequeue_capacity_budget"):
        second = ("W2", other, claim_params(other, W2, batch=2, limits=(2, 0)))
        concurrent(
            seed,
            first,
            second,
            f"Q2 (pairs 8, 9) dequeue_capacity (W1, batch 1) vs {other} (W2, batch 2), limit 2 "
            "on a: both compute slot 0 on their snapshots",
        )
        serial(seed, first, second, f"Q2 serial dequeue_capacity; {other}")
    # Limit 1, nothing held: the second claim's window is the job the first holds.
    concurrent(
        seed,
        ("W1", "dequeue_capacity",
         claim_params("dequeue_capacity", W1, batch=1, limits=(1, 0))),
        ("W2", "dequeue_capacity",
         claim_params("dequeue_capacity", W2, batch=1, limits=(1, 0))),
        "Q2b dequeue_capacity x2, limit 1 on a, batch 1",
    )


def replay_schedules():
    pg.title(
        "Q4 insert_schedule vs delete_schedule (pair 1, harmless): T1 insert_schedule "
        "[(E,x),(E,y)] with (E,x) present, T2 delete_schedule(entrypoint E)"
    )
    setup(["INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('x', 'E')"])
    a, b = Session("T1"), Session("T2")
    minute = timedelta(minutes=1)
    a.step(q("insert_schedule"), [["x", "y"], ["E", "E"], [minute, minute]],
           show="insert_schedule([(E,x), (E,y)])")
    b.step(q("delete_schedule"), [[], ["E"]], show="delete_schedule(entrypoint E)")
    a.commit()
    b.commit()
    with pg.connect(DB, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT entrypoint, expression FROM pgqueuer_schedules ORDER BY 1, 2"
        ).fetchall()
    print(f"  final: {rows}")
    print("  (serial insert;delete: []; serial delete;insert: [('E','x'), ('E','y')])")
    a.close()
    b.close()


if __name__ == "__main__":
    replay_stale_job_and_plain_claim()
    replay_slot_race()
    replay_schedules()
