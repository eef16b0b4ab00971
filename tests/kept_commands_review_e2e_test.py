"""Review of kept commands (README "Commands"): the same input must give the
same exception records whatever the batch sizes, and a rebuild must publish
what people's commands did at their time. Run against `closeloop dev-broker`
and `closeloop run --until-idle`."""

import json
import os
import sys
import tempfile
import unittest

from kafka_harness import EVENT_TIME_ONLY, DevBroker, Service, ago, consume, headers_of, produce
from parked_commands_e2e_test import heartbeats

CONFIG = EVENT_TIME_ONLY + """
tenants:
  acme:
    require_order: false
"""
EXCEPTION_ID = "acme:MISSING_INVOICE:D-1:1"


def deal(deal_id, days_ago=40, amount=500000, event_days_ago=None):
    # Closed 40 days ago, never invoiced: MISSING_INVOICE 10 days ago,
    # escalated 7 days later (3 days ago).
    return {"tenant_id": "acme", "deal_id": deal_id, "stage": "Closed Won",
            "amount_minor": amount, "currency": "USD", "customer_id": "C-1",
            "close_time": ago(days_ago),
            "event_time": ago(days_ago if event_days_ago is None else event_days_ago)}


def command(cid, exception_id, days_ago, action="ACK", **extra):
    return json.dumps({"command_id": cid, "tenant_id": "acme", "exception_id": exception_id,
                       "action": action, "actor": "ana", "event_time": ago(days_ago), **extra})


def run_steps(steps, extra_config=""):
    """steps: a list of lists of (topic, key, value); each step is produced,
    then a `closeloop run --until-idle` on the same state_dir. Returns the acme
    exception records (detected_at aside) and the DLQ (reason, payload)."""
    broker = DevBroker(partitions=1)
    b = broker.bootstrap
    try:
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state")
            logs = []
            for step in steps:
                for topic, key, value in step:
                    produce(b, topic, [(key, value)])
                code, log = Service(b, CONFIG + extra_config, state_dir=state,
                                    args=["--until-idle"]).wait(180)
                logs.append(log)
                if code != 0:
                    raise AssertionError(log)
            records = [json.loads(r["payload"]) for r in consume(b, "closeloop.exceptions")]
            records = [{k: v for k, v in r.items() if k != "detected_at"} for r in records
                       if r["tenant_id"] == "acme"]
            dlq = [(headers_of(r)["closeloop.reason"], r["payload"])
                   for r in consume(b, "closeloop.dlq")]
            return records, dlq, logs
    finally:
        broker.stop()


def hb(n, days_ago):
    return [(topic, "hb", json.dumps(doc)) for topic, doc in heartbeats(n, days_ago).items()]


def states(records):
    return [(r["exception_id"], r["state"]) for r in records]


BATCHES = {
    "records 1": "pipeline:\n  batch_max_records: 1\n",
    "records 10000": "pipeline:\n  batch_max_records: 10000\n  batch_max_wait: 2s\n",
    "timers 1": "pipeline:\n  batch_max_timers: 1\n",
}


class KeptCommandsReview(unittest.TestCase):
    maxDiff = None

    def same_for_every_batch_size(self, steps, expected=None):
        results = {name: run_steps(steps, cfg) for name, cfg in BATCHES.items()}
        first_name = next(iter(results))
        first = results[first_name]
        for name, (records, dlq, logs) in results.items():
            print(name, states(records), dlq, file=sys.stderr)
        if expected is not None:
            for name, (records, dlq, logs) in results.items():
                self.assertEqual(states(records), expected, f"{name}\n{logs[-1][-3000:]}")
        for name, (records, dlq, logs) in results.items():
            self.assertEqual((records, dlq), first[:2], f"{name} vs {first_name}")
        return first

    def test_ack_read_with_its_documents_stops_the_later_escalation(self):
        # One run reads everything: the ACK (5 days ago, after the
        # MISSING_INVOICE of 10 days ago, before its escalation 3 days ago),
        # the deal and the sources up to now.
        steps = [[("closeloop.commands", "c1", command("cmd-1", EXCEPTION_ID, 5)),
                  ("crm.deals", "acme:D-1", json.dumps(deal("D-1")))] + hb(1, 0)]
        self.same_for_every_batch_size(
            steps, [(EXCEPTION_ID, "OPEN"), (EXCEPTION_ID, "ACKNOWLEDGED")])


if __name__ == "__main__":
    unittest.main()
