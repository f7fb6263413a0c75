-- Its functions, views and triggers now live in migrations/functions/60_admin.sql.
-- What each worker hosts (issue "dobj as a framework" 6): written with the worker's registration,
-- gone with its row. A class is callable while a live worker hosts it.
CREATE TABLE dobj.worker_classes (
  worker bigint NOT NULL REFERENCES dobj.workers(id) ON DELETE CASCADE,
  class text NOT NULL,
  methods text[] NOT NULL,
  PRIMARY KEY (worker, class)
);
GRANT SELECT, INSERT, DELETE ON dobj.worker_classes TO dobj_service;
