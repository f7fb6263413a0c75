-- Repeatable definition (migrations/functions/README.md): applied by `dobj migrate` whenever
-- this file's checksum changes, after the versioned migrations; the one place this code lives.

-- dobj.commit_audit rows for chaos checks (SET dobj.audit_commits = on in a session).
CREATE OR REPLACE FUNCTION dobj.audit_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO dobj.commit_audit (class, id, version, epoch, owner)
  VALUES (NEW.class, NEW.id, NEW.version, NEW.epoch, NEW.owner);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS objects_commit_audit ON dobj.objects;
-- The condition is checked without calling the function: commits pay nothing while it is off.
CREATE TRIGGER objects_commit_audit AFTER UPDATE OF version ON dobj.objects
  FOR EACH ROW
  WHEN (NEW.version <> OLD.version AND current_setting('dobj.audit_commits', true) = 'on')
  EXECUTE FUNCTION dobj.audit_commit();
