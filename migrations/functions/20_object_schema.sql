-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.

-- Handler SQL may create and use tables in its object's schema, and nothing else; the kv table
-- stays the service's to write (handlers write through ctx.storage(), committed after the
-- turn), readable so that a key loaded lazily after the turn's SQL loads under its role.
-- A ready schema of the pool is made the same way: the handler role may use every object's
-- schema already (privileges are the role's, not the object's), so a ready one opens nothing new,
-- and taking it needs no catalog change at all.
CREATE OR REPLACE FUNCTION dobj.create_object_schema(p_schema text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', p_schema);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I.kv '
                 '(key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)', p_schema);
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO dobj_handler', p_schema);
  EXECUTE format('GRANT SELECT ON %I.kv TO dobj_handler', p_schema);
END $$;

-- An object's first write: returns the schema the object gets, recorded by the caller in
-- dobj.objects.schema_name. A ready schema of the pool keeps its name (o_r<n>): renaming it
-- would change the catalog, and a catalog change of a schema makes every backend drop every
-- cached plan. Without one ready (or when a schema of the object's own name exists already, left
-- by an earlier version) the schema is p_schema, created now. Part of the commit's transaction: a
-- commit that rolls back gives the ready schema back. The pool is the service role's, like every
-- object's schema. A row whose schema was dropped by hand is skipped (and removed).
CREATE OR REPLACE FUNCTION dobj.take_object_schema(p_schema text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  ready text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = p_schema) THEN
    LOOP
      -- One table, in index order: a join or a scan of the heap would grow with the pool.
      DELETE FROM dobj.schema_pool WHERE name = (
        SELECT s.name FROM dobj.schema_pool s ORDER BY s.name LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING name INTO ready;
      EXIT WHEN ready IS NULL OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ready);
    END LOOP;
  END IF;
  IF ready IS NOT NULL THEN
    RETURN ready;
  END IF;
  PERFORM dobj.create_object_schema(p_schema);
  RETURN p_schema;
END $$;

-- One round of filling the pool towards p_target ready schemas, at most p_batch of them in this
-- transaction; returns how many it made (0 when another session is filling: one filler at a time
-- in the cluster). Rows whose schema is gone (dropped by hand) leave first.
CREATE OR REPLACE FUNCTION dobj.fill_schema_pool(p_target int, p_batch int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  ready int;
  made int;
  name text;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7237111335500083052) THEN  -- 'dobjpool' as a bigint
    RETURN 0;
  END IF;
  DELETE FROM dobj.schema_pool s
   WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = s.name);
  SELECT count(*) INTO ready FROM dobj.schema_pool;
  made := greatest(0, least(p_batch, p_target - ready));
  FOR i IN 1 .. made LOOP
    name := 'o_r' || nextval('dobj.schema_pool_seq');
    PERFORM dobj.create_object_schema(name);
    INSERT INTO dobj.schema_pool (name) VALUES (name);
  END LOOP;
  RETURN made;
END $$;
