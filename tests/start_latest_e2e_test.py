"""kafka.start_from latest skips the history before the first start only
(SPEC §9: "Nothing is lost: an event is either applied to state or in the
DLQ").

A service started with `kafka.start_from: latest` on a new store reads
nothing of what its input topics already hold. A partition that receives
nothing while it runs must still be read, at the next start, from where the
first start began: the records written while the service was down (a
deploy, a crash) are new input, not history.
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from kafka_harness import DevBroker, Service, produce, records_read  # noqa: E402

CONFIG = "time:\n  idle_after: 1s\nkafka:\n  start_from: latest\n"


def deal(deal_id):
    return json.dumps({"tenant_id": "acme", "deal_id": deal_id, "stage": "Prospecting",
                       "amount_minor": 100, "currency": "USD", "customer_id": "C-1",
                       "close_time": "2026-01-01T00:00:00Z"})


class StartFromLatest(unittest.TestCase):
    def test_records_written_while_down_are_read_at_the_next_start(self):
        broker = DevBroker(partitions=1)
        try:
            with tempfile.TemporaryDirectory() as work:
                state = os.path.join(work, "state")
                produce(broker.bootstrap, "crm.deals", [("H-1", deal("H-1"))])  # history
                code, log = Service(broker.bootstrap, CONFIG, state_dir=state,
                                    args=["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-3000:])
                self.assertEqual(records_read(log), 0, log[-3000:])

                produce(broker.bootstrap, "crm.deals", [("D-2", deal("D-2"))])  # while down
                code, log = Service(broker.bootstrap, CONFIG, state_dir=state,
                                    args=["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-3000:])
                self.assertEqual(records_read(log), 1, log[-3000:])

                # And from there on: nothing is read twice.
                code, log = Service(broker.bootstrap, CONFIG, state_dir=state,
                                    args=["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-3000:])
                self.assertEqual(records_read(log), 0, log[-3000:])
        finally:
            broker.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
