-- Scaling and failure (DESIGN.md §7): handover history, idempotency keys, the commit audit.

-- Every change of a partition's owner, for operators (dobj_admin.handovers) and the chaos checker.
CREATE TABLE dobj.partition_log (
  at timestamptz NOT NULL DEFAULT now(),
  p int NOT NULL,
  worker bigint NOT NULL,
  event text NOT NULL CHECK (event IN ('claimed', 'taken_over', 'released')),
  epoch bigint NOT NULL,
  previous_owner bigint  -- for taken_over: the worker whose lease had run out
);
CREATE INDEX partition_log_at ON dobj.partition_log (at);

-- The first reply to a request with Dobj-Idempotency-Key, written in the same transaction as the
-- turn it answers, so a retry finds it exactly when the turn's writes are durable.
CREATE TABLE dobj.idempotency (
  class text NOT NULL,
  id text NOT NULL,
  key text NOT NULL,
  ok boolean NOT NULL,
  content_type text NOT NULL,
  reply bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (class, id, key)
);
CREATE INDEX idempotency_expiry ON dobj.idempotency (expires_at);

-- One row per object commit while a session sets dobj.audit_commits = on (tests, chaos runs):
-- the proof that versions advance under one owner per epoch and epochs never go back.
CREATE TABLE dobj.commit_audit (
  class text NOT NULL,
  id text NOT NULL,
  version bigint NOT NULL,
  epoch bigint NOT NULL,
  owner bigint,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX commit_audit_object ON dobj.commit_audit (class, id, version);

CREATE FUNCTION dobj.audit_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO dobj.commit_audit (class, id, version, epoch, owner)
  VALUES (NEW.class, NEW.id, NEW.version, NEW.epoch, NEW.owner);
  RETURN NULL;
END $$;
-- The condition is checked without calling the function: commits pay nothing while it is off.
CREATE TRIGGER objects_commit_audit AFTER UPDATE OF version ON dobj.objects
  FOR EACH ROW
  WHEN (NEW.version <> OLD.version AND current_setting('dobj.audit_commits', true) = 'on')
  EXECUTE FUNCTION dobj.audit_commit();

CREATE VIEW dobj_admin.handovers AS
SELECT l.at, l.p AS partition, l.event, l.worker, l.previous_owner, l.epoch
FROM dobj.partition_log l;

CREATE VIEW dobj_admin.idempotency_keys AS
SELECT class, id, key, ok, created_at, expires_at, length(reply) AS reply_bytes
FROM dobj.idempotency;

-- Per-worker counts, with what is draining.
CREATE OR REPLACE VIEW dobj_admin.workers AS
SELECT w.id, w.host, w.pid, w.version, w.state, w.started_at, w.heartbeat_at, w.lease_until,
       (w.state <> 'stopped' AND w.lease_until > now()) AS live,
       (SELECT count(*) FROM dobj.partitions p WHERE p.owner = w.id) AS partitions,
       (SELECT count(*) FROM dobj.objects o WHERE o.owner = w.id) AS active_objects,
       (SELECT max(l.at) FROM dobj.partition_log l WHERE l.worker = w.id) AS last_handover_at
FROM dobj.workers w;

GRANT SELECT ON dobj_admin.handovers, dobj_admin.idempotency_keys TO dobj_reader;
