-- What each worker hosts (issue "dobj as a framework" 6): written with the worker's registration,
-- gone with its row. A class is callable while a live worker hosts it.
CREATE TABLE dobj.worker_classes (
  worker bigint NOT NULL REFERENCES dobj.workers(id) ON DELETE CASCADE,
  class text NOT NULL,
  methods text[] NOT NULL,
  PRIMARY KEY (worker, class)
);
GRANT SELECT, INSERT, DELETE ON dobj.worker_classes TO dobj_service;

-- One row per class hosted by a live worker. methods: the union over its workers; when workers
-- disagree (a rolling deploy) same_methods is false and a method may answer no_such_method on
-- some of them.
CREATE VIEW dobj_admin.classes AS
SELECT c.class,
       (SELECT array_agg(DISTINCT m ORDER BY m)
        FROM dobj.worker_classes c2 JOIN dobj.workers w2 ON w2.id = c2.worker,
             unnest(c2.methods) m
        WHERE c2.class = c.class AND w2.state <> 'stopped' AND w2.lease_until > now()) AS methods,
       count(DISTINCT c.methods) = 1 AS same_methods,
       array_agg(w.id ORDER BY w.id) AS workers,
       array_agg(DISTINCT w.version) AS versions
FROM dobj.worker_classes c JOIN dobj.workers w ON w.id = c.worker
WHERE w.state <> 'stopped' AND w.lease_until > now()
GROUP BY c.class;
GRANT SELECT ON dobj_admin.classes TO dobj_reader;
