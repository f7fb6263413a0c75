-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.

-- Group commit in one round trip (DESIGN.md §5): a shard's whole batch of object commits is one
-- call. Each object's fencing UPDATE comes first; a fenced object (0 rows) is skipped with
-- nothing of it written. Writes are passed flattened: object i's puts are
-- p_put_key[p_put_from[i] : p_put_to[i]] (empty when to < from), likewise its deletes.
--
-- Alarm operations: p_alarm_op 0 keep, 1 set to p_alarm_us, 2 delete, 3 delete if still due at
-- p_alarm_us (the alarm turn that fired it). Times are microseconds since the Unix epoch, exact
-- both ways. p_alarm_trace: the traceparent of the turn that set the alarm ('' for none), which
-- the timer sends with it.
--
-- The commit also fences on the writer's own lease (DESIGN.md §7): the lease check comes first.
-- The batch entry UPDATE (ObjectStore::enter) checks the same.

-- Every earlier signature goes first: a changed parameter list is a new overload in PostgreSQL,
-- and a stale overload must not linger beside the new one.
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'dobj' AND p.proname IN ('commit_objects', 'commit_objects_together')
  LOOP
    EXECUTE format('DROP FUNCTION %s', f);
  END LOOP;
END $$;

CREATE FUNCTION dobj.commit_objects_together(
  p_owner bigint, p_class text[], p_id text[], p_epoch bigint[], p_schema text[],
  p_has_schema boolean[], p_entered boolean[], p_delete_all boolean[],
  p_put_from int[], p_put_to int[], p_put_key text[], p_put_value bytea[],
  p_del_from int[], p_del_to int[], p_del_key text[],
  p_alarm_op int[], p_alarm_us bigint[], p_alarm_trace text[])
RETURNS TABLE(idx int, committed boolean, object_schema text)
LANGUAGE plpgsql AS $$
DECLARE
  has_puts boolean;
  schema text;
  unfenced int[];
  alarm_at timestamptz;
BEGIN
  -- A worker whose lease has run out in the database commits nothing, not even objects no one
  -- has taken yet (DESIGN.md §4): the whole transaction fails, so nothing of it is applied.
  IF NOT EXISTS (SELECT 1 FROM dobj.workers w
                  WHERE w.id = p_owner AND w.state <> 'stopped'
                    AND w.lease_until > clock_timestamp()) THEN
    RAISE EXCEPTION 'worker %: lease has run out; nothing committed', p_owner
      USING ERRCODE = 'DOB01';
  END IF;
  -- Every fencing UPDATE in one statement. An entered object was fenced when it entered; this
  -- transaction holds its row since. The owner is compared with IS NOT DISTINCT FROM (p_owner is
  -- never NULL) so that no plan can look rows up by owner: statistics taken while the objects
  -- were released say "few rows per owner", and a plan scanning all of a worker's objects per
  -- commit (objects_owner) cost 3 ms per request with 10,000 active objects. By primary key
  -- it is one row per object, always.
  WITH f AS (
    UPDATE dobj.objects o SET version = o.version + 1, last_active_at = now()
      FROM unnest(p_class, p_id, p_epoch, p_entered) WITH ORDINALITY AS u(c, i, e, entered, n)
     WHERE NOT u.entered AND o.class = u.c AND o.id = u.i
       AND o.owner IS NOT DISTINCT FROM p_owner AND o.epoch = u.e
    RETURNING u.n)
  SELECT coalesce(array_agg(n), '{}') INTO unfenced FROM f;
  FOR i IN 1 .. coalesce(array_length(p_class, 1), 0) LOOP
    idx := i;
    IF NOT (p_entered[i] OR i = ANY(unfenced)) THEN
      committed := false;
      object_schema := CASE WHEN p_has_schema[i] THEN p_schema[i] END;
      RETURN NEXT;
      CONTINUE;
    END IF;
    committed := true;
    schema := p_schema[i];
    alarm_at := timestamptz 'epoch' + p_alarm_us[i] * interval '1 microsecond';
    IF p_alarm_op[i] = 1 THEN
      INSERT INTO dobj.alarms (class, id, due_at, traceparent)
      VALUES (p_class[i], p_id[i], alarm_at, nullif(p_alarm_trace[i], ''))
      ON CONFLICT (class, id) DO UPDATE
        SET due_at = EXCLUDED.due_at, retry_count = 0, next_attempt_at = NULL, claimed_by = NULL,
            claimed_until = NULL, set_at = now(), last_error = NULL,
            traceparent = EXCLUDED.traceparent;
    ELSIF p_alarm_op[i] = 2 THEN
      DELETE FROM dobj.alarms WHERE class = p_class[i] AND id = p_id[i];
    ELSIF p_alarm_op[i] = 3 THEN
      DELETE FROM dobj.alarms WHERE class = p_class[i] AND id = p_id[i] AND due_at = alarm_at;
    END IF;
    has_puts := p_put_to[i] >= p_put_from[i];
    IF NOT (p_has_schema[i] OR p_entered[i]) THEN
      IF NOT has_puts THEN  -- nothing stored yet, so nothing to delete either
        object_schema := NULL; RETURN NEXT;
        CONTINUE;
      END IF;
      schema := dobj.take_object_schema(p_schema[i]);
      UPDATE dobj.objects SET schema_name = schema WHERE class = p_class[i] AND id = p_id[i];
    END IF;
    IF p_delete_all[i] THEN
      EXECUTE format('DELETE FROM %I.kv', schema);
    ELSIF p_del_to[i] >= p_del_from[i] THEN
      EXECUTE format('DELETE FROM %I.kv WHERE key = ANY($1)', schema)
        USING p_del_key[p_del_from[i] : p_del_to[i]];
    END IF;
    IF has_puts AND p_put_to[i] = p_put_from[i] THEN
      -- One key, the common turn: VALUES plans in about 60% of the unnest form's time.
      EXECUTE format('INSERT INTO %I.kv (key, value) VALUES ($1, $2) '
                     'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', schema)
        USING p_put_key[p_put_from[i]], p_put_value[p_put_from[i]];
    ELSIF has_puts THEN
      EXECUTE format('INSERT INTO %I.kv (key, value) SELECT * FROM unnest($1::text[], $2::bytea[]) '
                     'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', schema)
        USING p_put_key[p_put_from[i] : p_put_to[i]], p_put_value[p_put_from[i] : p_put_to[i]];
    ELSIF p_delete_all[i] AND NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = schema AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
           AND c.relname <> 'kv') THEN
      -- No keys and no tables of its own left: the object is deleted, its schema goes.
      EXECUTE format('DROP SCHEMA %I CASCADE', schema);
      UPDATE dobj.objects SET schema_name = NULL WHERE class = p_class[i] AND id = p_id[i];
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
CREATE FUNCTION dobj.commit_objects(
  p_owner bigint, p_class text[], p_id text[], p_epoch bigint[], p_schema text[],
  p_has_schema boolean[], p_entered boolean[], p_delete_all boolean[],
  p_put_from int[], p_put_to int[], p_put_key text[], p_put_value bytea[],
  p_del_from int[], p_del_to int[], p_del_key text[],
  p_alarm_op int[], p_alarm_us bigint[], p_alarm_trace text[])
