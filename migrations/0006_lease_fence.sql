-- Every answer true under partial failures (issue "Wave 2 · 1/8").
-- 0. A worker cut off from NATS gives its partitions away: while it is not available it does not
--    count towards the others' fair share (dobj.partition_table's claim), though its lease lives.
ALTER TABLE dobj.workers ADD COLUMN available boolean NOT NULL DEFAULT true;

-- 1. The commit also fences on the writer's own lease (DESIGN.md §7): dobj.commit_objects as in
--    0004, with the lease check first. The batch entry UPDATE (ObjectStore::enter) checks the same.
CREATE OR REPLACE FUNCTION dobj.commit_objects(
  p_owner bigint, p_class text[], p_id text[], p_epoch bigint[], p_schema text[],
  p_has_schema boolean[], p_entered boolean[], p_delete_all boolean[],
  p_put_from int[], p_put_to int[], p_put_key text[], p_put_value bytea[],
  p_del_from int[], p_del_to int[], p_del_key text[],
  p_alarm_op int[], p_alarm_us bigint[])
RETURNS TABLE(idx int, committed boolean, schema_exists boolean)
LANGUAGE plpgsql AS $$
DECLARE
  has_puts boolean;
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
  -- transaction holds its row since.
  WITH f AS (
    UPDATE dobj.objects o SET version = o.version + 1, last_active_at = now()
      FROM unnest(p_class, p_id, p_epoch, p_entered) WITH ORDINALITY AS u(c, i, e, entered, n)
     WHERE NOT u.entered AND o.class = u.c AND o.id = u.i AND o.owner = p_owner AND o.epoch = u.e
    RETURNING u.n)
  SELECT coalesce(array_agg(n), '{}') INTO unfenced FROM f;
  FOR i IN 1 .. coalesce(array_length(p_class, 1), 0) LOOP
    idx := i;
    IF NOT (p_entered[i] OR i = ANY(unfenced)) THEN
      committed := false; schema_exists := p_has_schema[i]; RETURN NEXT;
      CONTINUE;
    END IF;
    committed := true;
    alarm_at := timestamptz 'epoch' + p_alarm_us[i] * interval '1 microsecond';
    IF p_alarm_op[i] = 1 THEN
      INSERT INTO dobj.alarms (class, id, due_at) VALUES (p_class[i], p_id[i], alarm_at)
      ON CONFLICT (class, id) DO UPDATE
        SET due_at = EXCLUDED.due_at, retry_count = 0, next_attempt_at = NULL, claimed_by = NULL,
            claimed_until = NULL, set_at = now(), last_error = NULL;
    ELSIF p_alarm_op[i] = 2 THEN
      DELETE FROM dobj.alarms WHERE class = p_class[i] AND id = p_id[i];
    ELSIF p_alarm_op[i] = 3 THEN
      DELETE FROM dobj.alarms WHERE class = p_class[i] AND id = p_id[i] AND due_at = alarm_at;
    END IF;
    has_puts := p_put_to[i] >= p_put_from[i];
    IF NOT (p_has_schema[i] OR p_entered[i]) THEN
      IF NOT has_puts THEN  -- nothing stored yet, so nothing to delete either
        schema_exists := false; RETURN NEXT;
        CONTINUE;
      END IF;
      PERFORM dobj.create_object_schema(p_schema[i]);
      UPDATE dobj.objects SET schema_name = p_schema[i] WHERE class = p_class[i] AND id = p_id[i];
    END IF;
    IF p_delete_all[i] THEN
      EXECUTE format('DELETE FROM %I.kv', p_schema[i]);
    ELSIF p_del_to[i] >= p_del_from[i] THEN
      EXECUTE format('DELETE FROM %I.kv WHERE key = ANY($1)', p_schema[i])
        USING p_del_key[p_del_from[i] : p_del_to[i]];
    END IF;
    IF has_puts THEN
      EXECUTE format('INSERT INTO %I.kv (key, value) SELECT * FROM unnest($1::text[], $2::bytea[]) '
                     'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', p_schema[i])
        USING p_put_key[p_put_from[i] : p_put_to[i]], p_put_value[p_put_from[i] : p_put_to[i]];
    ELSIF p_delete_all[i] AND NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = p_schema[i] AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
           AND c.relname <> 'kv') THEN
      -- No keys and no tables of its own left: the object is deleted, its schema goes.
      EXECUTE format('DROP SCHEMA %I CASCADE', p_schema[i]);
      UPDATE dobj.objects SET schema_name = NULL WHERE class = p_class[i] AND id = p_id[i];
      schema_exists := false; RETURN NEXT;
      CONTINUE;
    END IF;
    schema_exists := true; RETURN NEXT;
  END LOOP;
END $$;
