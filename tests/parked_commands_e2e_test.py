"""A rebuild meets commands before their exceptions (README "Commands"): the
commands topic is read before the documents that raise the exceptions it
names. Each such command is kept in the state store until the watermarks
reach its event time, across a restart, and then applied, or refused when
its exception was never raised by then; and a rebuild publishes what the
live service did. Run against `closeloop dev-broker` and `closeloop run`,
read with kcat."""

import json
import os
import tempfile
import unittest

from kafka_harness import (EVENT_TIME_ONLY, DevBroker, Service, ago, consume, headers_of,
                           own_topics, produce, wait_for)

ACME = """
tenants:
  acme:
    require_order: false
"""
CONFIG = EVENT_TIME_ONLY + ACME

# Closed 40 days ago for USD 5,000.00 and never invoiced: MISSING_INVOICE at
# close + 30 days, 10 days ago.
EXCEPTION_ID = "acme:MISSING_INVOICE:D-1:1"
NEVER_RAISED = "acme:MISSING_INVOICE:D-1:2"


def heartbeats(n, days_ago):
    """A record on every input topic (one partition each) at `days_ago`, for
    a tenant of its own: each source's watermark reaches that time."""
    t = ago(days_ago)
    return {
        "crm.deals": {"tenant_id": "hb", "deal_id": f"H-{n}", "stage": "Prospecting",
                      "event_time": t},
        "erp.orders": {"tenant_id": "hb", "order_id": f"O-{n}", "deal_id": f"H-{n}",
                       "event_time": t},
        "billing.invoices": {"tenant_id": "hb", "invoice_id": f"I-{n}", "deal_id": f"H-{n}",
                             "amount_minor": 100, "currency": "USD", "issue_time": t,
                             "event_time": t},
        "billing.payments": {"tenant_id": "hb", "payment_id": f"P-{n}", "invoice_id": f"I-{n}",
                             "amount_minor": 100, "currency": "USD", "event_time": t},
    }


def deal(deal_id, days_ago=40, amount=500000, event_days_ago=None):
    """A won deal of acme closed `days_ago`, never invoiced: MISSING_INVOICE
    30 days after its close, escalated 7 days later."""
    return {"tenant_id": "acme", "deal_id": deal_id, "stage": "Closed Won",
            "amount_minor": amount, "currency": "USD", "customer_id": "C-1",
            "close_time": ago(days_ago),
            "event_time": ago(days_ago if event_days_ago is None else event_days_ago)}


def command(cid, exception_id, days_ago, action="ACK", **extra):
    return json.dumps({"command_id": cid, "tenant_id": "acme", "exception_id": exception_id,
                       "action": action, "actor": "ana", "event_time": ago(days_ago), **extra})


class ParkedCommands(unittest.TestCase):
    def setUp(self):
        self.broker = DevBroker(partitions=1)
        self.b = self.broker.bootstrap
        self.dir = tempfile.TemporaryDirectory()
        self.state = os.path.join(self.dir.name, "state")

    def tearDown(self):
        self.broker.stop()
        self.dir.cleanup()

    def run_until_idle(self):
        code, log = Service(self.b, CONFIG, state_dir=self.state, args=["--until-idle"]).wait(120)
        self.assertEqual(code, 0, log)
        return log

    def acme_records(self):
        records = [json.loads(r["payload"]) for r in consume(self.b, "closeloop.exceptions")]
        return [(r["exception_id"], r["state"]) for r in records if r["tenant_id"] == "acme"]

    def refused(self):
        return [(headers_of(r)["closeloop.reason"], r["payload"])
                for r in consume(self.b, "closeloop.dlq")]

    def test_commands_read_before_their_exception_wait_for_the_watermarks(self):
        # The commands come first, as in a rebuild: both were given 5 days ago,
        # once the exception had opened.
        ack, never = command("cmd-1", EXCEPTION_ID, 5), command("cmd-2", NEVER_RAISED, 5)
        produce(self.b, "closeloop.commands", [("c1", ack), ("c2", never)])
        produce(self.b, "crm.deals", [("acme:D-1", json.dumps(deal("D-1")))])
        for topic, doc in heartbeats(1, 35).items():
            produce(self.b, topic, [("hb", json.dumps(doc))])

        # Every source has reached 35 days ago: neither the deadline (10 days
        # ago) nor the commands' time has come. Both are kept, not refused.
        log = self.run_until_idle()
        self.assertEqual(self.refused(), [], log)
        self.assertEqual(self.acme_records(), [])

        # The sources reach now; the restarted run finds the commands it kept.
        # The invoice, 4 days ago, comes in the same batch, after the ACK's
        # time: it resolves the exception after the ACK, not before it.
        invoice = {"tenant_id": "acme", "invoice_id": "I-1", "deal_id": "D-1",
                   "amount_minor": 500000, "currency": "USD", "issue_time": ago(4),
                   "event_time": ago(4)}
        produce(self.b, "billing.invoices", [("acme:I-1", json.dumps(invoice))])
        for topic, doc in heartbeats(2, 0).items():
            produce(self.b, topic, [("hb", json.dumps(doc))])
        log = self.run_until_idle()
        self.assertIn("2 commands kept by the last run", log)
        self.assertEqual(self.acme_records(),
                         [(EXCEPTION_ID, "OPEN"), (EXCEPTION_ID, "ACKNOWLEDGED"),
                          (EXCEPTION_ID, "RESOLVED")], log)
        self.assertEqual(self.refused(),
                         [("unknown_exception", never)],
                         "the one whose exception was never raised, refused once its time came")


