"""Commands meet their exceptions at their time (README "Commands"): the same
input gives the same exception records whatever the batch sizes and run
boundaries, the commands topic is read to its end by --until-idle, and
before the sources, so a rebuild applies what people's commands did at their
time. Run against `closeloop dev-broker`
and `closeloop run --until-idle`."""

import json
import os
import sys
import tempfile
import unittest

from kafka_harness import DevBroker, Service, ago, consume, headers_of, produce
from parked_commands_e2e_test import CONFIG, EXCEPTION_ID, command, deal, heartbeats


def run_steps(steps, extra_config="", per_record=False):
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
                by_topic = {}  # each topic's records in their order
                for topic, key, value in step:
                    by_topic.setdefault(topic, []).append((key, value))
                for topic, records in by_topic.items():
                    for chunk in ([[r] for r in records] if per_record else [records]):
                        produce(b, topic, chunk)
                code, log = Service(b, CONFIG + extra_config, state_dir=state,
                                    args=["--until-idle"]).wait(180)
                logs.append(log)
                if code != 0:
                    raise AssertionError(log)
            records = [json.loads(r["payload"]) for r in consume(b, "closeloop.exceptions")]
            # Each exception's records in their order: batches interleave
            # different exceptions differently.
            records = sorted(({k: v for k, v in r.items() if k != "detected_at"}
                              for r in records if r["tenant_id"] == "acme"),
                             key=lambda r: (r["exception_id"], int(r["sequence"])))
            dlq = [(headers_of(r)["closeloop.reason"], r["payload"])
                   for r in consume(b, "closeloop.dlq")]
            return records, dlq, logs
    finally:
        broker.stop()


def hb(n, days_ago):
    return [(topic, "hb", json.dumps(doc)) for topic, doc in heartbeats(n, days_ago).items()]


def states(records):
    return [(r["exception_id"], r["state"]) for r in records]


def every_kind():
    """Commands of every kind for exceptions of several kinds, and their documents."""
    def doc(topic, key, **fields):
        return (topic, key, json.dumps({"tenant_id": "acme", **fields}))
    # In event-time order within each topic (README "Not done yet").
    deals = [
        doc("crm.deals", "acme:D-U", **deal("D-U", days_ago=60)),
        doc("crm.deals", "acme:D-1", **deal("D-1")),
        doc("crm.deals", "acme:D-2", **deal("D-2", amount=300000)),
    ]
    early = deals + [
        # D-U billed in full 55 days ago, due 45 days ago: UNPAID 40 days ago.
        doc("billing.invoices", "acme:I-U", invoice_id="I-U", deal_id="D-U",
            amount_minor=500000, currency="USD", issue_time=ago(55), due_time=ago(45),
            event_time=ago(55)),
        # An invoice linked to nothing: ORPHAN_INVOICE 23 days ago.
        doc("billing.invoices", "acme:I-O", invoice_id="I-O", customer_id="C-9",
            amount_minor=7000, currency="USD", issue_time=ago(30), event_time=ago(30)),
        doc("billing.payments", "acme:P-U", payment_id="P-U", invoice_id="I-U",
            amount_minor=100000, currency="USD", event_time=ago(20)),
    ]
    late = [
        # D-2 grows after its DISMISS: a new generation.
        doc("crm.deals", "acme:D-2", **deal("D-2", amount=900000, event_days_ago=2)),
        # D-1 billed 4 days ago, after its ACK.
        doc("billing.invoices", "acme:I-1", invoice_id="I-1", deal_id="D-1",
            amount_minor=500000, currency="USD", issue_time=ago(4), event_time=ago(4)),
    ]
    commands = [
        ("closeloop.commands", "c1", command("snooze-1", EXCEPTION_ID, 9, "SNOOZE",
                                             snooze_until=ago(6))),
        ("closeloop.commands", "c2", command("ack-1", EXCEPTION_ID, 5)),
        ("closeloop.commands", "c3", command("dismiss-2", "acme:MISSING_INVOICE:D-2:1", 6,
                                             "DISMISS", note="by hand")),
        ("closeloop.commands", "c4", command("ack-2", "acme:MISSING_INVOICE:D-2:2", 1)),
        ("closeloop.commands", "c5", command("ack-u", "acme:UNPAID:I-U:1", 35)),
        ("closeloop.commands", "c6", command("snooze-o", "acme:ORPHAN_INVOICE:I-O:1", 20,
                                             "SNOOZE", snooze_until=ago(12))),
    ]
    return commands, early, late


