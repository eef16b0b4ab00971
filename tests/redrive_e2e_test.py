"""`closeloop redrive` end to end: a command whose exception was not raised
by its time goes to the DLQ (once the watermarks pass it); once the
exception is open, redrive sends it back to the commands topic with its
original key, value and headers, and it applies once. Run against
`closeloop dev-broker` and `closeloop run`, read with kcat."""

import json
import subprocess
import unittest

from kafka_harness import (CLOSELOOP, DevBroker, Service, ago, consume, headers_of, produce,
                           stop_cleanly, wait_for)

CONFIG = """
time:
  idle_after: 1s
tenants:
  acme:
    require_order: false
"""

EXCEPTION_ID = "acme:MISSING_INVOICE:D-1:1"


class Redrive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = DevBroker(partitions=2)
        cls.b = cls.broker.bootstrap
        cls.service = Service(cls.b, CONFIG)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.service, cls.broker)

    def redrive(self, *args):
        return subprocess.run([CLOSELOOP, "redrive", "--bootstrap", self.b, *args],
                              capture_output=True, text=True, timeout=120)

    def letters(self, reason):
        return [r for r in consume(self.b, "closeloop.dlq")
                if headers_of(r).get("closeloop.reason") == reason]

    def records(self):
        return [json.loads(r["payload"]) for r in consume(self.b, "closeloop.exceptions")]

    def test_a_command_refused_before_its_exception_applies_once_redriven(self):
        ack = json.dumps({"command_id": "cmd-1", "tenant_id": "acme", "exception_id": EXCEPTION_ID,
                          "action": "ACK", "actor": "ana"})
        subprocess.run(["kcat", "-b", self.b, "-P", "-t", "closeloop.commands", "-k", "c1",
                        "-H", "trace=t-1", "-H", "closeloop.forged=x"],
                       input=ack, text=True, check=True, timeout=60)
        produce(self.b, "crm.deals", [("garbage", "{not json")])
        wait_for(lambda: self.letters("unknown_exception"), lambda r: len(r) == 1,
                 what="the command refused as unknown_exception")
        wait_for(lambda: self.letters("malformed_json"), lambda r: len(r) == 1,
                 what="the garbage on the DLQ")

        deal = json.dumps({"tenant_id": "acme", "deal_id": "D-1", "stage": "Closed Won",
                           "amount_minor": 500000, "currency": "USD", "customer_id": "C-1",
                           "close_time": ago(40)})
        produce(self.b, "crm.deals", [("acme:D-1", deal)])
        wait_for(self.records, lambda r: any(x["exception_id"] == EXCEPTION_ID for x in r),
                 what="the exception opening")

        dry = self.redrive("--reason", "unknown_exception", "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("would send 1 (closeloop.commands: 1); left 1 of other reasons", dry.stdout)

        sent = self.redrive("--reason", "unknown_exception", "--topic", "closeloop.commands")
        self.assertEqual(sent.returncode, 0, sent.stderr)
        self.assertIn("sent 1 (closeloop.commands: 1)", sent.stdout)
        echo = wait_for(self.records,
                        lambda r: any(x["state"] == "ACKNOWLEDGED" for x in r),
                        what="the ACKNOWLEDGED echo")
        self.assertEqual([x["exception_id"] for x in echo if x["state"] == "ACKNOWLEDGED"],
                         [EXCEPTION_ID])
        again = consume(self.b, "closeloop.commands")
        self.assertEqual(len(again), 2, "the dry run sent nothing")
        self.assertEqual(again[1]["key"], "c1")
        self.assertEqual(again[1]["payload"], ack)
        self.assertEqual(headers_of(again[1]), {"trace": "t-1", "closeloop.forged": "x"},
                         "its own headers, none of the DLQ's")
        # Its own time too: a record without event_time takes it.
        self.assertEqual(headers_of(self.letters("unknown_exception")[0])
                         ["closeloop.source.timestamp"], str(again[0]["ts"]))
        self.assertEqual(again[1]["ts"], again[0]["ts"], "sent with its original timestamp")

        # Sent twice, it is refused as replayed and changes nothing.
        twice = self.redrive("--reason", "unknown_exception")
        self.assertEqual(twice.returncode, 0, twice.stderr)
        wait_for(lambda: self.letters("replayed_command"), lambda r: len(r) == 1,
                 what="the second one refused as replayed")
        self.assertEqual(sum(x["state"] == "ACKNOWLEDGED" for x in self.records()), 1)

    def test_a_letter_still_refused_is_sent_once_however_often_it_is_redriven(self):
        """A dead letter redriven while its cause is not fixed comes back to the
        DLQ as a second letter with the same record; each run sent every copy,
        so the letters of a reason doubled with every run."""
        deal = json.dumps({"tenant_id": "acme", "deal_id": "D-BAD", "stage": "Closed Won",
                           "amount_minor": 100, "currency": "ABC", "close_time": ago(1)})
        produce(self.b, "crm.deals", [("acme:D-BAD", deal)])
        wait_for(lambda: self.letters("bad_currency"), lambda r: len(r) == 1,
                 what="the deal refused as bad_currency")
        for run in range(1, 4):
            r = self.redrive("--reason", "bad_currency")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("sent 1 (crm.deals: 1)", r.stdout, f"run {run}")
            letters = wait_for(lambda: self.letters("bad_currency"),
                               lambda r, n=run: len(r) >= n + 1,
                               what=f"the letter of run {run} back on the DLQ")
            self.assertEqual(len(letters), run + 1, f"run {run}")
            self.assertTrue(all(x["payload"] == deal for x in letters))
        dry = self.redrive("--reason", "bad_currency", "--dry-run")
        self.assertIn("would send 1 (crm.deals: 1)", dry.stdout)
        self.assertIn("3 repeating a record sent before", dry.stdout)

    def test_without_a_reason_it_prints_usage(self):
        r = subprocess.run([CLOSELOOP, "redrive", "--bootstrap", self.b],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--reason is required", r.stderr)
        self.assertIn("Usage", r.stderr)


if __name__ == "__main__":
    unittest.main()
