"""A restart changes no record (SPEC §9: "the same input yields the same
exceptions, whatever the batch sizes, restarts or delivery timing").

Two services read the same input, each into its own topics and state:
- A runs without a break;
- B runs `--until-idle` once per phase, so it stops and starts again between
  the phases.

Phase 1: deal D-1 won, its order and its invoice (due day 30), then one
document per input topic at day 43 that moves every watermark there: UNPAID
opens (day 35) and escalates (day 42). Phase 2: documents at day 60, where
nothing of D-1 is due (the UNPAID slot stays evaluated to day 42). Phase 3:
the invoice's payment dated day 50, late for the watermark, then documents at
day 61.

Before the fix, B's first batch after its restart met no watermarks at all
(they were published only after the batch's documents), so the late payment
was taken as on time: RESOLVED at day 50 with 15 days of age, where A says
1 ms before day 60 and 24 days. Both must publish the same records.
"""

import datetime
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from kafka_harness import (EVENT_TIME_ONLY, DevBroker, Service, consume,  # noqa: E402
                           own_topics, produce, wait_for)


def config(name):
    return own_topics(name) + EVENT_TIME_ONLY + "pipeline:\n  batch_max_wait: 5s\n"


def day(n):
    return (datetime.date(2026, 1, 1) + datetime.timedelta(days=n)).isoformat() + "T00:00:00Z"


def doc(**fields):
    return json.dumps(fields)


def heartbeats(n):
    """One document of tenant hb per input topic at day n."""
    t = day(n)
    return [
        ("crm.deals", doc(tenant_id="hb", deal_id=f"D-hb{n}", stage="Prospecting",
                          amount_minor=100, currency="USD", customer_id="C-hb",
                          close_time=t, event_time=t)),
        ("erp.orders", doc(tenant_id="hb", order_id=f"O-hb{n}", deal_id=f"D-hb{n}",
                           customer_id="C-hb", amount_minor=100, currency="USD",
                           status="OPEN", event_time=t)),
        ("billing.invoices", doc(tenant_id="hb", invoice_id=f"I-hb{n}", deal_id=f"D-hb{n}",
                                 customer_id="C-hb", amount_minor=100, currency="USD",
                                 issue_time=t, due_time=t, event_time=t)),
        ("billing.payments", doc(tenant_id="hb", payment_id=f"P-hb{n}", invoice_id=f"I-hb{n}",
                                 customer_id="C-hb", amount_minor=100, currency="USD",
                                 status="SUCCEEDED", event_time=t)),
    ]


PHASE_1 = [
    ("crm.deals", doc(tenant_id="acme", deal_id="D-1", stage="Closed Won", amount_minor=100000,
                      currency="USD", customer_id="C-1", close_time=day(0), event_time=day(0))),
    ("erp.orders", doc(tenant_id="acme", order_id="O-1", deal_id="D-1", customer_id="C-1",
                       amount_minor=100000, currency="USD", status="OPEN", event_time=day(0))),
    ("billing.invoices", doc(tenant_id="acme", invoice_id="I-1", deal_id="D-1", order_id="O-1",
                             customer_id="C-1", amount_minor=100000, currency="USD",
                             issue_time=day(0), due_time=day(30), event_time=day(0))),
] + heartbeats(43)

# Deal D-2 has no order: its MISSING_ORDER (day 53) shows the phase was read.
PHASE_2 = [
    ("crm.deals", doc(tenant_id="acme", deal_id="D-2", stage="Closed Won", amount_minor=5000,
                      currency="USD", customer_id="C-1", close_time=day(50), event_time=day(50))),
] + heartbeats(60)

PHASE_3 = [
    ("billing.payments", doc(tenant_id="acme", payment_id="P-1", invoice_id="I-1",
                             customer_id="C-1", amount_minor=100000, currency="USD",
                             status="SUCCEEDED", event_time=day(50))),
] + heartbeats(61)


def send(bootstrap, records):
    for topic, value in records:
        produce(bootstrap, topic, [("k", value)])


def records(bootstrap, name):
    out = []
    for envelope in consume(bootstrap, f"{name}.exceptions"):
        r = json.loads(envelope["payload"])
        r.pop("detected_at", None)
        out.append(r)
    return out


def unpaid(recs):
    return [r for r in recs if r["exception_id"] == "acme:UNPAID:I-1:1"]


class Resume(unittest.TestCase):
    def test_a_restart_between_two_batches_changes_no_record(self):
        broker = DevBroker(partitions=1)
        work = tempfile.TemporaryDirectory()
        state_b = os.path.join(work.name, "b")
        live = Service(broker.bootstrap, config("a"))
        try:
            def run_b():
                code, log = Service(broker.bootstrap, config("b"), state_dir=state_b,
                                    args=["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-3000:])
                # The run before it left nothing in its outbox: what it
                # published was removed before it stopped, so this start
                # reads nothing back from the output topics.
                self.assertNotIn("outbox left by the last run", log)

            def states(exception_id):
                return [r["state"] for r in records(broker.bootstrap, "a")
                        if r["exception_id"] == exception_id]

            send(broker.bootstrap, PHASE_1)
            wait_for(lambda: states("acme:UNPAID:I-1:1"), lambda s: s == ["OPEN", "ESCALATED"],
                     what="UNPAID opened and escalated")
            run_b()
            send(broker.bootstrap, PHASE_2)
            wait_for(lambda: states("acme:MISSING_ORDER:D-2:1"), lambda s: s == ["OPEN"],
                     what="MISSING_ORDER of D-2")
            run_b()
            send(broker.bootstrap, PHASE_3)
            wait_for(lambda: states("acme:UNPAID:I-1:1"),
                     lambda s: s == ["OPEN", "ESCALATED", "RESOLVED"], what="UNPAID resolved")
            a = records(broker.bootstrap, "a")
            run_b()
        finally:
            code, log = live.stop()
            b = records(broker.bootstrap, "b")
            broker.stop()
            work.cleanup()
        self.assertEqual(code, 0, log[-3000:])
        resolved = unpaid(a)[-1]
        # The payment is late: the slot had been evaluated to the watermark
        # (1 ms before day 60), and the payment counts from there.
        self.assertEqual(resolved["resolution"], "RECOVERED")
        self.assertEqual(resolved["effective_at"], "2026-03-01T23:59:59.999Z", resolved)
        self.assertEqual(resolved["age_days"], "24", resolved)
        # Records of different exceptions may interleave differently across
        # batches; each exception's own records must be the same.
        def by_exception(recs):
            return sorted(recs, key=lambda r: (r["exception_id"], int(r["sequence"])))
        self.assertEqual(by_exception(b), by_exception(a))


if __name__ == "__main__":
    unittest.main()
