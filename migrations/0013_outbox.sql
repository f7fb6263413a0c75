-- Durable one-way messages between objects (ctx.send, DESIGN.md §5): written in the sender's
-- commit, delivered at least once by the worker that owns the sender's partition, applied once
-- by the target (the idempotency key send:<sha256 of the sender>:<seq>). Durable events
-- (ctx.publish_durable) ride the same queue: kind 'event', published to evt.<class>.<id>.<topic>
-- (the topic in `method`) with that key as Nats-Msg-Id.
CREATE TABLE dobj.outbox (
  sender_class text NOT NULL,
  sender_id text NOT NULL,
  seq bigint NOT NULL,          -- per sender, from 1, in send order
  p int NOT NULL,               -- the sender's partition: whose worker delivers it
  kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'event')),
  target_class text NOT NULL,   -- an event: '' (it goes to the sender's own evt. subject)
  target_id text NOT NULL,
  method text NOT NULL,
  body bytea NOT NULL,          -- msgpack
  traceparent text,             -- the sending turn's
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,  -- a retry's backoff; NULL: now
  last_error text,
  PRIMARY KEY (sender_class, sender_id, seq),
  FOREIGN KEY (sender_class, sender_id) REFERENCES dobj.objects (class, id) ON DELETE CASCADE
);
CREATE INDEX outbox_partition ON dobj.outbox (p, sender_class, sender_id, seq);

-- The last sequence number each sender used: rows leave dobj.outbox once delivered.
CREATE TABLE dobj.outbox_seq (
  class text NOT NULL,
  id text NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (class, id),
  FOREIGN KEY (class, id) REFERENCES dobj.objects (class, id) ON DELETE CASCADE
);

-- Messages the target refused for good (no such class or method, bad_request, handler_error)
-- or that found no taker within the delivery limit: kept for operators, never retried.
CREATE TABLE dobj.dead_messages (
  sender_class text NOT NULL,
  sender_id text NOT NULL,
  seq bigint NOT NULL,
  kind text NOT NULL,
  target_class text NOT NULL,
  target_id text NOT NULL,
  method text NOT NULL,
  body bytea NOT NULL,
  traceparent text,
  created_at timestamptz NOT NULL,
  attempts int NOT NULL,
  error_code text NOT NULL,
  error text NOT NULL,
  died_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sender_class, sender_id, seq)
);
