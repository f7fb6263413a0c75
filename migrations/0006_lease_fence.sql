-- dobj: replaces checksum 7828d7777059d2f31db9fa598b1e601a43cdbe24c619c024bbf2d4877219ba31
-- Its functions, views and triggers now live in migrations/functions/30_commit_objects.sql.
-- Every answer true under partial failures (issue "Wave 2 · 1/8").
-- 0. A worker cut off from NATS gives its partitions away: while it is not available it does not
--    count towards the others' fair share (dobj.partition_table's claim), though its lease lives.
ALTER TABLE dobj.workers ADD COLUMN available boolean NOT NULL DEFAULT true;
