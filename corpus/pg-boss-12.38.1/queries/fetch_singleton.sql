WITH
      
      
      
      next AS (
        SELECT j.id, j.singleton_key
        FROM pgboss.job j
        WHERE j.name = 'q'
          AND j.state < 'active'
          AND NOT j.blocked
          AND j.start_after <= pgboss.job_now()
          AND NOT EXISTS (
            SELECT 1
            FROM pgboss.job singleton_probe
            WHERE singleton_probe.name = j.name
              AND singleton_probe.state = 'active'
              AND singleton_probe.policy = 'singleton'
              AND COALESCE(singleton_probe.singleton_key, '') = COALESCE(j.singleton_key, '')
          )
        ORDER BY j.priority desc, j.created_on
        LIMIT 5
        FOR UPDATE OF j SKIP LOCKED
      )
      , singleton_ranking AS (
        SELECT id, 
          row_number() OVER (PARTITION BY singleton_key) as singleton_rn
        FROM next
      )
      
      UPDATE pgboss.job j SET
        state = 'active',
        started_on = pgboss.job_now(),
        heartbeat_on = pgboss.job_now(),
        retry_count = CASE WHEN started_on IS NOT NULL THEN retry_count + 1 ELSE retry_count END
      FROM singleton_ranking
      WHERE name = 'q' AND j.id = singleton_ranking.id
      AND singleton_rn = 1
      
      RETURNING j.id, name, data, retry_count as "retryCount", expire_seconds as "expireInSeconds", heartbeat_seconds as "heartbeatSeconds", group_id as "groupId", group_tier as "groupTier";
