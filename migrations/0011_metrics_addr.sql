-- Where each worker's and timer's /metrics answers (host:port, NULL when it serves none), so
-- that `dobj top` finds them from the database.
ALTER TABLE dobj.workers ADD COLUMN metrics_addr text;
ALTER TABLE dobj.timers ADD COLUMN metrics_addr text;
