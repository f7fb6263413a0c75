-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.
-- The operator surface (DESIGN.md §4): views and dobj_admin.kv(class, id) for dobj_reader.
-- Views of per-object data are built in dobj_local (this database's rows); dobj_admin shows them
-- with a `shard` column, joined in a control database with every linked storage shard's
-- (dobj.link_admin_views, below).

-- The views are dropped and created again (a view's columns cannot change in place); all in
-- one transaction, so a reader sees the old set or the new one. Views of your own built on
-- these would go with them: build them on the dobj tables, or re-create them after a migrate.
DO $$
DECLARE
  v text;
BEGIN
  FOR v IN SELECT format('%I.%I', schemaname, viewname) FROM pg_views
           WHERE schemaname IN ('dobj_admin', 'dobj_local')
  LOOP
    EXECUTE format('DROP VIEW IF EXISTS %s CASCADE', v);
  END LOOP;
END $$;

-- How many objects a worker holds where they live: the control database's, or (storage_shard
-- set) its shard's through the linked views; NULL when that shard is not linked or does not
-- answer, so that one shard down never hides the other workers. SECURITY DEFINER: the shards'
-- foreign tables are read with the linking role's user mapping (as dobj_admin.kv()).
CREATE OR REPLACE FUNCTION dobj_admin.active_objects(worker bigint, storage_shard text)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  n bigint;
BEGIN
  IF storage_shard IS NULL THEN
    RETURN (SELECT count(*) FROM dobj.objects o WHERE o.owner = worker);
  END IF;
  IF to_regclass(format('%I.objects', 'dobj_shard_' || storage_shard)) IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format('SELECT count(*) FROM %I.objects WHERE owner = $1', 'dobj_shard_' || storage_shard)
    INTO n USING worker;
  RETURN n;
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION dobj_admin.active_objects(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dobj_admin.active_objects(bigint, text) TO dobj_reader;

-- Per-worker counts, with what is draining.
CREATE VIEW dobj_admin.workers AS
SELECT w.id, w.host, w.pid, w.version, w.state, w.started_at, w.heartbeat_at, w.lease_until,
       (w.state <> 'stopped' AND w.lease_until > now()) AS live,
       (SELECT count(*) FROM dobj.partitions p WHERE p.owner = w.id) AS partitions,
       dobj_admin.active_objects(w.id, w.storage_shard) AS active_objects,
       (SELECT max(l.at) FROM dobj.partition_log l WHERE l.worker = w.id) AS last_handover_at,
       w.metrics_addr
FROM dobj.workers w;

CREATE VIEW dobj_admin.partitions AS
SELECT p.p AS partition, p.owner, p.epoch, p.claimed_at,
       coalesce(w.state <> 'stopped' AND w.lease_until > now(), false) AS owner_live
FROM dobj.partitions p LEFT JOIN dobj.workers w ON w.id = p.owner;

CREATE VIEW dobj_local.objects AS
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

CREATE VIEW dobj_local.alarms AS
SELECT a.class, a.id, a.due_at, a.retry_count, a.next_attempt_at,
       CASE WHEN a.retry_count > 0 THEN 'retrying'
            WHEN a.claimed_by IS NOT NULL AND a.claimed_until > now() THEN 'claimed'
            ELSE 'pending' END AS state,
       a.claimed_by AS timer, greatest(now() - a.due_at, interval '0') AS lateness,
       a.set_at, a.last_error, a.traceparent
FROM dobj.alarms a;

CREATE VIEW dobj_local.dead_alarms AS
SELECT class, id, due_at, retry_count, last_error, died_at, died_at - due_at AS lateness,
       traceparent
FROM dobj.dead_alarms;

CREATE VIEW dobj_local.timers AS
SELECT t.id, t.host, t.pid, t.version, t.state, t.started_at, t.heartbeat_at, t.lease_until,
       (t.state <> 'stopped' AND t.lease_until > now()) AS live, t.fired,
       (SELECT count(*) FROM dobj.alarms a WHERE a.claimed_by = t.id AND a.claimed_until > now())
         AS claimed_alarms,
       t.metrics_addr
FROM dobj.timers t;

CREATE VIEW dobj_admin.handovers AS
SELECT l.at, l.p AS partition, l.event, l.worker, l.previous_owner, l.epoch
FROM dobj.partition_log l;

CREATE VIEW dobj_local.idempotency_keys AS
SELECT class, id, key, ok, created_at, expires_at, length(reply) AS reply_bytes, pending
FROM dobj.idempotency;

-- One row per class hosted by a live worker. methods: the union over its workers; when workers
-- disagree (a rolling deploy) same_methods is false and a method may answer no_such_method on
-- some of them.
CREATE VIEW dobj_admin.classes AS
SELECT c.class,
       (SELECT array_agg(DISTINCT m ORDER BY m)
        FROM dobj.worker_classes c2 JOIN dobj.workers w2 ON w2.id = c2.worker,
             unnest(c2.methods) m
        WHERE c2.class = c.class AND w2.state <> 'stopped' AND w2.lease_until > now()) AS methods,
       count(DISTINCT c.methods) = 1 AS same_methods,
       array_agg(w.id ORDER BY w.id) AS workers,
       array_agg(DISTINCT w.version) AS versions
FROM dobj.worker_classes c JOIN dobj.workers w ON w.id = c.worker
WHERE w.state <> 'stopped' AND w.lease_until > now()
GROUP BY c.class;

-- Durable messages (ctx.send), events (ctx.publish_durable, kind 'event', the topic in
-- method) and awaited calls (ctx.call, kind 'call', until the caller's continuation has the
-- outcome) not done yet; the body decoded, and a call's route (continuation, deadline).
CREATE VIEW dobj_local.outbox AS
SELECT o.sender_class, o.sender_id, o.seq, o.kind, o.target_class, o.target_id, o.method,
       dobj_admin.msgpack_to_jsonb(o.body) AS argument, o.attempts, now() - o.created_at AS age,
       o.next_attempt_at, o.last_error, o.traceparent, o.p AS partition,
       dobj_admin.msgpack_to_jsonb(o.call) AS call
FROM dobj.outbox o;

-- Messages the target refused for good, or that found no taker in time (never retried).
CREATE VIEW dobj_local.dead_messages AS
SELECT d.sender_class, d.sender_id, d.seq, d.kind, d.target_class, d.target_id, d.method,
       dobj_admin.msgpack_to_jsonb(d.body) AS argument, d.attempts, d.error_code, d.error,
       d.created_at, d.died_at, d.traceparent
FROM dobj.dead_messages d;

-- What `--audit-commits` recorded (tests and chaos runs: one row per object commit).
CREATE VIEW dobj_local.commit_audit AS
SELECT class, id, version, epoch, owner, at FROM dobj.commit_audit;

-- Ready object schemas (dobj.schema_pool): how many, and since when the oldest waits. A pool
-- that stays at 0 under steady creation means first writes create their schemas (≈ 10× slower).
CREATE VIEW dobj_local.schema_pool AS
SELECT count(*) AS ready, min(created_at) AS oldest, max(created_at) AS newest
FROM dobj.schema_pool;

-- dobj_admin's views of per-object data: this database's rows (shard 'control') and every
-- linked storage shard's (foreign tables in schema dobj_shard_<name>, imported from the shard's
-- dobj_local by `dobj shards add` or `dobj shards link`). A shard whose foreign tables no longer
-- match (it was migrated, not linked again) is left out with a warning.
CREATE OR REPLACE FUNCTION dobj.link_admin_views() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v text;
  body text;
  s record;
BEGIN
  FOREACH v IN ARRAY ARRAY['objects', 'alarms', 'dead_alarms', 'timers', 'idempotency_keys',
                           'outbox', 'dead_messages', 'schema_pool', 'commit_audit'] LOOP
    body := format('SELECT %L::text AS shard, * FROM dobj_local.%I', 'control', v);
    EXECUTE format('DROP VIEW IF EXISTS dobj_admin.%I CASCADE', v);
    EXECUTE format('CREATE VIEW dobj_admin.%I AS %s', v, body);
    FOR s IN SELECT d.name FROM dobj.storage_databases d
             WHERE to_regclass(format('%I.%I', 'dobj_shard_' || d.name, v)) IS NOT NULL
             ORDER BY d.added_at, d.name LOOP
      BEGIN
        EXECUTE format('CREATE OR REPLACE VIEW dobj_admin.%I AS %s', v,
                       body || format(' UNION ALL SELECT %L, * FROM %I.%I', s.name,
                                      'dobj_shard_' || s.name, v));
        body := body || format(' UNION ALL SELECT %L, * FROM %I.%I', s.name,
                               'dobj_shard_' || s.name, v);
      EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'dobj_admin.% leaves out storage shard % (%): run dobj shards link %',
          v, s.name, SQLERRM, s.name;
      END;
    END LOOP;
    EXECUTE format('GRANT SELECT ON dobj_admin.%I TO dobj_reader', v);
  END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION dobj.link_admin_views() FROM PUBLIC;
SELECT dobj.link_admin_views();

-- SECURITY DEFINER: the reader role sees decoded keys without rights on any o_* schema. An
-- object kept in a linked storage shard is asked for there (dblink through the shard's server).
CREATE OR REPLACE FUNCTION dobj_admin.kv(class_name text, object_id text)
RETURNS TABLE(key text, value jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  schema text;
  shard text;
  conn text;
  query text;
BEGIN
  SELECT o.schema_name INTO schema FROM dobj.objects o WHERE o.class = class_name AND o.id = object_id;
  IF schema IS NOT NULL THEN
    RETURN QUERY EXECUTE format(
      'SELECT key, dobj_admin.msgpack_to_jsonb(value) FROM %I.kv ORDER BY key', schema);
    RETURN;
  END IF;
  SELECT o.shard INTO shard FROM dobj_admin.objects o
  WHERE o.class = class_name AND o.id = object_id AND o.shard <> 'control';
  IF shard IS NULL THEN RETURN; END IF;
  -- One connection per shard for the session (a query over many objects must not open one per
  -- object); one that broke (the shard restarted) is opened again, once.
  conn := 'dobj_shard_' || shard;
  query := format('SELECT key, value::text FROM dobj_admin.kv(%L, %L)', class_name, object_id);
  FOR attempt IN 1..2 LOOP
    IF NOT conn = ANY(coalesce(dobj.dblink_get_connections(), '{}')) THEN
      PERFORM dobj.dblink_connect(conn, conn);
    END IF;
    BEGIN
      RETURN QUERY EXECUTE
        'SELECT t.key, t.value::jsonb FROM dobj.dblink($1, $2) AS t(key text, value text)'
        USING conn, query;
      RETURN;
    EXCEPTION WHEN OTHERS THEN
      IF attempt = 2 THEN RAISE; END IF;
      PERFORM dobj.dblink_disconnect(conn);
    END;
  END LOOP;
END $$;

GRANT SELECT ON ALL TABLES IN SCHEMA dobj_admin TO dobj_reader;
-- What a control database's foreign tables read through the shard's user mapping.
GRANT USAGE ON SCHEMA dobj_local TO dobj_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA dobj_local TO dobj_reader;
REVOKE EXECUTE ON FUNCTION dobj_admin.kv(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dobj_admin.kv(text, text) TO dobj_reader;
