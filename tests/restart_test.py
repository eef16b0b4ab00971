"""SIGTERM and restart without replay (SPEC §9, issue "State and exactly-once").

One `closeloop dev-broker` in its own process, one generated company
(RESTART_DEALS deals per tenant, default 6200: about 51k events) produced
once, and a reference `closeloop run --until-idle` into its own topics, as
in crash_test.py. Then:

- SIGTERM: a service (own group, state directory and output topics) is sent
  SIGTERM a moment after it starts consuming. It must exit 0 within
  TERM_LIMIT seconds, log that it stopped, and have read part of the input
  only; a restart with --until-idle finishes the work, and the output
  topics then equal the reference's exactly as crash_test.py checks them
  (no (exception_id, sequence) pair missing or twice, folded records equal,
  every dead letter once).
- Restart without replay: a service runs --until-idle to the end; a second
  --until-idle run on the same state directory must read 0 records (its log
  says "stopped after 0 records" and never "consuming:"), and publish
  nothing: its output topics hold exactly what they held before. Only
  offsets resumed from the store explain that: the second run's consumer
  group has committed nothing to Kafka that it could resume from instead
  (closeloop never commits group offsets), and kafka.start_from is
  "earliest", so a consumer without stored offsets would read all of it.
"""

import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from crash_test import SETTINGS, assert_equal_to_reference  # noqa: E402
from kafka_harness import (CLOSELOOP, DevBroker, Service, consume, get,  # noqa: E402
                           own_topics, records_read, wait_for)

DEALS = int(os.environ.get("RESTART_DEALS", "6200"))
TERM_LIMIT = float(os.environ.get("RESTART_TERM_LIMIT", "10"))


class Restart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = DevBroker(partitions=8)
        cls.work = tempfile.TemporaryDirectory()
        config_path = os.path.join(cls.work.name, "sample.yaml")
        r = subprocess.run([CLOSELOOP, "sample", "--bootstrap", cls.broker.bootstrap,
                            "--deals", str(DEALS), "--config-out", config_path],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        words = r.stdout.split()
        cls.produced = int(words[1]) + int(words[4])  # events and bad records
        with open(config_path) as f:
            cls.base = f.read().replace("time:\n  idle_after: 1s\n", "") + SETTINGS
        reference = Service(cls.broker.bootstrap, cls.base + own_topics("reference"),
                            args=["--until-idle"])
        code, log = reference.wait(900)
        assert code == 0, log[-3000:]
        assert records_read(log) == cls.produced, (records_read(log), cls.produced)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        cls.work.cleanup()

    def assert_equal_to_reference(self, name):
        return assert_equal_to_reference(self, self.broker.bootstrap, name, at_least=1000)[0]

    def test_sigterm_exits_0_quickly_and_a_restart_finishes_the_work(self):
        rng = random.Random(os.environ.get("RESTART_SEED", "11"))
        state = os.path.join(self.work.name, "sigterm-state")
        config = self.base + own_topics("sigterm")
        service = Service(self.broker.bootstrap, config, state_dir=state)
        wait_for(service.read_log, lambda log: "consuming:" in log, 120,
                 "the service to start consuming")
        # The whole input takes about a second to read since the 2026-12-03
        # speed-ups (this waited up to 2 s before, and once all was read):
        # SIGTERM comes as soon as the first batch is logged, give or take the
        # log's polling (0.25 s).
        time.sleep(rng.uniform(0.0, 0.1))
        self.assertIsNone(service.proc.poll(), "the service exited by itself")
        sent = time.monotonic()
        service.proc.send_signal(signal.SIGTERM)
        code, log = service.wait(60)
        took = time.monotonic() - sent
        self.assertEqual(code, 0, log[-3000:])
        self.assertLess(took, TERM_LIMIT, f"SIGTERM took {took:.1f} s")
        first = records_read(log)
        self.assertIsNotNone(first, "no 'stopped after N records' line: " + log[-2000:])
        self.assertGreater(first, 0)
        self.assertLess(first, self.produced, "the SIGTERM came after all the work was done")

        final = Service(self.broker.bootstrap, config, state_dir=state, args=["--until-idle"])
        code, log = final.wait(900)
        self.assertEqual(code, 0, log[-3000:])
        second = records_read(log)
        self.assertEqual(first + second, self.produced,
                         "the restart re-read or skipped input records")
        records = self.assert_equal_to_reference("sigterm")
        print(f"\nSIGTERM after {first} of {self.produced} records: exit 0 in {took:.2f} s; "
              f"the restart read the other {second}; {records} exception records equal to "
              "the uninterrupted run")

    def test_a_restart_resumes_from_stored_offsets_and_reads_nothing_again(self):
        state = os.path.join(self.work.name, "replay-state")
        config = self.base + own_topics("replay")
        first = Service(self.broker.bootstrap, config, state_dir=state, args=["--until-idle"])
        code, log = first.wait(900)
        self.assertEqual(code, 0, log[-3000:])
        self.assertEqual(records_read(log), self.produced)
        b = self.broker.bootstrap
        before = (len(consume(b, "replay.exceptions")), len(consume(b, "replay.dlq")))
        self.assertGreater(before[0], 1000)

        started = time.monotonic()
        second = Service(b, config, state_dir=state, args=["--until-idle"])
        code, log = second.wait(300)
        took = time.monotonic() - started
        self.assertEqual(code, 0, log[-3000:])
        self.assertEqual(records_read(log), 0, log[-3000:])
        self.assertNotIn("consuming:", log)
        after = (len(consume(b, "replay.exceptions")), len(consume(b, "replay.dlq")))
        self.assertEqual(after, before, "the second run published records")
        self.assert_equal_to_reference("replay")
        print(f"\nrestart on a store of {self.produced} records: read 0 records, published "
              f"nothing, exited in {took:.1f} s")

        # A service restarted on that store with no new input is caught up:
        # its consumer lag counts from the stored offsets, not from the
        # beginning of the partitions (which would keep /readyz at 503).
        third = Service(b, config, state_dir=state)
        try:
            base = third.http_base()
            status, body = wait_for(lambda: get(base + "/readyz"), lambda r: r[0] == 200, 60,
                                    "/readyz 200 after a restart with nothing new to read")
            lags = re.findall(r"^closeloop_consumer_lag_records\{[^}]*\} (\S+)$",
                              get(base + "/metrics")[1], re.M)
            self.assertTrue(lags)
            self.assertEqual(sum(float(v) for v in lags), 0.0, lags)
        finally:
            code, log = third.stop()
        self.assertEqual(code, 0, log[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
