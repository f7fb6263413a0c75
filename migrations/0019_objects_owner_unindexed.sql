-- Issue 17; docs/performance.md, "Claims and releases as heap-only updates".
-- The partial index objects_owner made every claim (owner set) and every release (owner
-- cleared) a non-HOT update: a new entry in it and in the primary key for each. With only the
-- primary key left, a claim, a commit's fencing bump and a release all change no indexed column
-- and can stay on their page. What the index served is rare and may scan: a stopping worker
-- clearing the rows that name it, the pruning of a departed one, and the admin count per worker.
-- No statement on the hot path looks objects up by owner (docs/performance.md, "Slow bursts
-- explained": such plans were the fault).
DROP INDEX dobj.objects_owner;
