-- dobj: replaces checksum f260736f06dccc3c85f13adf90a1201721bba573640d0631a26fa59ba734e579
-- Its functions, views and triggers now live in migrations/functions/20_object_schema.sql and 40_turn.sql.
-- Least privilege in PostgreSQL (issue "Hostile clients" 6).
--  dobj_service: what workers and timers need (the control tables in schema dobj, creating the
--    objects' schemas); not a superuser, no login: grant it to the login role your workers and
--    timers use (deploy/README.md). Migrations keep running as the database's owner.
--  dobj_handler: the role handler SQL runs as (SET LOCAL ROLE for each turn): the objects'
--    own schemas only, nothing in dobj, so a handler's statement cannot read or write the
--    control tables.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dobj_service') THEN
    CREATE ROLE dobj_service NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dobj_handler') THEN
    CREATE ROLE dobj_handler NOLOGIN;
  END IF;
END $$;

GRANT dobj_handler TO dobj_service;  -- so that a service session may SET ROLE dobj_handler
GRANT USAGE ON SCHEMA dobj TO dobj_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA dobj TO dobj_service;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA dobj TO dobj_service;
-- What only migrations change.
REVOKE INSERT, UPDATE, DELETE ON dobj.migrations, dobj.cluster FROM dobj_service;
-- Tables of later migrations too (they run as the same owner).
ALTER DEFAULT PRIVILEGES IN SCHEMA dobj
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dobj_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA dobj GRANT USAGE, SELECT ON SEQUENCES TO dobj_service;

-- Each object's schema is created by the service (in its first commit) and owned by it.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO dobj_service', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE EXCEPTION 'run dobj migrate as the owner of database %', current_database();
END $$;

-- Objects created before this migration: their schemas and handler tables become
-- dobj_handler's to use (best effort: only a superuser or their owner may grant this).
DO $$
DECLARE
  s text;
BEGIN
  FOR s IN SELECT schema_name FROM dobj.objects WHERE schema_name IS NOT NULL LOOP
    BEGIN
      EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO dobj_handler', s);
      EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO dobj_handler', s);
      EXECUTE format('REVOKE ALL ON %I.kv FROM dobj_handler', s);
      EXECUTE format('GRANT SELECT ON %I.kv TO dobj_handler', s);
      EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA %I TO dobj_handler', s);
    EXCEPTION WHEN insufficient_privilege OR undefined_table THEN
      RAISE NOTICE 'schema %: grant dobj_handler its tables yourself', s;
    END;
  END LOOP;
END $$;

-- The end of each turn that ran SQL: deferred constraints are checked now (a violation is the
-- turn's own error, not its batch's), and the role the turn ended in comes back to be checked.
-- Callable by dobj_handler (the turn still runs as it), harmless to call from handler SQL.
CREATE SCHEMA dobj_turn;
GRANT USAGE ON SCHEMA dobj_turn TO dobj_handler, dobj_service;
