WITH results as (
      UPDATE pgboss.job
      SET completed_on = pgboss.job_now(),
        state = 'cancelled'
      WHERE name = $1
        AND id = ANY($2::uuid[])
        AND state < 'completed'
        AND state = 'active'
        AND (id::text || ':' || retry_count::text) = ANY($3::text[])
      RETURNING id
    )
    SELECT COUNT(*), COALESCE(array_agg(id), '{}'::uuid[]) AS ids FROM results;
