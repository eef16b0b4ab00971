"""Records the broker deleted before closeloop read them (its retention, or
the embedded broker's 5 MiB per partition): the dev broker says so, a start
and a running service name the lost offsets and read what is still held, a
topic no longer configured is not checked, and a store ahead of its topic is
refused at start."""

import os
import re
import signal
import tempfile
import unittest

from kafka_harness import (DevBroker, Service, acme_deal as deal, broker_and_state, get,
                           large_record_producer, produce, start_offsets, wait_for)

CONFIG = """
time:
  idle_after: 1s
defaults:
  require_order: false
"""
LATEST = CONFIG + "\nkafka:\n  start_from: latest\n"


def send_overflow(producer):
    """H-6mb, a deal over the dev broker's 5 MiB per partition: the broker
    deletes it and every record before it."""
    producer.send("crm.deals", key=b"H-6mb",
                  value=deal("H-6mb", 1, customer_name="x" * (6 << 20)).encode()).get(timeout=60)


class LostRecords(unittest.TestCase):
    def test_the_dev_broker_says_when_it_deletes_records(self):
        """A record beyond the embedded broker's 5 MiB per partition (a
        million milestones as JSON is 55 MB) is deleted with everything
        before it, before any consumer sees it: `closeloop dev-broker`
        names the topic, partition and offsets on stderr."""
        broker = DevBroker(partitions=1, capture_log=True)
        try:
            b = broker.bootstrap
            producer = large_record_producer(b)
            producer.send("crm.deals", key=b"V-0", value=deal("V-0", 1).encode()).get(timeout=60)
            send_overflow(producer)
            producer.close()
            self.assertEqual(start_offsets(b, "crm.deals"), {0: 2})
            line = wait_for(broker.log, lambda log: "deleted offsets" in log, timeout=20,
                            what="the dev-broker's deletion line")
            self.assertIn("deleted offsets 0..1 of crm.deals [0]", line)
            self.assertIn("5 MiB per partition", line)
        finally:
            broker.stop()

    def read_one_deal_then_overflow(self, b, state):
        """A service reads deal V-0 of crm.deals into `state` and stops; then
        a 6 MB record makes the broker delete offsets 0..1 of the topic. The
        producer, for more."""
        producer = large_record_producer(b)
        producer.send("crm.deals", key=b"V-0", value=deal("V-0", 1).encode()).get(timeout=60)
        code, log = Service(b, CONFIG, state_dir=state, args=["--until-idle"]).wait(120)
        self.assertEqual(code, 0, log[-3000:])
        self.assertIn("stopped after 1 records", log)
        send_overflow(producer)
        return producer

    def test_records_lost_to_retention_are_reported_and_the_rest_is_read(self):
        """The store's offset for a partition whose start the broker's
        retention has moved past (the service was down): the start names
        the lost offsets in an error line and resumes at the first record
        still held, even with kafka.start_from latest (left to librdkafka's
        auto.offset.reset, that jumped to the partition's end and skipped
        the records still held)."""
        with broker_and_state() as (b, state):
            # Down meanwhile: the broker deletes offsets 0..1.
            producer = self.read_one_deal_then_overflow(b, state)
            for i in range(1, 5):  # offsets 2 to 5
                producer.send("crm.deals", key=f"V-{i}".encode(),
                              value=deal(f"V-{i}", 1).encode()).get(timeout=60)
            producer.close()
            start = start_offsets(b, "crm.deals")[0]  # where the broker's deletion stopped
            self.assertTrue(2 <= start <= 5, start)
            code, log = Service(b, LATEST, state_dir=state, args=["--until-idle"]).wait(120)
            self.assertEqual(code, 0, log[-3000:])
            self.assertIn(f"crm.deals[0]: records 1 to {start - 1} were deleted by the broker's "
                          f"retention before closeloop read them ({start - 1} records lost); "
                          f"resuming at {start}", log)
            self.assertIn(f"stopped after {6 - start} records", log)

    def test_records_deleted_under_a_running_service_are_reported_and_the_rest_is_read(self):
        """The service runs but lags (stopped with SIGSTOP here) while the
        broker's retention deletes records it has not read yet: it names the
        lost offsets in an error line, as a start does, and reads the records
        still held, even with kafka.start_from latest (left to librdkafka's
        auto.offset.reset, that jumped to the partition's end and skipped
        them)."""
        with broker_and_state() as (b, state):
            service = Service(b, LATEST, state_dir=state)
            try:
                base = service.http_base()

                def deals_read():
                    status, body = get(base + "/metrics")
                    m = re.search(r'^closeloop_events_consumed_total\{[^}]*topic="crm\.deals"'
                                  r'[^}]*\} (\S+)$', body, re.M) if status == 200 else None
                    return float(m.group(1)) if m else 0.0

                wait_for(lambda: get(base + "/readyz")[0], lambda s: s == 200, timeout=60,
                         what="the service assigned and caught up")
                producer = large_record_producer(b)
                producer.send("crm.deals", key=b"V-0", value=deal("V-0", 1).encode()
                              ).get(timeout=60)
                wait_for(deals_read, lambda n: n == 1, timeout=60, what="V-0 read")
                os.kill(service.proc.pid, signal.SIGSTOP)
                try:
                    # Offset 1, over the broker's 5 MiB: it deletes offsets 0..1.
                    send_overflow(producer)
                    for i in range(2, 6):  # offsets 2 to 5
                        producer.send("crm.deals", key=f"V-{i}".encode(),
                                      value=deal(f"V-{i}", 1).encode()).get(timeout=60)
                    producer.close()
                    start = start_offsets(b, "crm.deals")[0]  # where the deletion stopped
                    self.assertTrue(2 <= start <= 5, start)
                finally:
                    os.kill(service.proc.pid, signal.SIGCONT)
                wait_for(deals_read, lambda n: n == 1 + 6 - start, timeout=60,
                         what="the deals still held read")
            finally:
                code, log = service.stop()
            self.assertEqual(code, 0, log[-3000:])
            self.assertIn(f"crm.deals[0]: records 1 to {start - 1} were deleted by the broker's "
                          f"retention before closeloop read them ({start - 1} records lost); "
                          f"resuming at {start}", log)

    def test_a_topic_no_longer_configured_is_not_checked_for_lost_records(self):
        """The deals moved to another topic: the offset the store keeps for
        the old one, whose start the broker's retention has since moved
        past, is of a topic the service no longer reads. The start says
        nothing of records lost there (it named them in an error line at
        every start) and reads the new topic."""
        with broker_and_state() as (b, state):
            # Another producer fills the old topic: the broker deletes offsets 0..1.
            producer = self.read_one_deal_then_overflow(b, state)
            producer.send("crm.deals.v2", key=b"V-1", value=deal("V-1", 1).encode()).get(timeout=60)
            producer.close()
            self.assertGreaterEqual(start_offsets(b, "crm.deals")[0], 2)
            moved = CONFIG + "topics:\n  deals: crm.deals.v2\n"
            code, log = Service(b, moved, state_dir=state, args=["--until-idle"]).wait(120)
            self.assertEqual(code, 0, log[-3000:])
            self.assertNotIn("crm.deals[0]: records", log)
            self.assertNotIn("records lost", log)
            self.assertIn("stopped after 1 records", log)

    def test_a_store_ahead_of_its_topic_is_refused_at_start(self):
        """A state store that has read further than the partition now holds
        (the topic was recreated, or the store belongs to another cluster) is
        refused with a message saying so, never resumed from."""
        first, second = DevBroker(partitions=1), None
        work = tempfile.TemporaryDirectory()
        state = os.path.join(work.name, "state")
        try:
            produce(first.bootstrap, "crm.deals", [(f"V-{i}", deal(f"V-{i}", 1)) for i in range(3)])
            code, log = Service(first.bootstrap, CONFIG, state_dir=state,
                                args=["--until-idle"]).wait(120)
            self.assertEqual(code, 0, log[-3000:])
            self.assertIn("stopped after 3 records", log)
            first.stop()
            second = DevBroker(partitions=1)  # the same topics, empty
            code, log = Service(second.bootstrap, CONFIG, state_dir=state,
                                args=["--until-idle"]).wait(120)
            self.assertEqual(code, 1, log[-3000:])
            self.assertIn("has read crm.deals[0] up to offset 3 but the partition ends at 0: the "
                          "topic was recreated or the store belongs to another cluster", log)
        finally:
            first.stop()
            if second:
                second.stop()
            work.cleanup()


if __name__ == "__main__":
    unittest.main()
