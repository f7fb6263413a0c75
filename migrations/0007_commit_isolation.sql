-- dobj: replaces checksum cc8a90e588fbcd7d46320b06c0e2ba4f20edf652d3852d375560c6378b07180c
-- Its functions, views and triggers now live in migrations/functions/30_commit_objects.sql.
-- (nothing left here but this migration's place in the sequence)
SELECT 1;
