-- dobj: replaces checksum 9210eb4160511edeb9f2a365616c797d10e42534181018f767f33b47e8e5517b
-- Its functions, views and triggers now live in migrations/functions/10_msgpack.sql and 60_admin.sql.
-- Read-only operator surface (DESIGN.md §4): views, dobj_admin.kv(class, id), role dobj_reader.
CREATE SCHEMA dobj_admin;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dobj_reader') THEN
    CREATE ROLE dobj_reader NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA dobj_admin TO dobj_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA dobj_admin TO dobj_reader;
