"""A rebuild's outbox after a failed start (SPEC §9, README "Exactly-once").

A rebuild is a new `state_dir` over input topics that still hold their
history (README "Not done yet": how changed tenant rules reach what is in
state), publishing to the output topics the live service published to. Its
outbox numbers its records from 1 again, under the same transactional id.
When a start of the rebuild leaves records in its outbox (here: Kafka
refuses them for good, so the run stops; a SIGKILL between commit and
publish does the same), the next start reads the output topics back to
skip what it already published. The live service's records, with the
same outbox sequences, must not pass for the rebuild's: every record of an
uninterrupted rebuild (into topics of its own) must reach the shared topic.
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from kafka_harness import DevBroker, Service, ago, consume, own_topics, produce  # noqa: E402

LIVE_RULES = "time:\n  idle_after: 1s\ndefaults:\n  require_order: false\n"
# The rebuild's reason: require_order is on again (the default).
REBUILD_RULES = "time:\n  idle_after: 1s\n"
# Kafka refuses every record of the deal below (its customer name is longer).
SMALL_LIMIT = "kafka:\n  properties:\n    message.max.bytes: \"1500\"\n"


def pairs(bootstrap, topic):
    return {(r["exception_id"], r["sequence"], r["state"])
            for r in (json.loads(e["payload"]) for e in consume(bootstrap, topic))}


class RebuildOutbox(unittest.TestCase):
    def test_a_rebuilds_leftover_outbox_is_published_whatever_the_live_run_published(self):
        broker = DevBroker(partitions=1)
        try:
            with tempfile.TemporaryDirectory() as work:
                deal = {"tenant_id": "acme", "deal_id": "D-1", "stage": "Closed Won",
                        "amount_minor": 100000, "currency": "USD", "customer_id": "C-1",
                        "customer_name": "N" * 3000, "close_time": ago(60)}
                produce(broker.bootstrap, "crm.deals", [("acme:D-1", json.dumps(deal))])

                live = Service(broker.bootstrap, LIVE_RULES, state_dir=os.path.join(work, "live"),
                               args=["--until-idle"])
                code, log = live.wait(120)
                self.assertEqual(code, 0, log)
                published_live = pairs(broker.bootstrap, "closeloop.exceptions")
                self.assertTrue(published_live)

                reference = Service(broker.bootstrap, REBUILD_RULES + own_topics("reference"),
                                    args=["--until-idle"])
                code, log = reference.wait(120)
                self.assertEqual(code, 0, log)
                want = pairs(broker.bootstrap, "reference.exceptions")
                self.assertIn("acme:MISSING_ORDER:D-1:1", {p[0] for p in want})

                rebuild = os.path.join(work, "rebuild")
                refused = Service(broker.bootstrap, SMALL_LIMIT + REBUILD_RULES, state_dir=rebuild)
                code, log = refused.wait(120)
                self.assertEqual(code, 1, log)
                self.assertIn("for good", log)
                fixed = Service(broker.bootstrap, REBUILD_RULES, state_dir=rebuild,
                                args=["--until-idle"])
                code, log = fixed.wait(120)
                self.assertEqual(code, 0, log)

                got = pairs(broker.bootstrap, "closeloop.exceptions")
                self.assertEqual(want - got, set(), log)
        finally:
            broker.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
