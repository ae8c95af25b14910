WITH
      
      active_group_count_map AS MATERIALIZED (
        SELECT COALESCE(jsonb_object_agg(group_id, active_cnt), '{}'::jsonb) as counts
        FROM (
          SELECT group_id, COUNT(*)::int as active_cnt
          FROM pgboss.job
          WHERE name = 'q' AND state = 'active' AND group_id IS NOT NULL
          GROUP BY group_id
        ) active_groups
      ), 
      
      next AS (
        SELECT j.id, j.group_id, j.group_tier, COALESCE(((SELECT counts FROM active_group_count_map) ->> j.group_id)::int, 0) as active_cnt
        FROM pgboss.job j
        WHERE j.name = 'q'
          AND j.state < 'active'
          AND NOT j.blocked
          AND j.start_after <= pgboss.job_now()
          AND (j.group_id IS NULL
            OR COALESCE(((SELECT counts FROM active_group_count_map) ->> j.group_id)::int, 0) < $1::int)
        ORDER BY j.priority desc, j.created_on
        LIMIT 5
        FOR UPDATE OF j SKIP LOCKED
      )
      
      ,
      group_ranking AS (
        SELECT t.id
          , t.group_id
          , t.group_tier
          
          , ROW_NUMBER() OVER (PARTITION BY t.group_id ORDER BY t.id) as group_rn
          , t.active_cnt as active_cnt
        FROM next t
        
      ),
      group_filtered AS (
        SELECT id FROM group_ranking
        WHERE group_id IS NULL
          OR (active_cnt + group_rn) <= $1::int
      )
      UPDATE pgboss.job j SET
        state = 'active',
        started_on = pgboss.job_now(),
        heartbeat_on = pgboss.job_now(),
        retry_count = CASE WHEN started_on IS NOT NULL THEN retry_count + 1 ELSE retry_count END
      
      WHERE name = 'q' AND j.id = ANY (ARRAY(SELECT id FROM group_filtered))
      
      
      RETURNING j.id, name, data, retry_count as "retryCount", expire_seconds as "expireInSeconds", heartbeat_seconds as "heartbeatSeconds", group_id as "groupId", group_tier as "groupTier";
