"""Operations end to end (SPEC §7, §8): `closeloop run` on a small known
scenario; /metrics scraped and checked value by value; /healthz, /readyz;
/v1/exceptions filters; `closeloop report` in every format and its exit codes."""

import csv
import io
import json
import re
import subprocess
import unittest

from kafka_harness import CLOSELOOP, DevBroker, Service, get, produce, stop_cleanly, wait_for

CONFIG = """
http:
  listen: 127.0.0.1:0
time:
  idle_after: 1s
defaults:
  require_order: false
tenants:
  acme: {}
"""


def deal(tenant, deal_id, amount):
    return json.dumps({"tenant_id": tenant, "deal_id": deal_id, "stage": "Closed Won",
                       "amount_minor": amount, "currency": "USD", "customer_id": "C-" + deal_id,
                       "close_time": "2026-01-01T00:00:00Z"})


def invoice(tenant, invoice_id, deal_id, amount):
    return json.dumps({"tenant_id": tenant, "invoice_id": invoice_id, "deal_id": deal_id,
                       "customer_id": "C-" + deal_id, "amount_minor": amount, "currency": "USD",
                       "issue_time": "2026-01-05T00:00:00Z", "due_time": "2026-02-04T00:00:00Z"})


def samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def metrics_text(base):
    """The body of /metrics, or "" while it answers anything but 200 (503
    until the first snapshot)."""
    status, text = get(base + "/metrics")
    return text if status == 200 else ""


def series(text, name, **labels):
    """Value of the series `name` with exactly these labels (any order)."""
    for key, value in samples(text).items():
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})?", key)
        if m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if got == labels:
            return value
    return None


def report(url, *args):
    return subprocess.run([CLOSELOOP, "report", "--url", url, *args], capture_output=True,
                          text=True, timeout=60)


