"""Renders the SQL of pgqueuer 1.6.0 with pgqueuer's own query builders
(pgqueuer/adapters/persistence/qb.py of the wheel), one statement per file.

    python render.py [OUTPUT_DIR]      (default: the current directory)

Needs pgqueuer 1.6.0 importable (scripts/corpus.sh installs the pinned wheel into a throwaway
venv). Writes OUTPUT_DIR/migrations/001_install.sql (QueryBuilderEnvironment.build_install_query)
and OUTPUT_DIR/queries/<name>.sql, each statement stripped and ended with ";\n".

Settings: pgqueuer's defaults (DBSettings(): no PGQUEUER_PREFIX, no schema, so the objects are
the unqualified pgqueuer, pgqueuer_log, pgqueuer_statistics, pgqueuer_schedules, pgqueuer_status,
fn_pgqueuer_changed, tg_pgqueuer_changed; durability "durable"). DBSettings reads PGQUEUER_* and
the legacy bare names (QUEUE_TABLE, CHANNEL, ...) from the environment, so those are removed
before pgqueuer is imported. The dequeue statement has four shapes, chosen by which concurrency
gates are in use (QueryQueueBuilder.build_dequeue_query): rendered with no limit, with a
per-entrypoint limit, with a global limit, and with both. The values themselves (batch size,
entrypoints, limits, worker id, heartbeat timeout) are bound parameters, not part of the text.
"""

import os
import sys
import uuid
from datetime import timedelta

# Environment names DBSettings / ConnectionSettings read (pydantic-settings matches them
# case-insensitively): anything PGQUEUER_*, and the legacy bare spellings of the name fields.
LEGACY = {
    "db_schema", "channel", "function", "statistics_table", "queue_status_type", "queue_table",
    "queue_table_log", "trigger", "schedules_table", "durability", "widen_id", "pgdsn",
}
for key in list(os.environ):
    if key.lower().startswith("pgqueuer_") or key.lower() in LEGACY:
        del os.environ[key]

from pgqueuer.adapters.persistence.qb import (  # noqa: E402
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(os.path.join(out, "migrations"), exist_ok=True)
os.makedirs(os.path.join(out, "queries"), exist_ok=True)

qbe, qbq, qbs = QueryBuilderEnvironment(), QueryQueueBuilder(), QuerySchedulerBuilder()
with open(os.path.join(out, "migrations", "001_install.sql"), "w") as f:
    f.write(qbe.build_install_query())

Q = {}


def dq(name, limits, glimit):
    q = QueryQueueBuilder().build_dequeue_query(
        batch_size=10,
        entrypoints=["a", "b"],
        concurrency_limits=limits,
        queue_manager_id=uuid.UUID(int=0),
        global_concurrency_limit=glimit,
        heartbeat_timeout=timedelta(seconds=30),
    )
    Q[name] = q.sql


dq("dequeue_plain", [0, 0], None)
dq("dequeue_capacity", [2, 0], None)
dq("dequeue_budget", [0, 0], 5)
dq("dequeue_capacity_budget", [2, 0], 5)
for oc in ("raise", "skip", "update_priority"):
    Q["enqueue_" + oc] = qbq.build_enqueue_query(oc)
Q["clear_queue"] = qbq.build_delete_from_queue_query()
Q["log_jobs"] = qbq.build_log_job_query()
Q["aggregate_log_locked"] = qbq.build_aggregate_log_data_to_statistics_query(advisory_lock=True)
Q["aggregate_log"] = qbq.build_aggregate_log_data_to_statistics_query(advisory_lock=False)
Q["retry_job"] = qbq.build_retry_job_query()
Q["requeue_jobs"] = qbq.build_requeue_jobs_query()
Q["update_heartbeat"] = qbq.build_update_heartbeat_query()
Q["delete_log_statistics"] = qbq.build_delete_from_log_statistics_query()
Q["delete_log"] = qbq.build_delete_log_query()
Q["stale_jobs"] = qbq.build_stale_jobs_query()
Q["job_status"] = qbq.build_job_status_query()
Q["queue_size"] = qbq.build_queue_size_query()
Q["has_queued_work"] = qbq.build_has_queued_work()
Q["insert_schedule"] = qbs.build_insert_schedule_query()
Q["fetch_schedule"] = qbs.build_fetch_schedule_query()
Q["set_schedule_queued"] = qbs.build_set_schedule_queued_query()
Q["update_schedule_heartbeat"] = qbs.build_update_schedule_heartbeat()
Q["delete_schedule"] = qbs.build_delete_schedule_query()
for k, v in Q.items():
    v = v.strip()
    if not v.endswith(";"):
        v += ";"
    with open(os.path.join(out, "queries", f"{k}.sql"), "w") as f:
        f.write(v + "\n")
