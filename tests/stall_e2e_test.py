"""A silent source is reported stalled once, and resolved when it resumes
(SPEC §6): SOURCE_STALLED records on closeloop.exceptions for the platform
team."""

import json
import unittest

from kafka_harness import DevBroker, Service, consume, produce, wait_for

CONFIG = """
time:
  idle_after: 1s
  source_silence_limit: 2s
"""


class StalledSources(unittest.TestCase):
    def test_each_silent_source_stalls_once_and_resumes(self):
        broker = DevBroker(partitions=1)
        service = Service(broker.bootstrap, CONFIG)
        try:
            def stalled():
                recs = [json.loads(r["payload"]) for r in consume(broker.bootstrap, "closeloop.exceptions")]
                return [r for r in recs if r["kind"] == "SOURCE_STALLED"]

            recs = wait_for(stalled, lambda r: len(r) >= 4, what="four SOURCE_STALLED records")
            sources = sorted(r["exception_id"].split(":")[2] for r in recs)
            self.assertEqual(sources, ["billing", "crm", "erp", "payments"])
            self.assertTrue(all(r["state"] == "OPEN" and r["team"] == "platform" for r in recs))
            crm_id = next(r["exception_id"] for r in recs if ":crm:" in r["exception_id"])

            deal = json.dumps({"tenant_id": "t", "deal_id": "D-1", "stage": "Negotiation",
                               "close_time": "2026-01-01T00:00:00Z"})
            produce(broker.bootstrap, "crm.deals", [("t:D-1", deal)])
            recs = wait_for(stalled, lambda r: any(x["state"] == "RESOLVED" for x in r),
                            what="crm resumed")
            resolved = [r for r in recs if r["state"] == "RESOLVED"]
            self.assertEqual([r["exception_id"] for r in resolved], [crm_id])
            self.assertEqual(resolved[0]["sequence"], "2")
            # Still one OPEN per source: a stall is reported once, not per batch.
            self.assertEqual(len([r for r in recs if r["state"] == "OPEN"]), 4)
        finally:
            code, log = service.stop()
            broker.stop()
        self.assertEqual(code, 0, log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
