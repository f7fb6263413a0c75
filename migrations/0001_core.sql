-- Core tables of DESIGN.md §4. All lease times use the database clock (now()).
CREATE TABLE dobj.cluster (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  partitions int NOT NULL CHECK (partitions BETWEEN 1 AND 65536),
  protocol_version int NOT NULL
);
-- The partition count is fixed for the life of the cluster; `dobj migrate --partitions` sets it.
INSERT INTO dobj.cluster(partitions, protocol_version)
VALUES (coalesce(nullif(current_setting('dobj.partitions', true), '')::int, 256), 1);

CREATE TABLE dobj.workers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host text NOT NULL,
  pid int NOT NULL,
  version text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'serving' CHECK (state IN ('serving', 'draining', 'stopped'))
);
CREATE INDEX workers_live ON dobj.workers(lease_until) WHERE state <> 'stopped';

CREATE TABLE dobj.partitions (
  p int PRIMARY KEY,
  owner bigint REFERENCES dobj.workers(id),
  epoch bigint NOT NULL DEFAULT 0,
  claimed_at timestamptz
);
INSERT INTO dobj.partitions(p) SELECT generate_series(0, partitions - 1) FROM dobj.cluster;

CREATE TABLE dobj.objects (
  class text NOT NULL,
  id text NOT NULL,
  p int NOT NULL,
  schema_name text,              -- NULL until the object's first write creates the schema
  owner bigint REFERENCES dobj.workers(id),
  epoch bigint NOT NULL,         -- bumped by every claim: the fencing token
  version bigint NOT NULL DEFAULT 0,  -- bumped by every commit
  created_at timestamptz NOT NULL DEFAULT now(),
  last_active_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (class, id)
);
CREATE INDEX objects_owner ON dobj.objects(owner) WHERE owner IS NOT NULL;