class InASplit(unittest.TestCase):
    """The same in the re-keyed data flow (README "Scaling out"): the ingest
    stage forwards the command on closeloop.events, and the matcher task of
    its tenant keeps it in its own store until the watermarks the stage
    sends reach it."""

    TASKS = 2
    ACME_TASK = 1  # FNV-1a of "acme" modulo 2 (app/rekey.h)

    def test_a_matcher_task_keeps_a_command_until_the_watermarks_reach_it(self):
        broker = DevBroker(partitions=1, events_partitions=self.TASKS)
        b = broker.bootstrap
        config = CONFIG + f"pipeline:\n  tasks: {self.TASKS}\n"
        try:
            with tempfile.TemporaryDirectory() as d:
                state = os.path.join(d, "state")

                def run(*role):
                    code, log = Service(b, config, state_dir=state,
                                        args=[*role, "--until-idle"]).wait(120)
                    self.assertEqual(code, 0, log[-2000:])
                    return log

                def split():
                    run("--role", "ingest")
                    return run("--role", "matcher", "--task", str(self.ACME_TASK))

                ack, never = command("cmd-1", EXCEPTION_ID, 5), command("cmd-2", NEVER_RAISED, 5)
                produce(b, "closeloop.commands", [("c1", ack), ("c2", never)])
                produce(b, "crm.deals", [("acme:D-1", json.dumps(deal("D-1")))])
                for topic, doc in heartbeats(1, 35).items():
                    produce(b, topic, [("hb", json.dumps(doc))])
                split()
                self.assertEqual(consume(b, "closeloop.dlq"), [])

                for topic, doc in heartbeats(2, 0).items():
                    produce(b, topic, [("hb", json.dumps(doc))])
                log = split()
                self.assertIn("2 commands kept by the last run", log)
                records = [json.loads(r["payload"]) for r in consume(b, "closeloop.exceptions")]
                self.assertEqual([(r["exception_id"], r["state"]) for r in records
                                  if r["tenant_id"] == "acme"],
                                 [(EXCEPTION_ID, "OPEN"), (EXCEPTION_ID, "ACKNOWLEDGED")], log)
                letters = consume(b, "closeloop.dlq")
                self.assertEqual([(headers_of(r)["closeloop.reason"], r["payload"], r["key"])
                                  for r in letters], [("unknown_exception", never, "c2")])
                self.assertEqual(headers_of(letters[0])["closeloop.source.topic"],
                                 "closeloop.commands", "the record as the ingest stage read it")
        finally:
            broker.stop()


class RebuildEqualsLive(unittest.TestCase):
    """What people did live, a rebuild from the same topics does again: the
    service that lived through it and one started later on a new state_dir
    publish the same records, detected_at aside."""

    CONFIG = "time:\n  idle_after: 1s\n" + ACME

    def setUp(self):
        self.broker = DevBroker(partitions=2)
        self.b = self.broker.bootstrap

    def tearDown(self):
        self.broker.stop()

    def records(self, name):
        return [json.loads(r["payload"]) for r in consume(self.b, f"{name}.exceptions")]

    def test_a_rebuild_publishes_what_the_live_service_did(self):
        live = Service(self.b, own_topics("live") + self.CONFIG)
        for deal_id, amount in (("D-1", 500000), ("D-2", 300000)):
            # Live: the deal's time is its Kafka timestamp.
            won = deal(deal_id, amount=amount)
            del won["event_time"]
            produce(self.b, "crm.deals", [(f"acme:{deal_id}", json.dumps(won))])
        wait_for(lambda: self.records("live"),
                 lambda r: sum(x["state"] == "OPEN" for x in r) == 2, what="both open")
        # People act on what was published; the commands' time is their
        # Kafka timestamp.
        produce(self.b, "closeloop.commands", [
            ("c1", json.dumps({"command_id": "ack-1", "tenant_id": "acme",
                               "exception_id": "acme:MISSING_INVOICE:D-1:1",
                               "action": "ACK", "actor": "ana"})),
            ("c2", json.dumps({"command_id": "dismiss-2", "tenant_id": "acme",
                               "exception_id": "acme:MISSING_INVOICE:D-2:1",
                               "action": "DISMISS", "actor": "ana", "note": "billed by hand"})),
        ])
        lived = wait_for(lambda: self.records("live"), lambda r: len(r) == 6,
                         what="OPEN and ESCALATED of each, and each command's record")
        code, log = live.stop()
        self.assertEqual(code, 0, log)
        self.assertEqual(
            sorted((r["exception_id"], r["state"]) for r in lived),
            [("acme:MISSING_INVOICE:D-1:1", "ACKNOWLEDGED"), ("acme:MISSING_INVOICE:D-1:1", "ESCALATED"),
             ("acme:MISSING_INVOICE:D-1:1", "OPEN"), ("acme:MISSING_INVOICE:D-2:1", "ESCALATED"),
             ("acme:MISSING_INVOICE:D-2:1", "OPEN"), ("acme:MISSING_INVOICE:D-2:1", "RESOLVED")])

        # The rebuild reads the commands before the watermarks reach the
        # deadlines: it keeps them, and applies them at their time.
        code, log = Service(self.b, own_topics("rebuild") + self.CONFIG,
                            args=["--until-idle"]).wait(120)
        self.assertEqual(code, 0, log)
        self.assertEqual(consume(self.b, "rebuild.dlq"), [])

        def comparable(rs):
            # Each exception's records in their order (the topic's partitions
            # interleave differently).
            return sorted(({k: v for k, v in r.items() if k != "detected_at"} for r in rs),
                          key=lambda r: (r["exception_id"], int(r["sequence"])))
        self.maxDiff = None
        self.assertEqual(comparable(self.records("rebuild")), comparable(lived))


if __name__ == "__main__":
    unittest.main()
