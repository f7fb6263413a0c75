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
  unfenced int[];
  alarm_at timestamptz;
BEGIN
  PERFORM dobj.check_commit_lease(p_owner);
  -- Every fencing UPDATE in one statement. An entered object was fenced when it entered; this
  -- transaction holds its row since. The owner is compared with IS NOT DISTINCT FROM (p_owner is
  -- never NULL) so that no plan can look rows up by owner: statistics taken while the objects
  -- were released say "few rows per owner", and a plan scanning all of a worker's objects per
  -- commit (objects_owner) cost 3 ms per request with 10,000 active objects. By primary key
  -- it is one row per object, always.
  WITH f AS (
    UPDATE dobj.objects t SET version = t.version + 1, last_active_at = now()
      FROM unnest(p_objects) WITH ORDINALITY AS u
     WHERE NOT u.entered AND t.class = u.class AND t.id = u.id
       AND t.owner IS NOT DISTINCT FROM p_owner AND t.epoch = u.epoch
    RETURNING u.ordinality::int AS n)
  SELECT coalesce(array_agg(n), '{}') INTO unfenced FROM f;
  idx := 0;
  FOREACH o IN ARRAY coalesce(p_objects, '{}') LOOP
    idx := idx + 1;
    IF NOT (o.entered OR idx = ANY(unfenced)) THEN
      committed := false;
      object_schema := CASE WHEN o.has_schema THEN o.schema END;
      RETURN NEXT;
      CONTINUE;
    END IF;
    committed := true;
    schema := o.schema;
    alarm_at := timestamptz 'epoch' + o.alarm_us * interval '1 microsecond';
    IF o.alarm_op = 1 THEN
      INSERT INTO dobj.alarms (class, id, due_at, traceparent)
      VALUES (o.class, o.id, alarm_at, nullif(o.alarm_trace, ''))
      ON CONFLICT (class, id) DO UPDATE
        SET due_at = EXCLUDED.due_at, retry_count = 0, next_attempt_at = NULL, claimed_by = NULL,
            claimed_until = NULL, set_at = now(), last_error = NULL,
            traceparent = EXCLUDED.traceparent;
    ELSIF o.alarm_op = 2 THEN
      DELETE FROM dobj.alarms WHERE class = o.class AND id = o.id;
    ELSIF o.alarm_op = 3 THEN
      DELETE FROM dobj.alarms WHERE class = o.class AND id = o.id AND due_at = alarm_at;
    END IF;
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
