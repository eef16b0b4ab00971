"""Re-keying onto closeloop.events (README "Scaling out", issue "State and
exactly-once").

One `closeloop dev-broker` in its own process with closeloop.events of
TASKS partitions (one test at a time uses it), one generated company (REKEY_DEALS deals per tenant)
produced once. A reference `closeloop run --until-idle` (pipeline.tasks 1:
one process reads the input topics and matches) processes it into its own
topics. Then the same input goes through the re-keyed data flow, each role
its own process: `closeloop run --role ingest` re-keys every record onto
closeloop.events, and `closeloop run --role matcher --task K`, one per
partition, matches it.

What must hold:
- the ingest stage reads every input record once, and writes every valid
  one to the partition of its tenant (each matcher task sees only its own
  tenants' exceptions);
- the exception records of the tasks together, folded by exception_id
  (last sequence), equal the reference's; no (exception_id, sequence) pair
  is missing or published twice; the dead letters are the reference's;
- SIGKILL of the ingest stage and of a matcher task mid-work (as soon as
  each consumes, with 200-record batches) and their restarts change none of
  that, and each restart reads some records: the kill came mid-work;
- a matcher task restarted on its finished store reads nothing again;
- live, with watermarks following the wall clock (the ingest stage moves
  idle partitions' watermarks and sends them on), the tasks find every
  problem planted in a small company with its amount, and their open
  exceptions equal those of one live process.

Except in the live test, watermarks follow event time only
(time.follow_wall_clock: false), as in crash_test.py, so both data flows
see the same deadlines.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from crash_test import assert_equal_to_reference, exception_records  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from kafka_harness import (CLOSELOOP, EVENT_TIME_ONLY, DevBroker, Service,  # noqa: E402
                           consume, get, headers_of, own_topics, produce, records_read,
                           wait_for)

DEALS = int(os.environ.get("REKEY_DEALS", "1500"))
TASKS = 2
# The sample company's tenants, by the events partition they hash to
# (FNV-1a of the tenant id, modulo 2; app/rekey.h).
TENANT_TASK = {"acme": 1, "globex": 0}


def settings(name, tasks, batch=2000):
    return own_topics(name) + EVENT_TIME_ONLY + f"""
pipeline:
  batch_max_records: {batch}
  tasks: {tasks}
