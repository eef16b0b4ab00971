"""End to end through Kafka: deals, invoices and payments produced by kcat
reach `closeloop run` in its own process, and exceptions and dead letters are
read back by kcat. Issue 3's acceptance scenario."""

import json
import subprocess
import unittest

from kafka_harness import (DevBroker, Service, ago, consume, headers_of, produce, stop_cleanly,
                           wait_for)

CONFIG = """
time:
  idle_after: 1s
tenants:
  acme-2:
    require_order: false
  acme-2b:
    require_order: false
  acme-3:
    routing:
      UNPAID: {team: collections-emea, topic: collections.emea}
"""


def deal(tenant, deal_id, close_days_ago, amount, stage="Closed Won"):
    return json.dumps({"tenant_id": tenant, "deal_id": deal_id, "stage": stage,
                       "amount_minor": amount, "currency": "USD", "customer_id": "C-1",
                       "customer_name": "Acme Corp", "owner": "rep@example.com",
                       "close_time": ago(close_days_ago)})


def invoice(tenant, invoice_id, deal_id, issued_days_ago, amount, due_days_ago=None):
    body = {"tenant_id": tenant, "invoice_id": invoice_id, "deal_id": deal_id,
            "amount_minor": amount, "currency": "USD", "issue_time": ago(issued_days_ago)}
    if due_days_ago is not None:
        body["due_time"] = ago(due_days_ago)
    return json.dumps(body)


INPUT_TOPICS = ["crm.deals", "erp.orders", "billing.invoices", "billing.payments"]


