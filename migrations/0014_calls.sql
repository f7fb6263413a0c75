-- Awaited calls between objects (ctx.call, DESIGN.md §5). A call rides the caller's outbox
-- (kind 'call'), in the caller's commit, with its route (msgpack: the continuation, where the
-- continuation's answer goes, the deadline); the courier sends it, then hands the outcome back
-- to the caller as a $result turn, and only then the row goes.
ALTER TABLE dobj.outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE dobj.outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('message', 'event', 'call'));
ALTER TABLE dobj.outbox ADD COLUMN call bytea;
ALTER TABLE dobj.outbox ADD CONSTRAINT outbox_call_route CHECK ((kind = 'call') = (call IS NOT NULL));
ALTER TABLE dobj.dead_messages ADD COLUMN call bytea;

-- A request whose turn made an awaited call has no answer until its continuation commits: its
-- idempotency key holds a pending row meanwhile (a retry hears unknown_outcome, never a second
-- run), which the continuation's commit replaces.
ALTER TABLE dobj.idempotency ADD COLUMN pending boolean NOT NULL DEFAULT false;
