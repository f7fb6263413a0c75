-- dobj: replaces checksum 83b2a8268ff482c449eaf8440dc5b08f44d9bcfa6a33922dd34d1678eab397c1
-- Its functions, views and triggers now live in migrations/functions/20_object_schema.sql and 30_commit_objects.sql.
-- (nothing left here but this migration's place in the sequence)
SELECT 1;
