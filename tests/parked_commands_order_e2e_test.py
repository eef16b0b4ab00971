"""A command read while a kept command is due but not yet applied (the batch
stopped at pipeline.batch_max_timers) must not overtake it: with a small
batch_max_timers the same input gave other exception records than with the
default (README "Commands": a kept ACK stops the escalations after its time).
Run against `closeloop dev-broker` and `closeloop run --until-idle`."""

import json
import os
import tempfile
import unittest

from kafka_harness import DevBroker, Service, consume, produce
from parked_commands_e2e_test import CONFIG, EXCEPTION_ID, command, deal, heartbeats


class KeptCommandsOrder(unittest.TestCase):
    def scenario(self, max_timers):
        broker = DevBroker(partitions=1)
        b = broker.bootstrap
        try:
            with tempfile.TemporaryDirectory() as d:
                config = CONFIG + f"pipeline:\n  batch_max_timers: {max_timers}\n"
                state = os.path.join(d, "state")

                def run():
                    code, log = Service(b, config, state_dir=state,
                                        args=["--until-idle"]).wait(120)
                    self.assertEqual(code, 0, log)
                    return log

                # Rebuild: the ACK (5 days ago, before the escalation) is read
                # before the documents and kept.
                produce(b, "closeloop.commands", [("c1", command("cmd-1", EXCEPTION_ID, 5))])
                produce(b, "crm.deals", [("acme:D-1", json.dumps(deal("D-1"))),
                                         ("acme:D-2", json.dumps(deal("D-2")))])
                for topic, doc in heartbeats(1, 35).items():
                    produce(b, topic, [("hb", json.dumps(doc))])
                run()
                # The sources reach now; another command for the same
                # exception comes in the same batch.
                for topic, doc in heartbeats(2, 0).items():
                    produce(b, topic, [("hb", json.dumps(doc))])
                produce(b, "closeloop.commands", [("c2", command("cmd-2", EXCEPTION_ID, 1))])
                log = run()
                records = [json.loads(r["payload"]) for r in consume(b, "closeloop.exceptions")]
                dlq = [r["payload"] for r in consume(b, "closeloop.dlq")]
                return [(r["exception_id"], r["state"]) for r in records
                        if r["exception_id"] == EXCEPTION_ID], dlq, log
        finally:
            broker.stop()

    def test_batch_max_timers_does_not_change_the_records(self):
        records, dlq, log = self.scenario(100000)
        self.assertNotIn((EXCEPTION_ID, "ESCALATED"), records,
                         "the kept ACK (5 days ago) stops the escalation 3 days ago")
        small, small_dlq, small_log = self.scenario(1)
        self.assertEqual(small, records, small_log)
        self.assertEqual(small_dlq, dlq)


if __name__ == "__main__":
    unittest.main()
