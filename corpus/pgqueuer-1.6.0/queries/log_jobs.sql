WITH job_status AS (
            SELECT
                UNNEST($1::bigint[])                            AS id,
                UNNEST($2::pgqueuer_status[]) AS status,
                UNNEST($3::JSONB[])                             AS traceback
        ), deleted AS (
            DELETE FROM pgqueuer
            WHERE id = ANY(SELECT js.id FROM job_status js WHERE js.status != 'failed')
            RETURNING id, entrypoint, priority
        ), held AS (
            UPDATE pgqueuer
            SET status = 'failed', updated = NOW(), queue_manager_id = NULL
            WHERE id = ANY(SELECT js.id FROM job_status js WHERE js.status = 'failed')
            RETURNING id, entrypoint, priority
        ), all_resolved AS (
            SELECT id, entrypoint, priority FROM deleted
            UNION ALL
            SELECT id, entrypoint, priority FROM held
        ), merged AS (
            SELECT
                job_status.id           AS id,
                job_status.status       AS status,
                job_status.traceback    AS traceback,
                all_resolved.entrypoint AS entrypoint,
                all_resolved.priority   AS priority
            FROM job_status
            INNER JOIN all_resolved
                ON all_resolved.id = job_status.id
        )
        INSERT INTO pgqueuer_log (
            job_id,
            status,
            entrypoint,
            priority,
            traceback
        )
        SELECT id, status, entrypoint, priority, traceback FROM merged;
