-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.

-- Handler SQL may create and use tables in its object's schema, and nothing else; the kv table
-- stays the service's to write (handlers write through ctx.storage(), committed after the
-- turn), readable so that a key loaded lazily after the turn's SQL loads under its role.
CREATE OR REPLACE FUNCTION dobj.create_object_schema(p_schema text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', p_schema);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I.kv '
                 '(key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)', p_schema);
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO dobj_handler', p_schema);
  EXECUTE format('GRANT SELECT ON %I.kv TO dobj_handler', p_schema);
END $$;
