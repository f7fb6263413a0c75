-- The W3C traceparent of the turn that set an alarm (NULL: none), so that the alarm's turn,
-- fired later by dobj-timer, continues the trace that caused it. A dead alarm keeps it for the
-- operator who follows the trace to find why.
ALTER TABLE dobj.alarms ADD COLUMN traceparent text;
ALTER TABLE dobj.dead_alarms ADD COLUMN traceparent text;
