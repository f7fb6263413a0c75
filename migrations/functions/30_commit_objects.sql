-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.

-- Group commit in one round trip (DESIGN.md §5): a shard's whole batch of object commits is one
-- call, one dobj.object_commit per object. Each object's fencing UPDATE comes first; a fenced
-- object (0 rows) is skipped with nothing of it written.
--
-- The commit also fences on the writer's own lease (DESIGN.md §7): the lease check comes first.
-- The batch entry UPDATE (ObjectStore::enter) checks the same.

-- Every earlier signature goes first: a changed parameter list is a new overload in PostgreSQL,
-- and a stale overload must not linger beside the new one. The type goes with them (only these
-- functions use it), so a changed type is re-created here too.
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'dobj'
              AND p.proname IN ('commit_objects', 'commit_objects_together', 'check_commit_lease')
  LOOP
    EXECUTE format('DROP FUNCTION %s', f);
  END LOOP;
END $$;
DROP TYPE IF EXISTS dobj.object_commit;

-- One object's commit (store::CommitBatch builds them).
--   entered:    it ran SQL in this transaction and was fenced then (ObjectStore::enter);
--   has_schema: `schema` exists; otherwise `schema` is the name its first write takes from the
--               pool of ready schemas;
--   delete_all: every key goes before put_keys/put_values are written; del_keys: these go;
--   alarm_op:   0 keep, 1 set to alarm_us, 2 delete, 3 delete if still due at alarm_us (the alarm
--               turn that fired it); times are microseconds since the Unix epoch, exact both
--               ways; alarm_trace: the traceparent of the turn that set it ('' for none), which
--               the timer sends with it.
CREATE TYPE dobj.object_commit AS (
  class text, id text, epoch bigint, schema text, has_schema boolean, entered boolean,
  delete_all boolean, put_keys text[], put_values bytea[], del_keys text[],
  alarm_op int, alarm_us bigint, alarm_trace text);

