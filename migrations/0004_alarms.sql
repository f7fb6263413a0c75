-- Alarms (DESIGN.md §6): one per object, written in the object's own commit, fired by dobj-timer.
CREATE TABLE dobj.alarms (
  class text NOT NULL,
  id text NOT NULL,
  due_at timestamptz NOT NULL,  -- as the object set it; the alarm's identity
  retry_count int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,  -- a retry's backoff; NULL: fire at due_at
  claimed_by bigint,            -- a dobj.timers id while a timer holds it in memory
  claimed_until timestamptz,    -- the claim's lease; an expired claim is free again
  set_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  PRIMARY KEY (class, id),
  FOREIGN KEY (class, id) REFERENCES dobj.objects (class, id) ON DELETE CASCADE
);
CREATE INDEX alarms_due ON dobj.alarms ((coalesce(next_attempt_at, due_at)));

CREATE TABLE dobj.dead_alarms (
  class text NOT NULL,
  id text NOT NULL,
  due_at timestamptz NOT NULL,
  retry_count int NOT NULL,
  last_error text,
  died_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dobj.timers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host text NOT NULL,
  pid int NOT NULL,
  version text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'serving' CHECK (state IN ('serving', 'stopped')),
  fired bigint NOT NULL DEFAULT 0
);

-- The commit function learns alarm operations: p_alarm_op 0 keep, 1 set to p_alarm_us,
-- 2 delete, 3 delete if still due at p_alarm_us (the alarm turn that fired it). Times are
-- microseconds since the Unix epoch, exact both ways.
DROP FUNCTION dobj.commit_objects(bigint, text[], text[], bigint[], text[], boolean[], boolean[],
                                  boolean[], int[], int[], text[], bytea[], int[], int[], text[]);
CREATE FUNCTION dobj.commit_objects(
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

CREATE VIEW dobj_admin.alarms AS
SELECT a.class, a.id, a.due_at, a.retry_count, a.next_attempt_at,
       CASE WHEN a.retry_count > 0 THEN 'retrying'
            WHEN a.claimed_by IS NOT NULL AND a.claimed_until > now() THEN 'claimed'
            ELSE 'pending' END AS state,
       a.claimed_by AS timer, greatest(now() - a.due_at, interval '0') AS lateness,
       a.set_at, a.last_error
FROM dobj.alarms a;

CREATE VIEW dobj_admin.dead_alarms AS
SELECT class, id, due_at, retry_count, last_error, died_at, died_at - due_at AS lateness
FROM dobj.dead_alarms;

CREATE VIEW dobj_admin.timers AS
SELECT t.id, t.host, t.pid, t.version, t.state, t.started_at, t.heartbeat_at, t.lease_until,
       (t.state <> 'stopped' AND t.lease_until > now()) AS live, t.fired,
       (SELECT count(*) FROM dobj.alarms a WHERE a.claimed_by = t.id AND a.claimed_until > now())
         AS claimed_alarms
FROM dobj.timers t;

GRANT SELECT ON dobj_admin.alarms, dobj_admin.dead_alarms, dobj_admin.timers TO dobj_reader;

CREATE OR REPLACE VIEW dobj_admin.objects AS
SELECT o.class, o.id, o.p AS partition, o.owner, o.epoch, o.version, o.schema_name,
       o.created_at, o.last_active_at,
       coalesce(o.owner IS NOT NULL AND w.state <> 'stopped' AND w.lease_until > now(), false)
         AS active,
       CASE WHEN o.schema_name IS NULL THEN 0
            ELSE coalesce((SELECT sum(pg_total_relation_size(c.oid))
                           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = o.schema_name AND c.relkind IN ('r', 'm')), 0)
       END::bigint AS size_bytes,
       (SELECT a.due_at FROM dobj.alarms a WHERE a.class = o.class AND a.id = o.id) AS alarm_at
FROM dobj.objects o LEFT JOIN dobj.workers w ON w.id = o.owner;
