WITH results AS (
      UPDATE pgboss.job
      SET heartbeat_on = pgboss.job_now()
      WHERE name = $1
        AND id = ANY($2::uuid[])
        AND state = 'active'
        AND state = 'active'
        AND (id::text || ':' || retry_count::text) = ANY($3::text[])
      RETURNING id
    )
    SELECT COUNT(*), COALESCE(array_agg(id), '{}'::uuid[]) AS ids FROM results;
