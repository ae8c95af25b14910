WITH guard AS (
            SELECT pg_try_advisory_xact_lock(hashtext('pgqueuer_statistics')) AS proceed
        ),
        log_aggregation AS (
            SELECT
                entrypoint,
                priority,
                status,
                COUNT(*) AS count,
                date_trunc('sec', created) AS created
            FROM pgqueuer_log, guard
            WHERE NOT aggregated AND guard.proceed
            GROUP BY entrypoint, priority, status, date_trunc('sec', created)
        ),
        updated_logs AS (
            UPDATE pgqueuer_log
            SET aggregated = TRUE
            FROM guard
            WHERE NOT aggregated AND guard.proceed
            RETURNING id
        )
        INSERT INTO pgqueuer_statistics (count, created, entrypoint, priority, status)
        SELECT count, created, entrypoint, priority, status
        FROM log_aggregation
        ON CONFLICT (priority, date_trunc('sec'::text, timezone('UTC'::text, created)), status, entrypoint) DO UPDATE SET
            count = pgqueuer_statistics.count + EXCLUDED.count;
