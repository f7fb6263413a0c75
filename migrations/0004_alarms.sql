-- dobj: replaces checksum 38eea649f7bb5857d52b90732ba72896e67da6855221a139aca9d89d386d7e2f
-- Its functions, views and triggers now live in migrations/functions/30_commit_objects.sql and 60_admin.sql.
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
