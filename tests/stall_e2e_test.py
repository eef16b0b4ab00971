"""A silent source is reported stalled once, and resolved when it resumes
(SPEC §6): SOURCE_STALLED records on closeloop.exceptions for the platform
team."""

import json
import os
import subprocess
import tempfile
import time
import unittest

from kafka_harness import DevBroker, Service, consume, produce, wait_for

CONFIG = """
time:
  idle_after: 1s
  source_silence_limit: 2s
"""


def stall_records(bootstrap):
    recs = [json.loads(r["payload"]) for r in consume(bootstrap, "closeloop.exceptions")]
    return [r for r in recs if r["kind"] == "SOURCE_STALLED"]


class StalledSources(unittest.TestCase):
    def test_each_silent_source_stalls_once_and_resumes(self):
        broker = DevBroker(partitions=1)
        service = Service(broker.bootstrap, CONFIG)
        try:
            def stalled():
                return stall_records(broker.bootstrap)

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

    def test_a_source_with_its_own_silence_limit_stalls_by_it(self):
        """time.source_silence_limits gives one source its own limit: payments
        (settled once a night, say) at an hour is not stalled when the others,
        at two seconds, are."""
        config = CONFIG + "  source_silence_limits: {payments: 1h}\n"
        broker = DevBroker(partitions=1)
        service = Service(broker.bootstrap, config)
        try:
            recs = wait_for(lambda: stall_records(broker.bootstrap), lambda r: len(r) >= 3,
                            what="three SOURCE_STALLED records")
            time.sleep(3)  # past the two-second limit again: payments stays quiet
            recs = stall_records(broker.bootstrap)
        finally:
            code, log = service.stop()
            broker.stop()
        self.assertEqual(code, 0, log)
        self.assertEqual(sorted(r["exception_id"].split(":")[2] for r in recs),
                         ["billing", "crm", "erp"])

    def test_a_restart_keeps_a_stall_and_resolves_it_later(self):
        """The silence and the stall survive a restart: no second record for
        a source still silent (before, a restart forgot the silence, let the
        watermark follow the wall clock again and raised a new stall with a
        new id later), and the stall raised before the restart is the one
        resolved when the source resumes."""
        broker = DevBroker(partitions=1)
        work = tempfile.TemporaryDirectory()
        state = os.path.join(work.name, "state")
        try:
            first = Service(broker.bootstrap, CONFIG, state_dir=state)
            try:
                before = wait_for(lambda: stall_records(broker.bootstrap), lambda r: len(r) >= 4,
                                  what="four SOURCE_STALLED records")
            finally:
                code, log = first.stop()
            self.assertEqual(code, 0, log)
            billing_id = next(r["exception_id"] for r in before if ":billing:" in r["exception_id"])

            second = Service(broker.bootstrap, CONFIG, state_dir=state)
            try:
                time.sleep(5)  # more than twice the silence limit
                self.assertEqual(stall_records(broker.bootstrap), before)
                invoice = json.dumps({"tenant_id": "t", "invoice_id": "I-1", "deal_id": "D-1",
                                      "customer_id": "C-1", "amount_minor": 1000,
                                      "currency": "USD", "issue_time": "2026-01-05T00:00:00Z",
                                      "due_time": "2026-02-04T00:00:00Z"})
                produce(broker.bootstrap, "billing.invoices", [("t:I-1", invoice)])
                recs = wait_for(lambda: stall_records(broker.bootstrap),
                                lambda r: any(x["state"] == "RESOLVED" for x in r),
                                what="billing resumed")
            finally:
                code, log = second.stop()
            self.assertEqual(code, 0, log)
            resolved = [r for r in recs if r["state"] == "RESOLVED"]
            self.assertEqual([(r["exception_id"], r["sequence"]) for r in resolved],
                             [(billing_id, "2")])
        finally:
            broker.stop()
            work.cleanup()

    def test_a_catch_up_run_ends_though_sources_stalled_since_the_last(self):
        """--until-idle waited for every watermark to reach its start, which a
        stalled source's never does (it stays where the silence limit ran
        out): a nightly catch-up after a quiet day ran for ever."""
        config = "time:\n  idle_after: 1s\n  source_silence_limit: 2s\n"
        deal = lambda i: (f"t:{i}", json.dumps({"tenant_id": "t", "deal_id": i,
                                                 "stage": "Negotiation",
                                                 "close_time": "2026-01-01T00:00:00Z"}))
        broker = DevBroker(partitions=1)
        work = tempfile.TemporaryDirectory()
        state = os.path.join(work.name, "state")
        try:
            produce(broker.bootstrap, "crm.deals", [deal("D-1")])
            code, log = Service(broker.bootstrap, config, state_dir=state,
                                args=["--until-idle"]).wait(60)
            self.assertEqual(code, 0, log)
            time.sleep(4)  # the next run comes after more than the silence limit
            produce(broker.bootstrap, "crm.deals", [deal("D-2")])
            second = Service(broker.bootstrap, config, state_dir=state, args=["--until-idle"])
            try:
                code, log = second.wait(60)
            except subprocess.TimeoutExpired:
                second.kill()
                self.fail("the catch-up run did not end")
            self.assertEqual(code, 0, log)
            self.assertIn("stopped after 1 records", log)
        finally:
            broker.stop()
            work.cleanup()

    def test_records_waiting_after_a_long_stop_are_no_silence(self):
        """A nightly catch-up (--until-idle) after more than the silence limit
        finds records of every source waiting: no source was silent, so no
        SOURCE_STALLED. Before, a source not read in the run's first batch
        (its records still unread) was reported stalled, then resolved."""
        config = ("time:\n  idle_after: 500ms\n  source_silence_limit: 3s\n"
                  "pipeline:\n  batch_max_records: 1\n")
        docs = {
            "crm.deals": {"tenant_id": "t", "deal_id": "D-{n}", "stage": "Negotiation",
                          "close_time": "2026-01-01T00:00:00Z"},
            "erp.orders": {"tenant_id": "t", "order_id": "O-{n}", "deal_id": "D-{n}",
                           "event_time": "2026-01-02T00:00:00Z"},
            "billing.invoices": {"tenant_id": "t", "invoice_id": "I-{n}", "deal_id": "D-{n}",
                                 "amount_minor": 1000, "currency": "USD",
                                 "issue_time": "2026-01-05T00:00:00Z"},
            "billing.payments": {"tenant_id": "t", "payment_id": "P-{n}", "invoice_id": "I-{n}",
                                 "amount_minor": 1000, "currency": "USD",
                                 "event_time": "2026-01-06T00:00:00Z"},
        }

        def produce_all(n):
            for topic, doc in docs.items():
                value = json.dumps({k: v.format(n=n) if isinstance(v, str) else v
                                    for k, v in doc.items()})
                produce(broker.bootstrap, topic, [(f"t:{n}", value)])

        broker = DevBroker(partitions=1)
        work = tempfile.TemporaryDirectory()
        state = os.path.join(work.name, "state")
        try:
            produce_all(1)
            code, log = Service(broker.bootstrap, config, state_dir=state,
                                args=["--until-idle"]).wait(60)
            self.assertEqual(code, 0, log)
            self.assertEqual(stall_records(broker.bootstrap), [])
            produce_all(2)
            time.sleep(5)  # the next run comes after more than the silence limit
            code, log = Service(broker.bootstrap, config, state_dir=state,
                                args=["--until-idle"]).wait(60)
            self.assertEqual(code, 0, log)
            self.assertIn("stopped after 4 records", log)
            self.assertEqual(stall_records(broker.bootstrap), [])
        finally:
            broker.stop()
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