"""


class Rekey(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = DevBroker(partitions=4, events_partitions=TASKS)
        cls.work = tempfile.TemporaryDirectory()
        config_path = os.path.join(cls.work.name, "sample.yaml")
        r = subprocess.run([CLOSELOOP, "sample", "--bootstrap", cls.broker.bootstrap,
                            "--deals", str(DEALS), "--config-out", config_path],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        words = r.stdout.split()
        cls.produced = int(words[1]) + int(words[4])  # events and bad records
        with open(config_path) as f:
            cls.tenants = f.read().replace("time:\n  idle_after: 1s\n", "")
        reference = Service(cls.broker.bootstrap, cls.tenants + settings("reference", 1),
                            args=["--until-idle"])
        code, log = reference.wait(900)
        assert code == 0, log[-3000:]
        assert records_read(log) == cls.produced, (records_read(log), cls.produced)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        cls.work.cleanup()

    def run_role(self, name, state, args, timeout=900):
        service = Service(self.broker.bootstrap, self.config(name), state_dir=state,
                          args=[*args, "--until-idle"])
        code, log = service.wait(timeout)
        self.assertEqual(code, 0, log[-3000:])
        return log

    def config(self, name):
        # Small batches: many commits, so that a kill lands in the middle.
        return self.tenants + settings(name, TASKS, batch=200)

    def kill_and_restart(self, name, state, args):
        """Kills the role with SIGKILL as soon as it consumes, then runs it to the
        end; returns how many records the restart read."""
        killed = Service(self.broker.bootstrap, self.config(name), state_dir=state, args=args)
        wait_for(killed.read_log, lambda log: "consuming:" in log, 120,
                 f"{args} to start consuming")
        killed.kill()
        return records_read(self.run_role(name, state, args))

    def test_ingest_and_two_matcher_tasks_equal_one_process(self):
        name = "split"
        state = os.path.join(self.work.name, name)
        # The ingest stage is killed mid-work and restarted: it resumes from its
        # stored offsets.
        again = self.kill_and_restart(name, state, ["--role", "ingest"])
        self.assertGreater(again, 0, "the kill came after the ingest stage had finished")
        self.assertLessEqual(again, self.produced)
        # Every tenant's records are in its own partition, and nothing else is
        # but watermark records.
        tenants_in = {0: set(), 1: set()}
        out = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-C", "-t", "closeloop.events",
                              "-e", "-q", "-o", "beginning", "-f", "%p %k\\n"],
                             capture_output=True, check=True, timeout=60).stdout
        for line in out.decode().splitlines():
            partition, _, key = line.partition(" ")
            if key:
                tenants_in[int(partition)].add(key)
        self.assertEqual(tenants_in, {t: {k for k, v in TENANT_TASK.items() if v == t}
                                      for t in range(TASKS)})

        # Task 0 runs to the end; task 1 is killed mid-work and restarted.
        self.run_role(name, state, ["--role", "matcher", "--task", "0"])
        again = self.kill_and_restart(name, state, ["--role", "matcher", "--task", "1"])
        self.assertGreater(again, 0, "the kill came after task 1 had finished")

        records, _ = assert_equal_to_reference(self, self.broker.bootstrap, name, at_least=500)
        for record in exception_records(self.broker.bootstrap, f"{name}.exceptions"):
            self.assertIn(record["tenant_id"], TENANT_TASK)

        # A restart on the finished stores reads nothing again.
        for task in range(TASKS):
            log = self.run_role(name, state, ["--role", "matcher", "--task", str(task)])
            self.assertEqual(records_read(log), 0, log[-2000:])
        print(f"\n{self.produced} input records re-keyed onto {TASKS} partitions by an ingest "
              f"stage killed and restarted; {records} exception records from {TASKS} matcher "
              "tasks (one killed and restarted) equal to one process's")

    def test_roles_refuse_what_does_not_fit(self):
        config = self.config("refused")
        cases = [
            ([], "pipeline.tasks is 2"),
            (["--role", "matcher", "--task", "2"], "tasks are 0 to 1"),
            (["--role", "matcher"], "--task goes with --role matcher"),
        ]
        for args, message in cases:
            service = Service(self.broker.bootstrap, config, args=args)
            code, log = service.wait(60)
            self.assertEqual(code, 2, log)
            self.assertIn(message, log)
        # An events topic whose partitions are not pipeline.tasks.
        service = Service(self.broker.bootstrap, self.tenants + settings("mismatch", 3),
                          args=["--role", "ingest"])
        code, log = service.wait(120)
        self.assertEqual(code, 1, log)
        self.assertIn("closeloop.events has 2 partitions but pipeline.tasks is 3", log)


def open_exceptions(bootstrap, topic):
    """(tenant, kind, subject) -> amount at risk of every open exception."""
    got = {}
    for e in consume(bootstrap, topic):
        rec = json.loads(e["payload"])
        kind = rec["kind"]
        subject = rec["invoice_id"] if kind in ("UNPAID", "TERMS_MISMATCH", "ORPHAN_INVOICE") else (
            rec["order_id"] if kind == "ORPHAN_ORDER" else rec.get("deal_id", ""))
        key = (rec["tenant_id"], kind, subject)
        if rec["state"] == "RESOLVED":
            got.pop(key, None)
        else:
            got[key] = int(rec["amount_at_risk_minor"])
    return got


class Live(unittest.TestCase):
    def test_live_tasks_find_the_planted_problems_as_one_process_does(self):
        broker = DevBroker(partitions=3, events_partitions=TASKS)
        services = []
        try:
            with tempfile.TemporaryDirectory() as d:
                config, planted = os.path.join(d, "c.yaml"), os.path.join(d, "p.jsonl")
                r = subprocess.run([CLOSELOOP, "sample", "--bootstrap", broker.bootstrap,
                                    "--deals", "40", "--config-out", config,
                                    "--planted-out", planted],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(planted) as f:
                    want = {(p["tenant"], p["kind"], p["subject_id"]): p["amount_at_risk_minor"]
                            for p in map(json.loads, f)}
                with open(config) as f:
                    tenants = f.read()  # idle_after: 1s, watermarks follow the wall clock

                def own(name, tasks):
                    return tenants + own_topics(name) + f"pipeline:\n  tasks: {tasks}\n"
                state = os.path.join(d, "split")
                for task in range(TASKS):
                    services.append(Service(broker.bootstrap, own("split", TASKS), state_dir=state,
                                            args=["--role", "matcher", "--task", str(task)]))
                services.append(Service(broker.bootstrap, own("split", TASKS), state_dir=state,
                                        args=["--role", "ingest"]))
                services.append(Service(broker.bootstrap, own("one", 1)))

                def planted_found():
                    got = open_exceptions(broker.bootstrap, "split.exceptions")
                    return {k: v for k, v in got.items() if k in want}
                wait_for(planted_found, lambda got: got == want, timeout=120,
                         what="every planted problem with its amount from the matcher tasks")
                wait_for(lambda: (open_exceptions(broker.bootstrap, "split.exceptions"),
                                  open_exceptions(broker.bootstrap, "one.exceptions")),
                         lambda both: both[0] == both[1], timeout=60,
                         what="the tasks' open exceptions to equal one process's")
                for service in services:
                    code, log = service.stop()
                    self.assertEqual(code, 0, log[-2000:])
                services.clear()
        finally:
            for service in services:
                service.kill()
            broker.stop()


class AfterTheIngestStage(unittest.TestCase):
    def test_tasks_started_after_the_ingest_stage_read_everything_and_end(self):
        """README's order with the defaults (watermarks follow the wall clock)
        and kafka.start_from latest: the ingest stage takes two deals off the
        input topics and stops; each matcher task, started afterwards with
        --until-idle, reads closeloop.events from its beginning (its offsets
        are not the input's: starting at its end lost the deals) and ends once
        it has read it (it waited for watermarks past its own start, which
        the stopped ingest stage never sends)."""
        broker = DevBroker(partitions=1, events_partitions=TASKS)
        try:
            with tempfile.TemporaryDirectory() as d:
                config = ("kafka:\n  group_id: late\n  start_from: latest\n"
                          "topics:\n  exceptions: late.exceptions\n  dlq: late.dlq\n"
                          f"time:\n  idle_after: 1s\npipeline:\n  tasks: {TASKS}\n")
                state = os.path.join(d, "late")
                ingest = Service(broker.bootstrap, config, state_dir=state,
                                 args=["--role", "ingest"])
                try:
                    base = ingest.http_base()
                    wait_for(lambda: get(base + "/readyz")[0], lambda s: s == 200, 60,
                             "the ingest stage at the end of the input topics")
                    for tenant, deal_id in (("acme", "D-1"), ("globex", "D-2")):
                        produce(broker.bootstrap, "crm.deals", [(f"{tenant}:{deal_id}", json.dumps(
                            {"tenant_id": tenant, "deal_id": deal_id, "stage": "Closed Won",
                             "amount_minor": 500000, "currency": "USD", "customer_id": "C-1",
                             "close_time": "2026-01-10T10:00:00Z",
                             "event_time": "2026-01-10T10:00:00Z"}))])
                    def events():  # binary Protobuf values: bytes, not kcat's JSON
                        return subprocess.run(
                            ["kcat", "-b", broker.bootstrap, "-C", "-t", "closeloop.events",
                             "-e", "-q", "-f", "%s\n"], capture_output=True, check=True,
                            timeout=60).stdout
                    wait_for(events, lambda raw: b"D-1" in raw and b"D-2" in raw, 60,
                             "both deals on closeloop.events")
                finally:
                    code, log = ingest.stop()
                self.assertEqual(code, 0, log[-2000:])
                # SIGTERM ends the stage where it is; --until-idle (from the
                # stored offsets now) ends only once it has sent watermarks
                # up to the wall clock, which the tasks' deadlines wait for.
                code, log = Service(broker.bootstrap, config, state_dir=state,
                                    args=["--role", "ingest", "--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-2000:])
                for task in range(TASKS):
                    matcher = Service(broker.bootstrap, config, state_dir=state,
                                      args=["--role", "matcher", "--task", str(task),
                                            "--until-idle"])
                    try:
                        code, log = matcher.wait(90)
                    except subprocess.TimeoutExpired:
                        matcher.kill()
                        self.fail(f"task {task} did not end: {matcher.read_log()[-2000:]}")
                    self.assertEqual(code, 0, log[-2000:])
                ids = {r["exception_id"] for r in exception_records(broker.bootstrap,
                                                                     "late.exceptions")}
                for want in ("acme:MISSING_ORDER:D-1:1", "globex:MISSING_ORDER:D-2:1"):
                    self.assertIn(want, ids)
        finally:
            broker.stop()

    def dead_letters_of_split_run(self, broker, name):
        """Runs the ingest stage, then acme's matcher task, each with
        --until-idle on topics named after `name`, and returns the records
        of their DLQ."""
        with tempfile.TemporaryDirectory() as d:
            config = own_topics(name) + f"time:\n  idle_after: 1s\npipeline:\n  tasks: {TASKS}\n"
            for args in (["--role", "ingest"],
                         ["--role", "matcher", "--task", str(TENANT_TASK["acme"])]):
                code, log = Service(broker.bootstrap, config, state_dir=os.path.join(d, name),
                                    args=args + ["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-2000:])
        return consume(broker.bootstrap, f"{name}.dlq")

    def test_a_command_near_the_record_limit_is_forwarded_and_dead_lettered(self):
        """The ingest stage forwards a command with its original record, for
        the dead letter of a refusal. A valid command of about 1 MB (JSON
        whitespace; under limits.max_record_bytes) made an events record
        over Kafka's message.max.bytes, refused for good: the stage exited 1
        at every start. The original's value now goes as a dead letter's
        would (left out past 512 KiB, its size kept), and the task that
        refuses the command dead-letters it saying how large it was."""
        broker = DevBroker(partitions=1, events_partitions=TASKS)
        try:
            command = json.dumps({"tenant_id": "acme", "command_id": "cmd-1",
                                  "exception_id": "acme:UNPAID:I-1:1", "action": "ACK",
                                  "actor": "ana", "event_time": "2026-01-10T10:00:00Z"})
            padded = (command[:-1] + " " * 1_030_000 + "}").encode()
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap,
                                     max_request_size=8 << 20)
            producer.send("closeloop.commands", key=b"cmd-1", value=padded)
            producer.flush(timeout=60)
            producer.close()
            letters = [e for e in self.dead_letters_of_split_run(broker, "big")
                       if e["key"] == "cmd-1"]
            self.assertEqual(len(letters), 1, letters)
            headers = headers_of(letters[0])
            self.assertEqual(headers["closeloop.reason"], "unknown_exception")
            self.assertEqual(headers["closeloop.value_bytes"], str(len(padded)))
            self.assertFalse(letters[0]["payload"])
        finally:
            broker.stop()

    def test_a_command_with_a_key_too_large_for_a_record_is_forwarded_and_dead_lettered(self):
        """A valid command whose key alone is over Kafka's message.max.bytes
        (the commands topic's broker took it): forwarded with its original
        key, the events record was refused for good and the ingest stage
        exited 1 at every start, the commands after it never applied. The
        original's key now goes as a dead letter's would (left out, its size
        kept), and the task that refuses the command dead-letters it saying
        how large the key was."""
        broker = DevBroker(partitions=1, events_partitions=TASKS)
        try:
            command = json.dumps({"tenant_id": "acme", "command_id": "cmd-1",
                                  "exception_id": "acme:UNPAID:I-1:1", "action": "ACK",
                                  "actor": "ana", "event_time": "2026-01-10T10:00:00Z"})
            key = b"k" * (2 << 20)
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap,
                                     max_request_size=8 << 20, buffer_memory=32 << 20)
            producer.send("closeloop.commands", key=key, value=command.encode(),
                          headers=[("trace", b"t-1")])
            producer.flush(timeout=60)
            producer.close()
            letters = self.dead_letters_of_split_run(broker, "bigkey")
            self.assertEqual(len(letters), 1, letters)
            headers = headers_of(letters[0])
            self.assertEqual(headers["closeloop.reason"], "unknown_exception")
            self.assertEqual(headers["closeloop.source.topic"], "closeloop.commands")
            self.assertEqual(headers["closeloop.key_bytes"], str(len(key)))
            self.assertEqual(headers["closeloop.value_bytes"], str(len(command)))
            self.assertIsNone(letters[0]["key"])
        finally:
            broker.stop()

    def test_a_document_too_large_for_the_events_topic_is_dead_lettered(self):
        """A deal within the configured limits (limits.max_billing_periods
        and max_record_bytes raised) whose canonical form is over Kafka's
        message.max.bytes: 100,000 milestones, 1.2 MB as a v1.Event. The
        ingest stage wrote it to closeloop.events as one record, refused for
        good, and exited 1 at every start, nothing after it forwarded. It is
        now a dead letter (oversized), in every role alike, and the input
        after it goes on (an order: the dev-broker keeps about 5 MiB a
        partition)."""
        broker = DevBroker(partitions=1, events_partitions=TASKS)
        try:
            def deal(deal_id, milestones):
                return json.dumps({
                    "tenant_id": "acme", "deal_id": deal_id, "stage": "Closed Won",
                    "amount_minor": milestones, "currency": "USD", "customer_id": "C-1",
                    "close_time": "2025-12-01T00:00:00Z",
                    "billing_plan": {"kind": "MILESTONES", "milestones": [
                        {"due_time": "2026-01-01T00:00:00Z", "amount_minor": 1}] * milestones},
                }).encode()
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap,
                                     max_request_size=16 << 20, buffer_memory=64 << 20)
            producer.send("crm.deals", key=b"D-1", value=deal("D-1", 100_000))
            producer.send("erp.orders", key=b"O-1", value=json.dumps({
                "tenant_id": "acme", "order_id": "O-1", "deal_id": "D-1", "amount_minor": 5,
                "currency": "USD", "event_time": "2025-12-02T00:00:00Z"}).encode())
            producer.flush(timeout=60)
            producer.close()
            with tempfile.TemporaryDirectory() as d:
                config = own_topics("bigdeal") + (
                    f"time:\n  idle_after: 1s\npipeline:\n  tasks: {TASKS}\n"
                    "limits:\n  max_record_bytes: 16777216\n  max_billing_periods: 200000\n")
                code, log = Service(broker.bootstrap, config, state_dir=os.path.join(d, "s"),
                                    args=["--role", "ingest", "--until-idle"]).wait(300)
                self.assertEqual(code, 0, log[-2000:])
                letters = consume(broker.bootstrap, "bigdeal.dlq")
                self.assertEqual([e["key"] for e in letters], ["D-1"], log[-2000:])
                headers = headers_of(letters[0])
                self.assertEqual(headers["closeloop.reason"], "oversized")
                self.assertEqual(headers["closeloop.source.offset"], "0")
                keys = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t",
                                       "closeloop.events", "-e", "-q", "-o", "beginning",
                                       "-f", "%k\\n"],
                                      capture_output=True, check=True, timeout=60).stdout
                self.assertEqual(keys.split().count(b"acme"), 1, "the order is forwarded")
        finally:
            broker.stop()

    def test_a_store_keeps_the_split_it_was_built_under(self):
        """A tenant's state is in the store of the task its id routes to: a
        store built under one split refuses another (pipeline.tasks or
        topics.events), and a split's role refuses a single process's
        state_dir, instead of sending documents where nothing is known of
        them."""
        broker = DevBroker(partitions=1, events_partitions=TASKS)
        try:
            with tempfile.TemporaryDirectory() as d:
                def run(state, tasks, args, more=""):
                    config = f"time:\n  idle_after: 1s\npipeline:\n  tasks: {tasks}\n" + more
                    return Service(broker.bootstrap, config, state_dir=state,
                                   args=[*args, "--until-idle"]).wait(120)

                split, single = os.path.join(d, "split"), os.path.join(d, "single")
                for args in (["--role", "ingest"], ["--role", "matcher", "--task", "0"]):
                    code, log = run(split, TASKS, args)
                    self.assertEqual(code, 0, log[-2000:])
                code, log = run(split, 3, ["--role", "ingest"])
                self.assertEqual(code, 1, log[-2000:])
                self.assertIn("was built with pipeline.tasks 2 and topics.events closeloop.events"
                              ", and the config now says pipeline.tasks 3", log)
                code, log = run(split, TASKS, ["--role", "matcher", "--task", "0"],
                                "topics:\n  events: other.events\n")
                self.assertEqual(code, 1, log[-2000:])
                self.assertIn("now says pipeline.tasks 2 and topics.events other.events", log)
                code, log = run(single, 1, [])
                self.assertEqual(code, 0, log[-2000:])
                code, log = run(single, TASKS, ["--role", "ingest"])
                self.assertEqual(code, 1, log[-2000:])
                self.assertIn("holds the store of a single process", log)
                self.assertFalse(os.path.exists(os.path.join(single, "ingest")),
                                 "refused before its store was made")
                # A single process whose state_dir moved one level down (the
                # shipped configs did) would leave its store behind.
                code, log = run(os.path.join(single, "store"), 1, [])
                self.assertEqual(code, 1, log[-2000:])
                self.assertIn("holds a closeloop store (a RocksDB CURRENT file)", log)
        finally:
            broker.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
