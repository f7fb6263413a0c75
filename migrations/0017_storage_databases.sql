-- Each storage shard's database URL, once (0016 kept it on every range row of the shard: a shard
-- whose last range moved away lost its URL with it, so such a move could neither finish nor be
-- resumed, and a changed URL had to be written on every row). dobj.storage_shards keeps the
-- ranges; a shard may hold none.
CREATE TABLE dobj.storage_databases (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,39}$' AND name <> 'control'),
  -- What workers and timers connect with (libpq URL or key=value string).
  url text NOT NULL CHECK (url <> ''),
  added_at timestamptz NOT NULL DEFAULT now()
);
-- The URL may hold a password: services read it, dobj_reader does not.
REVOKE ALL ON dobj.storage_databases FROM dobj_service;
GRANT SELECT ON dobj.storage_databases TO dobj_service;

INSERT INTO dobj.storage_databases (name, url, added_at)
SELECT DISTINCT ON (name) name, url, added_at FROM dobj.storage_shards ORDER BY name, added_at;

ALTER TABLE dobj.storage_shards DROP COLUMN url;
ALTER TABLE dobj.storage_shards
  ADD FOREIGN KEY (name) REFERENCES dobj.storage_databases (name),
  -- A move's source: the control database or a shard.
  ADD CHECK (source IS NULL OR source = 'control' OR source ~ '^[a-z][a-z0-9_-]{0,39}$');

-- In a storage shard's own database: the name it holds objects for (`dobj shards add`; NULL in a
-- control database). A worker refuses a database that names another shard, whichever URL led
-- it there, and one database cannot become two shards.
ALTER TABLE dobj.cluster ADD COLUMN storage_shard text;
