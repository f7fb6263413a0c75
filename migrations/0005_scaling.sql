-- dobj: replaces checksum 5dd28342e3b987e6339f89fb418a8f926be6a4e1ed118b19d211c39926c748dc
-- Its functions, views and triggers now live in migrations/functions/50_commit_audit.sql and 60_admin.sql.
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