class Operations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = DevBroker(partitions=1)
        b = cls.broker.bootstrap
        cls.service = Service(b, CONFIG)
        produce(b, "crm.deals", [("acme:D-1", deal("acme", "D-1", 1_200_000)),
                                 ("acme:D-2", deal("acme", "D-2", 500_000)),
                                 ("zeta:D-9", deal("zeta", "D-9", 300_000)),
                                 ("bad", "{not json")])
        produce(b, "billing.invoices", [
            ("acme:I-2", invoice("acme", "I-2", "D-2", 500_000)),
            ("zeta:I-9", invoice("zeta", "I-9", "D-9", 300_000)),
            ("bad", invoice("acme", "I-3", "D-1", -5))])
        produce(b, "billing.payments", [("zeta:P-9", json.dumps(
            {"tenant_id": "zeta", "payment_id": "P-9", "invoice_id": "I-9", "amount_minor": 300_000,
             "currency": "USD", "status": "SUCCEEDED", "event_time": "2026-01-20T00:00:00Z"}))])

        cls.base = cls.service.http_base()

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.service, cls.broker)

    def settled_metrics(self):
        """/metrics once both exceptions are open and every record is counted."""
        return wait_for(lambda: metrics_text(self.base), lambda t: series(
            t, "closeloop_open_exceptions", tenant="acme", kind="UNPAID", team="collections") == 1
            and series(t, "closeloop_open_exceptions", tenant="acme", kind="MISSING_INVOICE",
                       team="billing") == 1
            and series(t, "closeloop_events_consumed_total", topic="billing.payments",
                       type="payment") == 1, timeout=90, what="both exceptions open")

    def test_health_and_readiness(self):
        self.assertEqual(get(self.base + "/healthz"), (200, "ok\n"))
        wait_for(lambda: get(self.base + "/readyz"), lambda r: r[0] == 200, what="/readyz 200")
        self.settled_metrics()
        self.assertEqual(series(get(self.base + "/metrics")[1], "closeloop_ready"), 1)

    def test_metrics_have_exact_values(self):
        t = self.settled_metrics()
        expected = [
            ("closeloop_events_consumed_total", {"topic": "crm.deals", "type": "deal"}, 3),
            ("closeloop_events_consumed_total", {"topic": "billing.invoices", "type": "invoice"}, 2),
            ("closeloop_events_consumed_total", {"topic": "billing.payments", "type": "payment"}, 1),
            ("closeloop_dlq_records_total", {"reason": "malformed_json"}, 1),
            ("closeloop_dlq_records_total", {"reason": "negative_amount"}, 1),
            ("closeloop_decode_failures_total", {"topic": "crm.deals", "reason": "malformed_json"}, 1),
            ("closeloop_decode_failures_total",
             {"topic": "billing.invoices", "reason": "negative_amount"}, 1),
            ("closeloop_exceptions_opened_total", {"kind": "MISSING_INVOICE"}, 1),
            ("closeloop_exceptions_opened_total", {"kind": "UNPAID"}, 1),
            ("closeloop_amount_at_risk", {"tenant": "acme", "kind": "MISSING_INVOICE",
                                          "team": "billing", "currency": "USD"}, 12000.0),
            ("closeloop_amount_at_risk", {"tenant": "acme", "kind": "UNPAID",
                                          "team": "collections", "currency": "USD"}, 5000.0),
            ("closeloop_booked_amount", {"tenant": "acme", "currency": "USD"}, 17000.0),
            ("closeloop_billed_amount", {"tenant": "acme", "currency": "USD"}, 5000.0),
            ("closeloop_collected_amount", {"tenant": "acme", "currency": "USD"}, 0.0),
            # zeta is not in the config: its money is reported as "other".
            ("closeloop_booked_amount", {"tenant": "other", "currency": "USD"}, 3000.0),
            ("closeloop_collected_amount", {"tenant": "other", "currency": "USD"}, 3000.0),
            ("closeloop_open_exceptions_by_age", {"kind": "UNPAID", "age_bucket": "90+"}, 1),
        ]
        for name, labels, value in expected:
            self.assertEqual(series(t, name, **labels), value, f"{name}{labels}")
        # Nothing else open, and no tenant label outside the config.
        opened = {k: v for k, v in samples(t).items() if k.startswith("closeloop_open_exceptions{")}
        self.assertEqual(len(opened), 2, opened)
        self.assertNotIn('tenant="zeta"', t)
        self.assertEqual(series(t, "closeloop_source_stalled", source="crm"), 0)
        self.assertIn("closeloop_close_to_invoice_seconds_count 2", t)

    def test_dead_letter_reasons_not_seen_yet_are_at_zero(self):
        """A reason's series is there at 0 before its first dead letter, so
        that rate() and increase() (the DLQ panel, CloseloopDeadLetters) see
        the first ones after a start, when the counters begin again."""
        t = self.settled_metrics()
        for reason in ("bad_currency", "unknown_field", "unparseable_time", "unknown_exception"):
            self.assertEqual(series(t, "closeloop_dlq_records_total", reason=reason), 0, reason)
        self.assertEqual(series(t, "closeloop_dlq_records_total", reason="malformed_json"), 1)

    def test_exceptions_endpoint_filters(self):
        self.settled_metrics()

        def ids(query):
            status, body = get(self.base + "/v1/exceptions" + query)
            self.assertEqual(status, 200, body)
            return [e["deal_id"] for e in json.loads(body)["exceptions"]]
        # Sorted by time-weighted loss: D-1's 12,000 opened before D-2's 5,000.
        self.assertEqual(ids(""), ["D-1", "D-2"])
        self.assertEqual(ids("?kind=UNPAID"), ["D-2"])
        self.assertEqual(ids("?team=billing"), ["D-1"])
        self.assertEqual(ids("?min_amount=6000.00"), ["D-1"])
        self.assertEqual(ids("?tenant=zeta"), [])
        status, body = get(self.base + "/v1/exceptions?kind=NOPE")
        self.assertEqual(status, 400)
        self.assertIn("kind", json.loads(body)["error"])

    def test_report_command(self):
        self.settled_metrics()
        r = report(self.base, "--format", "json", "--tenant", "acme")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([(b["tenant"], b["booked_minor"], b["billed_minor"], b["collected_minor"])
                          for b in doc["books"]], [("acme", 1_700_000, 500_000, 0)])
        # Closed ten months ago: outside the 90-day trailing period, so no rate.
        self.assertIsNone(doc["books"][0]["realization_rate"])
        self.assertEqual(sorted((o["kind"], o["team"], o["amount_at_risk_minor"])
                                for o in doc["open_exceptions"]),
                         [("MISSING_INVOICE", "billing", 1_200_000),
                          ("UNPAID", "collections", 500_000)])

        r = report(self.base, "--format", "csv", "--min-amount", "6000")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [row for row in csv.reader(io.StringIO(r.stdout)) if row]
        top = [row for row in rows if row[0] == "top_exceptions"]
        self.assertEqual([(row[3], row[5], row[6]) for row in top],
                         [("MISSING_INVOICE", "USD", "12000.00")])

        r = report(self.base)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("USD 17,000.00", r.stdout)
        self.assertIn("MISSING_INVOICE", r.stdout)

        for bad in (["--format", "xml"], ["--kind", "NOPE"], ["--closed-since", "2026-13-01"],
                    ["--min-amount", "lots"], ["--colour"]):
            r = report(self.base, *bad)
            self.assertEqual(r.returncode, 2, (bad, r.stdout, r.stderr))
            self.assertIn("Usage", r.stderr + r.stdout, bad)
        r = report("http://127.0.0.1:1")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot reach the service", r.stderr)


class TrailingPeriod(unittest.TestCase):
    def test_realization_metrics_use_the_configured_trailing_period(self):
        """report.trailing_period reaches /metrics: with ten years, the deal
        closed on 2026-01-01 (outside the default 90 days) is in the period."""
        broker = DevBroker(partitions=1)
        try:
            produce(broker.bootstrap, "crm.deals", [("acme:D-1", deal("acme", "D-1", 1_200_000))])
            service = Service(broker.bootstrap, CONFIG + "report:\n  trailing_period: 3650d\n")
            try:
                base = service.http_base()
                text = wait_for(lambda: metrics_text(base),
                                lambda t: series(t, "closeloop_booked_amount", tenant="acme",
                                                 currency="USD") == 12000.0,
                                what="the deal booked")
                self.assertEqual(series(text, "closeloop_period_booked_amount", tenant="acme",
                                        currency="USD"), 12000.0)
            finally:
                code, log = service.stop()
                self.assertEqual(code, 0, log)
        finally:
            broker.stop()

if __name__ == "__main__":
    unittest.main(verbosity=2)