class KcatEndToEnd(unittest.TestCase):
    """History produced before the service starts is reconciled on event
    time; documents produced while it runs are handled live."""

    @classmethod
    def setUpClass(cls):
        cls.broker = DevBroker(partitions=2)
        cls.b = b = cls.broker.bootstrap
        # An invoice issued in time for its deal, and a control deal with
        # none whose deadline comes one day later, on the same partition.
        produce(b, "crm.deals", [("k", deal("acme-2", "D-1", 40, 500000)),
                                 ("k", deal("acme-2b", "D-1", 39, 500000))])
        produce(b, "billing.invoices",
                [("k", invoice("acme-2", "I-1", "D-1", 35, 500000, due_days_ago=-10))])
        # An invoice paid in part, due 20 days ago.
        produce(b, "billing.invoices",
                [("u", invoice("acme-3", "INV-9", "D-9", 50, 250000, due_days_ago=20))])
        produce(b, "billing.payments",
                [("u", json.dumps({"tenant_id": "acme-3", "payment_id": "P-1", "invoice_id": "INV-9",
                                   "amount_minor": 50000, "currency": "USD",
                                   "event_time": ago(30)}))])
        for t in INPUT_TOPICS:
            produce(b, t, [(f"garbage-{t}", "{not json at all " + t + "}")])
        bad = json.dumps({"tenant_id": "acme-4", "invoice_id": "I-1", "amount_minor": -5,
                          "currency": "USD", "issue_time": ago(1)})
        produce(b, "billing.invoices", [("neg", bad)])
        cls.service = Service(b, CONFIG)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.service, cls.broker)

    def exceptions_of(self, tenant, kind=None):
        out = []
        for r in consume(self.b, "closeloop.exceptions"):
            rec = json.loads(r["payload"])
            if rec["tenant_id"] == tenant and kind in (None, rec["kind"]):
                out.append(r)
        return out

    def test_missing_invoice_for_a_deal_produced_live(self):
        produce(self.b, "crm.deals", [("acme-1:D-17", deal("acme-1", "D-17", 40, 1200000))])
        recs = wait_for(lambda: self.exceptions_of("acme-1", "MISSING_INVOICE"),
                        lambda r: len(r) >= 1, what="MISSING_INVOICE for acme-1")
        first = json.loads(recs[0]["payload"])
        self.assertEqual(recs[0]["key"], first["exception_id"])
        self.assertEqual(first["exception_id"], "acme-1:MISSING_INVOICE:D-17:1")
        self.assertEqual(first["state"], "OPEN")
        self.assertEqual(first["sequence"], "1")
        self.assertEqual(first["tenant_id"], "acme-1")
        self.assertEqual(first["amount_at_risk_minor"], "1200000")
        self.assertEqual(first["currency"], "USD")
        self.assertEqual(first["team"], "billing")
        self.assertEqual(first["deal_id"], "D-17")
        self.assertIn("Deal D-17 for Acme Corp", first["reason"])
        self.assertIn("has no invoice 30 days later", first["reason"])
        # One exception: later records (escalation at 7 days) carry the same id.
        ids = {json.loads(r["payload"])["exception_id"] for r in recs}
        self.assertEqual(ids, {"acme-1:MISSING_INVOICE:D-17:1"})

    def test_invoice_in_time_yields_nothing(self):
        wait_for(lambda: self.exceptions_of("acme-2b", "MISSING_INVOICE"), lambda r: len(r) >= 1,
                 what="the control deal's exception")
        self.assertEqual(self.exceptions_of("acme-2"), [])

    def test_unpaid_after_due_date_and_grace(self):
        recs = wait_for(lambda: self.exceptions_of("acme-3", "UNPAID"),
                        lambda r: len(r) >= 1, what="UNPAID for acme-3")
        first = json.loads(recs[0]["payload"])
        self.assertEqual(first["invoice_id"], "INV-9")
        self.assertEqual(first["amount_at_risk_minor"], "200000")
        self.assertIn("USD 2,000.00 unpaid 5 days after its due date", first["reason"])
        # Routing: the tenant's team, and a copy on its team topic.
        self.assertEqual(first["team"], "collections-emea")
        copies = wait_for(lambda: consume(self.b, "collections.emea"), lambda r: len(r) >= 1,
                          what="the copy on collections.emea")
        self.assertEqual(copies[0]["key"], "acme-3:UNPAID:INV-9:1")
        self.assertEqual(json.loads(copies[0]["payload"])["sequence"], "1")

    def test_commands_are_applied_once_and_echoed(self):
        exception_id = "acme-3:UNPAID:INV-9:1"
        wait_for(lambda: self.exceptions_of("acme-3", "UNPAID"), lambda r: len(r) >= 1,
                 what="UNPAID for acme-3")
        ack = json.dumps({"command_id": "cmd-1", "tenant_id": "acme-3", "exception_id": exception_id,
                          "action": "ACK", "actor": "ana", "note": "customer pays Friday"})
        unknown = json.dumps({"command_id": "cmd-2", "tenant_id": "acme-3",
                              "exception_id": "acme-3:UNPAID:INV-404:1", "action": "DISMISS"})
        foreign = json.dumps({"command_id": "cmd-3", "tenant_id": "globex",
                              "exception_id": exception_id, "action": "DISMISS"})
        produce(self.b, "closeloop.commands", [("c1", ack), ("c1", ack), ("c2", unknown),
                                               ("c3", foreign), ("c4", '{"action": "ACK"}')])
        recs = wait_for(
            lambda: [json.loads(r["payload"]) for r in self.exceptions_of("acme-3", "UNPAID")],
            lambda r: any(x["state"] == "ACKNOWLEDGED" for x in r), what="ACKNOWLEDGED echo")
        echo = [x for x in recs if x["state"] == "ACKNOWLEDGED"]
        self.assertEqual(len(echo), 1)
        self.assertEqual(echo[0]["exception_id"], exception_id)
        self.assertEqual(echo[0]["note"], "customer pays Friday")
        self.assertEqual(int(echo[0]["sequence"]), max(int(x["sequence"]) for x in recs))
        letters = wait_for(
            lambda: [r for r in consume(self.b, "closeloop.dlq")
                     if headers_of(r)["closeloop.source.topic"] == "closeloop.commands"],
            lambda r: len(r) >= 4, what="refused commands on the DLQ")
        reasons = {r["key"]: headers_of(r)["closeloop.reason"] for r in letters}
        self.assertEqual(reasons, {"c1": "replayed_command", "c2": "unknown_exception",
                                   "c3": "unknown_exception", "c4": "missing_field"})

    def test_garbage_on_every_input_topic_lands_on_the_dlq(self):
        letters = wait_for(
            lambda: [r for r in consume(self.b, "closeloop.dlq")
                     if r["payload"].startswith("{not json at all")],
            lambda r: len(r) >= len(INPUT_TOPICS), what="four dead letters")
        by_topic = {headers_of(r)["closeloop.source.topic"]: r for r in letters}
        self.assertEqual(set(by_topic), set(INPUT_TOPICS))
        for t, r in by_topic.items():
            h = headers_of(r)
            self.assertEqual(r["key"], f"garbage-{t}")
            self.assertEqual(r["payload"], "{not json at all " + t + "}")
            self.assertEqual(h["closeloop.reason"], "malformed_json")
            self.assertIn(h["closeloop.source.partition"], ("0", "1"))
            self.assertEqual(h["closeloop.source.offset"].isdigit(), True)
            self.assertTrue(h["closeloop.error"])

    def test_contract_violation_names_reason_and_field(self):
        letters = wait_for(lambda: [r for r in consume(self.b, "closeloop.dlq") if r["key"] == "neg"],
                           lambda r: len(r) == 1, what="negative amount dead letter")
        h = headers_of(letters[0])
        self.assertEqual(h["closeloop.reason"], "negative_amount")
        self.assertEqual(h["closeloop.field"], "amount_minor")
        self.assertEqual(h["closeloop.source.topic"], "billing.invoices")


class ProtobufExceptions(unittest.TestCase):
    def test_exceptions_format_protobuf_publishes_protobuf(self):
        """topics.exceptions_format: protobuf writes closeloop.v1.ExceptionRecord
        bytes, not JSON (the default)."""
        broker = DevBroker(partitions=1)
        try:
            b = broker.bootstrap
            produce(b, "crm.deals", [("k", deal("acme-pb", "D-9", 40, 700000))])
            config = ("time:\n  idle_after: 1s\ndefaults:\n  require_order: false\n"
                      "topics:\n  exceptions_format: protobuf\n")
            service = Service(b, config)
            try:
                def payloads():
                    return subprocess.run(
                        ["kcat", "-b", b, "-C", "-t", "closeloop.exceptions", "-e", "-q",
                         "-o", "beginning", "-f", "%s\\n--end--\\n"],
                        capture_output=True, check=True, timeout=60).stdout
                out = wait_for(payloads, lambda out: b"--end--" in out, timeout=90,
                               what="an exception record")
            finally:
                code, log = service.stop()
                self.assertEqual(code, 0, log)
            first = out.split(b"\n--end--\n")[0]
            self.assertIn(b"acme-pb:MISSING_INVOICE:D-9:1", first)
            self.assertFalse(first.lstrip().startswith(b"{"), first[:200])
        finally:
            broker.stop()

if __name__ == "__main__":
    unittest.main(verbosity=2)
