-- Ready, empty object schemas (issue 17): creating an object's schema costs about 2 ms of
-- PostgreSQL time and an fsync (schema, kv table, its index, grants), taking a ready one a row
-- delete. Workers keep this pool filled in the background (SchemaPoolFiller); an object's first
-- write takes one (dobj.take_object_schema) in its commit, so a rolled-back commit gives it back.
CREATE TABLE dobj.schema_pool (
  name text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE dobj.schema_pool_seq;