-- A worker whose lease has run out in the database commits nothing, not even objects no one has
-- taken yet (DESIGN.md §4): raises DOB01, which fails the whole transaction, so nothing of it is
-- applied. Every commit statement calls it (here, and store::PreparedCommits' statements).
CREATE FUNCTION dobj.check_commit_lease(p_owner bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM dobj.workers w
                  WHERE w.id = p_owner AND w.state <> 'stopped'
                    AND w.lease_until > clock_timestamp()) THEN
    RAISE EXCEPTION 'worker %: lease has run out; nothing committed', p_owner
      USING ERRCODE = 'DOB01';
  END IF;
  RETURN true;
END $$;

CREATE FUNCTION dobj.commit_objects_together(p_owner bigint, p_objects dobj.object_commit[])
RETURNS TABLE(idx int, committed boolean, object_schema text)
LANGUAGE plpgsql AS $$
DECLARE
  o dobj.object_commit;
  has_puts boolean;
  schema text;
  held boolean[];  -- held[i]: object i's fence held (an entered object was fenced before)
  fenced bigint[];
  pos bigint;
BEGIN
  PERFORM dobj.check_commit_lease(p_owner);
  -- Every fencing UPDATE in one statement. An entered object was fenced when it entered; this
  -- transaction holds its row since. Each object is looked up by its primary key inside a
  -- LATERAL subquery, so that no plan can do anything else: with `owner = p_owner` as a filter
  -- of the join, statistics taken while the objects were released ("no object has this
  -- owner") made the planner scan dobj.objects once for every object of the batch (an alarm
  -- burst's commit of 4,096 objects over 100,000 ran into the statement timeout), or use the
  -- owner index there was until migration 0019 (3 ms per request with 10,000 objects). The
  -- rows found are updated by their ctid (a TID scan); a row updated meanwhile (another worker
  -- claimed it) has moved, so the object counts as fenced, which it is.
  -- `held` is read by position below (held[pos] := true is in place for an array variable): a
  -- search of the fenced list per object made a batch of 4,096 cost 16 million comparisons, and
  -- a join of the list with the batch could plan as a nested loop just as well.
  WITH f AS (
    UPDATE dobj.objects t SET version = t.version + 1, last_active_at = now()
      FROM (SELECT u.ordinality AS n, k.row
              FROM unnest(p_objects) WITH ORDINALITY AS u
             CROSS JOIN LATERAL (
               SELECT ctid AS row FROM dobj.objects x
                WHERE x.class = u.class AND x.id = u.id AND x.owner IS NOT DISTINCT FROM p_owner
                  AND x.epoch = u.epoch
                LIMIT 1) k
             WHERE NOT u.entered) s
     WHERE t.ctid = s.row
    RETURNING s.n)
  SELECT array_agg(f.n) INTO fenced FROM f;
  held := array_fill(false, ARRAY[coalesce(cardinality(p_objects), 0)]);
  FOREACH pos IN ARRAY coalesce(fenced, '{}') LOOP
    held[pos] := true;
  END LOOP;
  -- The alarms, one statement per kind for the whole batch rather than one per object (an alarm
  -- burst commits thousands of alarm turns at once, each deleting its alarm).
  DELETE FROM dobj.alarms a USING unnest(p_objects) WITH ORDINALITY AS u
   WHERE (u.entered OR held[u.ordinality]) AND u.alarm_op IN (2, 3)
     AND a.class = u.class AND a.id = u.id
     AND (u.alarm_op = 2 OR a.due_at = timestamptz 'epoch' + u.alarm_us * interval '1 microsecond');
  INSERT INTO dobj.alarms (class, id, due_at, traceparent)
  SELECT u.class, u.id, timestamptz 'epoch' + u.alarm_us * interval '1 microsecond',
         nullif(u.alarm_trace, '')
    FROM unnest(p_objects) WITH ORDINALITY AS u
   WHERE (u.entered OR held[u.ordinality]) AND u.alarm_op = 1
  ON CONFLICT (class, id) DO UPDATE
    SET due_at = EXCLUDED.due_at, retry_count = 0, next_attempt_at = NULL, claimed_by = NULL,
        claimed_until = NULL, set_at = now(), last_error = NULL,
        traceparent = EXCLUDED.traceparent;
  idx := 0;
  FOREACH o IN ARRAY coalesce(p_objects, '{}') LOOP
    idx := idx + 1;
    IF NOT (o.entered OR held[idx]) THEN
      committed := false;
      object_schema := CASE WHEN o.has_schema THEN o.schema END;
      RETURN NEXT;
      CONTINUE;
    END IF;
    committed := true;
    schema := o.schema;
    has_puts := cardinality(o.put_keys) > 0;
    IF NOT (o.has_schema OR o.entered) THEN
      IF NOT has_puts THEN  -- nothing stored yet, so nothing to delete either
        object_schema := NULL; RETURN NEXT;
        CONTINUE;
      END IF;
      schema := dobj.take_object_schema(o.schema);
      UPDATE dobj.objects SET schema_name = schema WHERE class = o.class AND id = o.id;
    END IF;
    IF o.delete_all THEN
      EXECUTE format('DELETE FROM %I.kv', schema);
    ELSIF cardinality(o.del_keys) > 0 THEN
      EXECUTE format('DELETE FROM %I.kv WHERE key = ANY($1)', schema) USING o.del_keys;
    END IF;
    IF cardinality(o.put_keys) = 1 THEN
      -- One key, the common turn: VALUES plans in about 60% of the unnest form's time.
      EXECUTE format('INSERT INTO %I.kv (key, value) VALUES ($1, $2) '
                     'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', schema)
        USING o.put_keys[1], o.put_values[1];
    ELSIF has_puts THEN
      EXECUTE format('INSERT INTO %I.kv (key, value) SELECT * FROM unnest($1::text[], $2::bytea[]) '
                     'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', schema)
        USING o.put_keys, o.put_values;
    ELSIF o.delete_all AND NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = schema AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
           AND c.relname <> 'kv') THEN
      -- No keys and no tables of its own left: the object is deleted, its schema goes.
      EXECUTE format('DROP SCHEMA %I CASCADE', schema);
      UPDATE dobj.objects SET schema_name = NULL WHERE class = o.class AND id = o.id;
      object_schema := NULL; RETURN NEXT;
      CONTINUE;
    END IF;
    object_schema := schema; RETURN NEXT;
  END LOOP;
END $$;

-- One object's bad commit no longer fails its whole batch (issue "Hostile clients" 4):
-- dobj.commit_objects first commits the batch as before, in a subtransaction; if that fails
-- for any reason but the worker's lease (DOB01) or a cancel (statement timeout), it commits the
-- objects one by one, each in its own subtransaction, and reports an object whose commit failed
-- as `rejected` (with the error's text) instead of failing the others. An object that ran SQL
-- in this transaction cannot be separated from its writes, so its failure still fails the
-- whole batch (nothing of it is applied, every request gets "not applied").
CREATE FUNCTION dobj.commit_objects(p_owner bigint, p_objects dobj.object_commit[])
RETURNS TABLE(idx int, committed boolean, object_schema text, rejected text)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  done_idx int[];
  done_committed boolean[];
  done_schema text[];
  o dobj.object_commit;
BEGIN
  BEGIN
    SELECT array_agg(t.idx ORDER BY t.idx), array_agg(t.committed ORDER BY t.idx),
           array_agg(t.object_schema ORDER BY t.idx)
      INTO done_idx, done_committed, done_schema
      FROM dobj.commit_objects_together(p_owner, p_objects) t;
    RETURN QUERY SELECT u.i, u.c, u.s, NULL::text
                   FROM unnest(done_idx, done_committed, done_schema) AS u(i, c, s);
    RETURN;
  EXCEPTION
    WHEN SQLSTATE 'DOB01' THEN RAISE;
    WHEN OTHERS THEN
      IF coalesce(cardinality(p_objects), 0) <= 1 AND NOT coalesce(p_objects[1].entered, false)
      THEN
        idx := 1; committed := false; rejected := SQLERRM;
        object_schema := CASE WHEN p_objects[1].has_schema THEN p_objects[1].schema END;
        RETURN NEXT;
        RETURN;
      END IF;
  END;
  idx := 0;
  FOREACH o IN ARRAY p_objects LOOP
    idx := idx + 1;
    BEGIN
      SELECT t.committed, t.object_schema INTO r
        FROM dobj.commit_objects_together(p_owner, ARRAY[o]) t;
      committed := r.committed; object_schema := r.object_schema; rejected := NULL;
      RETURN NEXT;
    EXCEPTION
      WHEN SQLSTATE 'DOB01' THEN RAISE;
      WHEN OTHERS THEN
        -- Its SQL writes are in this transaction already: they cannot go without the rest.
        IF o.entered THEN RAISE; END IF;
        committed := false; rejected := SQLERRM;
        object_schema := CASE WHEN o.has_schema THEN o.schema END;
        RETURN NEXT;
    END;
  END LOOP;
END $$;