RETURNS TABLE(idx int, committed boolean, object_schema text, rejected text)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  done_idx int[];
  done_committed boolean[];
  done_schema text[];
BEGIN
  BEGIN
    SELECT array_agg(t.idx ORDER BY t.idx), array_agg(t.committed ORDER BY t.idx),
           array_agg(t.object_schema ORDER BY t.idx)
      INTO done_idx, done_committed, done_schema
      FROM dobj.commit_objects_together(p_owner, p_class, p_id, p_epoch, p_schema, p_has_schema,
                                        p_entered, p_delete_all, p_put_from, p_put_to, p_put_key,
                                        p_put_value, p_del_from, p_del_to, p_del_key, p_alarm_op,
                                        p_alarm_us, p_alarm_trace) t;
    RETURN QUERY SELECT u.i, u.c, u.s, NULL::text
                   FROM unnest(done_idx, done_committed, done_schema) AS u(i, c, s);
    RETURN;
  EXCEPTION
    WHEN SQLSTATE 'DOB01' THEN RAISE;
    WHEN OTHERS THEN
      IF coalesce(array_length(p_class, 1), 0) <= 1 AND NOT coalesce(p_entered[1], false) THEN
        idx := 1; committed := false; rejected := SQLERRM;
        object_schema := CASE WHEN p_has_schema[1] THEN p_schema[1] END;
        RETURN NEXT;
        RETURN;
      END IF;
  END;
  FOR i IN 1 .. coalesce(array_length(p_class, 1), 0) LOOP
    BEGIN
      SELECT t.committed, t.object_schema INTO r
        FROM dobj.commit_objects_together(
               p_owner, ARRAY[p_class[i]], ARRAY[p_id[i]], ARRAY[p_epoch[i]], ARRAY[p_schema[i]],
               ARRAY[p_has_schema[i]], ARRAY[p_entered[i]], ARRAY[p_delete_all[i]],
               ARRAY[1], ARRAY[p_put_to[i] - p_put_from[i] + 1],
               p_put_key[p_put_from[i] : p_put_to[i]], p_put_value[p_put_from[i] : p_put_to[i]],
               ARRAY[1], ARRAY[p_del_to[i] - p_del_from[i] + 1],
               p_del_key[p_del_from[i] : p_del_to[i]], ARRAY[p_alarm_op[i]],
               ARRAY[p_alarm_us[i]], ARRAY[p_alarm_trace[i]]) t;
      idx := i; committed := r.committed; object_schema := r.object_schema; rejected := NULL;
      RETURN NEXT;
    EXCEPTION
      WHEN SQLSTATE 'DOB01' THEN RAISE;
      WHEN OTHERS THEN
        -- Its SQL writes are in this transaction already: they cannot go without the rest.
        IF p_entered[i] THEN RAISE; END IF;
        idx := i; committed := false; rejected := SQLERRM;
        object_schema := CASE WHEN p_has_schema[i] THEN p_schema[i] END;
        RETURN NEXT;
    END;
  END LOOP;
END $$;