BATCHES = {
    "records 10000": "pipeline:\n  batch_max_records: 10000\n  batch_max_wait: 2s\n",
    "timers 1": "pipeline:\n  batch_max_timers: 1\n",
}
# One record a batch: which topic the consumer returned first decided whether
# a command was read before the sources passed its time (CommandsBeforeTheSources).
ONE_RECORD = {"records 1": "pipeline:\n  batch_max_records: 1\n"}


class KeptCommands(unittest.TestCase):
    maxDiff = None

    def same_for_every_batch_size(self, steps, expected=None, batches=BATCHES):
        results = {name: run_steps(steps, cfg) for name, cfg in batches.items()}
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

    def test_until_idle_reads_the_commands_topic_to_its_end(self):
        # A run exits once every input is read (README "closeloop run"): the
        # commands topic too. It ended once the sources were at their end,
        # leaving the last commands (one kcat call each) for the next run,
        # which read them after the watermarks had passed their time.
        commands, early, late = every_kind()
        for attempt in range(3):
            records, dlq, logs = run_steps([commands + early + late + hb(1, 0), []],
                                           per_record=True)
            self.assertRegex(logs[1], r"stopped after 0 records", logs[1])

    def test_every_kind_of_command_same_for_batches_and_run_boundaries(self):
        commands, early, late = every_kind()
        one_run = [commands + early + late + hb(1, 0)]
        # What every run must give, not only the same as the others: each
        # command applied (none on the DLQ) and heeded. The ACKs leave no
        # escalation after them; the SNOOZE of D-1 ends before its ACK; the
        # DISMISS resolves D-2's first generation, and its growth opens a
        # second, ACKed; the orphan escalates once its snooze ends.
        records, dlq, _ = self.same_for_every_batch_size(one_run, [
            ("acme:MISSING_INVOICE:D-1:1", "OPEN"), ("acme:MISSING_INVOICE:D-1:1", "SNOOZED"),
            ("acme:MISSING_INVOICE:D-1:1", "ACKNOWLEDGED"),
            ("acme:MISSING_INVOICE:D-1:1", "RESOLVED"),
            ("acme:MISSING_INVOICE:D-2:1", "OPEN"), ("acme:MISSING_INVOICE:D-2:1", "RESOLVED"),
            ("acme:MISSING_INVOICE:D-2:2", "OPEN"), ("acme:MISSING_INVOICE:D-2:2", "ACKNOWLEDGED"),
            ("acme:ORPHAN_INVOICE:I-O:1", "OPEN"), ("acme:ORPHAN_INVOICE:I-O:1", "SNOOZED"),
            ("acme:ORPHAN_INVOICE:I-O:1", "ESCALATED"),
            ("acme:UNPAID:I-U:1", "OPEN"), ("acme:UNPAID:I-U:1", "ACKNOWLEDGED"),
            ("acme:UNPAID:I-U:1", "UPDATED")])
        self.assertEqual(dlq, [])
        resolutions = {r["exception_id"]: r["resolution"] for r in records
                       if r["state"] == "RESOLVED"}
        self.assertEqual(resolutions, {"acme:MISSING_INVOICE:D-1:1": "RECOVERED",
                                       "acme:MISSING_INVOICE:D-2:1": "DISMISSED"})
        for name, steps in {
            "commands first": [commands + hb(1, 70), early + late + hb(2, 0)],
            "three runs": [commands + hb(1, 70), early + hb(2, 8), late + hb(3, 0)],
        }.items():
            got, got_dlq, logs = run_steps(steps)
            print(name, states(got), got_dlq, file=sys.stderr)
            self.assertEqual((got, got_dlq), (records, dlq), name)


class CommandsBeforeTheSources(KeptCommands):
    """The sources wait until the commands topic is read to its end
    (ingest::Input): with batch_max_records 1, the consumer's fetch order
    once let a rebuild read the sources past a command's time before the
    command, which then came after the escalation it should have stopped."""

    def test_ack_read_with_its_documents_stops_the_later_escalation(self):
        steps = [[("closeloop.commands", "c1", command("cmd-1", EXCEPTION_ID, 5)),
                  ("crm.deals", "acme:D-1", json.dumps(deal("D-1")))] + hb(1, 0)]
        for attempt in range(3):  # it depended on the fetch order
            self.same_for_every_batch_size(
                steps, [(EXCEPTION_ID, "OPEN"), (EXCEPTION_ID, "ACKNOWLEDGED")], ONE_RECORD)

    test_until_idle_reads_the_commands_topic_to_its_end = None
    test_every_kind_of_command_same_for_batches_and_run_boundaries = None


if __name__ == "__main__":
    unittest.main()
