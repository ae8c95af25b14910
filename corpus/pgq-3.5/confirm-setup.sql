-- The state a running PgQ installation is in, for `isolint confirm` (isolint's own file, not
-- part of the PgQ package): PgQ's functions raise their own exceptions ("batch not found",
-- "Not subscriber to queue") on rows that do not exist, and the queue's event tables and
-- sequences are made by create_queue's dynamic SQL, so confirm runs this after the migrations
-- and chooses the queue, consumer and batch ids below as the functions' arguments.
--
-- It follows the life cycle PgQ's documentation gives: create the queue, register the
-- consumers, producers insert events, the ticker cuts them into batches, a consumer takes a
-- batch with next_batch, reads it and closes it with finish_batch. Each statement commits on
-- its own, as the ticker needs: a tick records the snapshot of its transaction.

-- Two queues, each with two consumers, a third no consumer reads any more (the one
-- drop_queue may drop) and a fourth with an external ticker.
select pgq.create_queue('orders');
select pgq.create_queue('audit');
select pgq.create_queue('retired');
-- A queue ticked from outside, as a replica of a remote queue is (ticker(queue, tick_id,
-- time, event_seq) inserts its ticks).
select pgq.create_queue('replica');
select pgq.set_queue_config('replica', 'external_ticker', 'true');
select pgq.register_consumer('orders', 'mailer');
select pgq.register_consumer('orders', 'billing');
select pgq.register_consumer('audit', 'mailer');
select pgq.register_consumer('audit', 'billing');

-- The ticker ticks at every call rather than waiting for its lag or idle period.
update pgq.queue set queue_ticker_max_lag = '0', queue_ticker_idle_period = '0'
 where not queue_external_ticker;

-- Events, then a tick that closes the first batch of each queue (the external ticker's
-- queue ticks by its own call).
select pgq.insert_event('orders', 'order.created', '{"order_id": 1}');
select pgq.insert_event('orders', 'order.created', '{"order_id": 2}');
select pgq.insert_event('audit', 'login', '{"user_id": 1}');
select pgq.ticker();
select pgq.ticker('replica', 2, now(), 1);

-- billing has a batch open on each queue, which finish_batch closes; mailer has a batch
-- waiting for its next_batch.
select pgq.next_batch('orders', 'billing');
select pgq.next_batch('audit', 'billing');

-- More events and a tick after them: the next batch after billing's open one.
select pgq.insert_event('orders', 'order.paid', '{"order_id": 1}');
select pgq.insert_event('audit', 'logout', '{"user_id": 1}');
select pgq.ticker();
