WITH results AS (
      UPDATE pgboss.job
      SET completed_on = pgboss.job_now(),
        state = 'completed',
        output = $3::jsonb,
        blocked = blocked,
        pending_dependencies = pending_dependencies
      WHERE name = $1
        AND id = ANY($2::uuid[])
        AND state = 'active'
        AND state = 'active'
        AND (id::text || ':' || retry_count::text) = ANY($4::text[])
      RETURNING id
    )
    SELECT COUNT(*), COALESCE(array_agg(id), '{}'::uuid[]) AS ids FROM results;
