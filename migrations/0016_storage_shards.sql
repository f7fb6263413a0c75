-- Storage shards (DESIGN.md §7, issue 18): object data of a partition range lives in another
-- PostgreSQL database, which holds those objects' rows, leases, schemas, alarms, stored replies
-- and outbox, so that fencing stays one local transaction there. Partitions no range covers keep
-- their objects in this (the control) database. Workers and partitions stay here; a worker
-- serves the partitions of one storage location only (dobj.workers.storage_shard, NULL: this
-- database), and mirrors its lease and its partitions' owner rows into that shard, where
-- claims and the fencing UPDATE read them.
--
-- One row per partition range; a shard may hold several ranges (every row of a name has its
-- URL). A range being moved (`dobj shards move`) is `copying` (served by no one while its objects
-- are copied from `source`), then `cleaning` (served by its shard while the source's copies
-- go), then `serving`.
CREATE TABLE dobj.storage_shards (
  first_partition int PRIMARY KEY CHECK (first_partition >= 0),
  last_partition int NOT NULL,
  -- 'control' names the control database in the admin views' shard column and as a source.
  name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,39}$' AND name <> 'control'),
  -- What workers and timers connect with (libpq URL or key=value string).
  url text NOT NULL CHECK (url <> ''),
  state text NOT NULL DEFAULT 'serving' CHECK (state IN ('serving', 'copying', 'cleaning')),
  source text CHECK ((state = 'serving') = (source IS NULL)),
  added_at timestamptz NOT NULL DEFAULT now(),
  CHECK (last_partition >= first_partition),
  -- One location per partition: ranges never overlap.
  EXCLUDE USING gist (int4range(first_partition, last_partition, '[]') WITH &&)
);
-- The URL may hold a password: services read the map, dobj_reader does not.
REVOKE ALL ON dobj.storage_shards FROM dobj_service;
GRANT SELECT ON dobj.storage_shards TO dobj_service;

ALTER TABLE dobj.workers ADD COLUMN storage_shard text;

-- Views of this database's own per-object rows (migrations/functions/60_admin.sql); dobj_admin
-- shows them with those of every linked storage shard.
CREATE SCHEMA dobj_local;
