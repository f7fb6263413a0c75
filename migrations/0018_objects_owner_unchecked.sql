-- Issue 17; docs/performance.md, "The object claim without a foreign key check".
-- objects.owner → workers took a key-share lock on the claiming worker's row for every object
-- claimed (SPI, 8 µs a row, and the lock itself is a write). It guards nothing the leases do not:
-- a claim takes effect only for a partition the claimant owns (dobj.partitions.owner, still a
-- foreign key), a commit only under a live lease in dobj.workers (dobj.check_commit_lease), and a
-- row naming a worker that is gone is claimed by the partition's owner whoever it names.
-- Pruning a departed worker still clears the rows that name it.
ALTER TABLE dobj.objects DROP CONSTRAINT objects_owner_fkey;
