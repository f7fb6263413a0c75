-- The ledger of repeatable definitions (migrations/functions/*.sql): which version of each file
-- this database runs. `dobj migrate` applies a file again when its checksum differs; a worker
-- refuses to start on definitions other than its own.
CREATE TABLE dobj.definitions (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
-- Only migrations write it (0008's default privileges would give the service more).
REVOKE INSERT, UPDATE, DELETE ON dobj.definitions FROM dobj_service;
GRANT SELECT ON dobj.definitions TO dobj_service;
