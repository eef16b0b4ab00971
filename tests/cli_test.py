"""The command line's contract (SPEC §10): exit codes 0/2/1, usage on a bad
flag, and a refused config naming its file, line, column and field."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from kafka_harness import DevBroker, Service, consume, get, produce, wait_for  # noqa: E402

CLOSELOOP = os.environ.get("CLOSELOOP_BIN", "closeloop")
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "app", "example-config.yaml")


def run(*args):
    return subprocess.run([CLOSELOOP, *args], capture_output=True, text=True, timeout=60)


class Cli(unittest.TestCase):
    def test_bad_flag_prints_usage_and_exits_2(self):
        r = run("run", "--no-such-flag")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--no-such-flag", r.stderr)
        self.assertIn("Usage: run", r.stderr)

    def test_bad_flag_values_print_usage_and_exit_2(self):
        # Each was accepted before: a port stoi could not read aborted the
        # process, and an unknown log level silently turned logging off.
        cases = [
            (["run", "--http-listen", "127.0.0.1:abc"], "--http-listen", "Usage: run"),
            (["run", "--http-listen", "127.0.0.1:99999999999"], "--http-listen", "Usage: run"),
            (["run", "--http-listen", "127.0.0.1:99999"], "expected HOST:PORT", "Usage: run"),
            (["run", "--http-listen", "garbage"], "expected HOST:PORT", "Usage: run"),
            (["--log-level", "bogus", "check-config", EXAMPLE], "--log-level", "Usage:"),
            (["check-config", EXAMPLE, "--log-level", "loud"], "--log-level", "Usage:"),
            # A list naming no broker: librdkafka took it and the run waited for ever.
            (["run", "--bootstrap", ","], "names no broker", "Usage: run"),
            (["sample", "--bootstrap", " , "], "names no broker", "Usage: sample"),
            (["redrive", "--bootstrap", ",", "--reason", "bad_currency"], "names no broker",
             "Usage: redrive"),
            # An empty path wrote nothing and said nothing; a topic no Kafka
            # can have matched nothing and said "would send 0".
            (["sample", "--bootstrap", "127.0.0.1:1", "--config-out", ""], "must not be empty",
             "Usage: sample"),
            (["sample", "--bootstrap", "127.0.0.1:1", "--planted-out", ""], "must not be empty",
             "Usage: sample"),
            (["redrive", "--bootstrap", "127.0.0.1:1", "--reason", "bad_currency", "--topic", ""],
             "not a Kafka topic name", "Usage: redrive"),
            (["redrive", "--bootstrap", "127.0.0.1:1", "--reason", "bad_currency", "--topic",
              "a b"], "not a Kafka topic name", "Usage: redrive"),
        ]
        for args, says, usage in cases:
            r = run(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(says, r.stderr, args)
            self.assertIn(usage, r.stderr, args)
        # The log level may follow the subcommand.
        r = run("check-config", EXAMPLE, "--log-level", "warn")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_until_idle_publishes_a_batch_beyond_one_outbox_chunk(self):
        """The outbox is published 20,000 records at a time; the second chunk
        read the first one again and stopped, so a batch with more records
        (dead letters here) was only partly published when --until-idle
        exited, the rest waiting for the next start."""
        n = 24000
        config = ("time:\n  follow_wall_clock: false\npipeline:\n"
                  "  batch_max_records: 100000\n  batch_max_wait: 10s\n")
        broker = DevBroker(partitions=4)
        work = tempfile.TemporaryDirectory()
        try:
            produce(broker.bootstrap, "crm.deals", [(f"k{i}", "{}") for i in range(n)])
            code, log = Service(broker.bootstrap, config, state_dir=os.path.join(work.name, "s"),
                                args=["--until-idle"]).wait(300)
            self.assertEqual(code, 0, log)
            self.assertIn(f"consuming: first {n} records", log)  # one batch
            self.assertEqual(len(consume(broker.bootstrap, "closeloop.dlq")), n)
        finally:
            broker.stop()
            work.cleanup()

    def test_a_second_until_idle_run_reads_nothing_again(self):
        """The input offsets are committed with each batch: a run after a
        finished one starts where it ended."""
        broker = DevBroker(partitions=1)
        work = tempfile.TemporaryDirectory()
        try:
            produce(broker.bootstrap, "crm.deals", [(f"k{i}", "{}") for i in range(5)])
            state = os.path.join(work.name, "s")
            config = "time:\n  idle_after: 1s\n"
            for expected in (5, 0):
                code, log = Service(broker.bootstrap, config, state_dir=state,
                                    args=["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log)
                self.assertIn(f"stopped after {expected} records", log)
        finally:
            broker.stop()
            work.cleanup()

    def test_no_subcommand_exits_2(self):
        r = run()
        self.assertEqual(r.returncode, 2)
        self.assertIn("A subcommand is required", r.stderr)
        self.assertIn("Usage:", r.stderr)

    def test_task_without_role_matcher_prints_usage_and_exits_2(self):
        for args in (["run", "--task", "0"], ["run", "--role", "ingest", "--task", "1"]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn("--task goes with --role matcher", r.stderr, args)
            self.assertIn("Usage: run", r.stderr, args)

    def test_a_negative_task_is_refused_with_its_range(self):
        """CLI11's NonNegativeNumber said "Value -1 not in range 0.000000 to
        1797693134862315...", the largest double written out in 309 digits."""
        r = run("run", "--role", "matcher", "--task", "-1")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--task: Value -1 not in range 0 to 1023", r.stderr)
        self.assertNotIn("1797693", r.stderr)
        self.assertIn("Usage: run", r.stderr)

    def test_a_split_role_without_a_shared_kafka_exits_2(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("pipeline:\n  tasks: 2\n")
        try:
            for args in (["--role", "ingest"], ["--role", "matcher", "--task", "1"]):
                r = run("run", "--config", f.name, *args)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                self.assertIn("shares a Kafka with the other roles: give --bootstrap", r.stderr)
        finally:
            os.unlink(f.name)

    def test_an_unreadable_bearer_token_file_stops_the_start(self):
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(d, "c.yaml")
            missing = os.path.join(d, "no-token")
            with open(config, "w") as f:
                f.write(f"http:\n  listen: 127.0.0.1:0\n  bearer_token_file: {missing}\n")
            # Nothing listens on port 1: the start must not get as far as the broker.
            r = subprocess.run([CLOSELOOP, "run", "--config", config, "--bootstrap", "127.0.0.1:1"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)  # a config error
            self.assertIn(f"http.bearer_token_file: {missing}: cannot open: No such file",
                          r.stderr)
            self.assertNotIn("http=", r.stdout)

    def test_kafka_properties_librdkafka_refuses_only_in_a_client_are_a_config_error(self):
        """Each value passes librdkafka's check of one property, but no client
        can be made with it: the run went as far as creating the state store
        and exited 1 with librdkafka's words alone, never naming
        kafka.properties."""
        cases = [
            ("security.protocol: SASL_SSL\n    sasl.mechanisms: SCRAM-SHA256\n"
             "    sasl.username: svc\n    sasl.password: hunter2",
             "Unsupported SASL mechanism: SCRAM-SHA256"),
            ("security.protocol: SASL_PLAINTEXT\n    sasl.mechanisms: PLAIN",
             "sasl.username and sasl.password must be set"),
            ('enable.idempotence: "false"', "requires `enable.idempotence=true`"),
        ]
        for properties, says in cases:
            with tempfile.TemporaryDirectory() as d:
                config, state = os.path.join(d, "c.yaml"), os.path.join(d, "state")
                with open(config, "w") as f:
                    f.write(f"state_dir: {state}\nhttp:\n  listen: 127.0.0.1:0\n"
                            f"kafka:\n  properties:\n    {properties}\n")
                # Nothing listens on port 1: the start must not get as far as the broker.
                r = subprocess.run([CLOSELOOP, "run", "--config", config,
                                    "--bootstrap", "127.0.0.1:1"],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, (properties, r.stdout, r.stderr))
                self.assertIn(f"config refused: {config}: field kafka.properties: "
                              "librdkafka refuses them", r.stderr)
                self.assertIn(says, r.stderr)
                self.assertNotIn("hunter2", r.stderr)
                self.assertNotIn("http=", r.stdout)
                self.assertFalse(os.path.exists(state), properties)
                r = run("redrive", "--bootstrap", "127.0.0.1:1", "--reason", "bad_currency",
                        "--config", config)
                self.assertEqual(r.returncode, 2, (properties, r.stderr))
                self.assertIn("field kafka.properties: librdkafka refuses them", r.stderr)

    def test_redrive_refuses_a_reason_no_dead_letter_can_have(self):
        """A misspelt --reason (bad-currency for bad_currency) matched nothing:
        the redrive read the whole DLQ, sent none of the dead letters meant and
        exited 0 as if there were none to send."""
        broker = DevBroker(partitions=1)
        try:
            for reason in ("bad-currency", "BAD_CURRENCY", ""):
                r = run("redrive", "--bootstrap", broker.bootstrap, "--reason", "bad_currency",
                        "--reason", reason, "--dry-run")
                self.assertEqual(r.returncode, 2, (reason, r.stdout, r.stderr))
                self.assertIn(f"--reason: not a closeloop.reason: \"{reason}\"", r.stderr)
                self.assertIn("bad_currency", r.stderr)  # the known ones are listed
                self.assertIn("Usage: redrive", r.stderr)
            r = run("redrive", "--bootstrap", broker.bootstrap, "--reason", "bad_currency",
                    "--reason", "cdc_gap_overflow", "--dry-run")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("read 0 dead letters from closeloop.dlq; would send 0", r.stdout)
        finally:
            broker.stop()

    def test_sigterm_while_the_broker_is_unreachable_at_start_exits_0(self):
        """Creating the missing topics came before waiting for the broker: it
        ignored SIGTERM and, some 40 s later, exited 1 saying a topic "does not
        exist and could not be created"."""
        with tempfile.TemporaryDirectory() as d:
            # Nothing listens on port 1.
            service = Service("127.0.0.1:1", "", state_dir=os.path.join(d, "s"))
            try:
                service.http_base()
                wait_for(service.read_log, lambda log: "waiting for the Kafka cluster" in log,
                         30, "the line saying it waits for the cluster")
                started = time.monotonic()
                code, log = service.stop()
                self.assertEqual(code, 0, log)
                self.assertLess(time.monotonic() - started, 10, log)
                self.assertNotIn("could not be created", log)
            finally:
                if service.proc.poll() is None:
                    service.kill()

    def test_http_listen_flag_overrides_the_config_whose_limits_apply(self):
        broker = DevBroker(partitions=1)
        try:
            config = ("http:\n  listen: 127.0.0.2:0\n  rate_limit_per_second: 2\n"
                      "  rate_limit_per_client_per_second: 0\n")
            service = Service(broker.bootstrap, config, args=["--http-listen", "127.0.0.1:0"])
            try:
                base = service.http_base()
                self.assertTrue(base.startswith("http://127.0.0.1:"), base)
                statuses = [get(base + "/v1/report")[0] for _ in range(8)]
                self.assertIn(429, statuses)
                self.assertLessEqual(statuses.count(429), 8 - 2, statuses)
            finally:
                code, log = service.stop()
                self.assertEqual(code, 0, log)
        finally:
            broker.stop()

    def test_log_level_warn_leaves_out_info_lines(self):
        broker = DevBroker(partitions=1)
        try:
            service = Service(broker.bootstrap, "", args=["--log-level", "warn"])
            base = service.http_base()
            wait_for(lambda: get(base + "/metrics")[0], lambda s: s == 200, what="a first batch")
            code, log = service.stop()
            self.assertEqual(code, 0, log)
            self.assertNotIn("closeloop running against", log)
            self.assertNotIn(" info ", log)
        finally:
            broker.stop()

    def test_sample_without_bad_records_produces_none(self):
        broker = DevBroker(partitions=1)
        try:
            r = run("sample", "--bootstrap", broker.bootstrap, "--deals", "10", "--no-bad-records")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"produced \d+ events and 0 bad records")
        finally:
            broker.stop()

    def test_malformed_config_is_refused_with_line_and_field(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("tenants:\n  acme:\n    invoice_windw: 3d\n")
        try:
            for args in (["check-config", f.name], ["run", "--config", f.name]):
                r = run(*args)
                self.assertEqual(r.returncode, 2, args)
                self.assertIn(f"{f.name}:3:5: field tenants.acme.invoice_windw: unknown field",
                              r.stderr)
        finally:
            os.unlink(f.name)

    def test_check_config_prints_the_effective_config(self):
        r = run("check-config", EXAMPLE)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in ("group_id: closeloop", "invoice_window: 30d", "exceptions: closeloop.exceptions"):
            self.assertIn(line, r.stdout)

    def test_demo_stopped_mid_way_says_so_instead_of_a_summary(self):
        """SIGINT while the pipeline was still reading: the demo printed its
        whole summary of the part it had read ("Planted problems found with the
        exact amount: 3220 of 3224"), as if closeloop had missed problems, and
        exited 1."""
        proc = subprocess.Popen([CLOSELOOP, "demo", "--deals", "5000"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            out = ""
            for line in proc.stdout:
                out += line
                if "consuming: first" in line:  # the pipeline is reading
                    proc.send_signal(signal.SIGINT)
                    break
            out += proc.stdout.read()
            self.assertEqual(proc.wait(timeout=120), 0, out[-3000:])
            self.assertIn("demo: stopped before the pipeline had read everything", out)
            self.assertNotIn("Planted problems found", out)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_help_exits_0(self):
        r = run("demo", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--keep-running", r.stdout)

    def test_sample_feeds_a_running_service_its_planted_problems(self):
        broker = DevBroker()
        try:
            with tempfile.TemporaryDirectory() as d:
                config, planted = os.path.join(d, "c.yaml"), os.path.join(d, "p.jsonl")
                r = run("sample", "--bootstrap", broker.bootstrap, "--deals", "20",
                        "--config-out", config, "--planted-out", planted)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"produced \d+ events and 6 bad records")
                with open(planted) as f:
                    want = {(p["tenant"], p["kind"], p["subject_id"]): p["amount_at_risk_minor"]
                            for p in map(json.loads, f)}
                self.assertGreater(len(want), 0)
                with open(config) as f:
                    service = Service(broker.bootstrap, f.read())
                try:
                    def found():
                        got = {}
                        for e in consume(broker.bootstrap, "closeloop.exceptions"):
                            rec = json.loads(e["payload"])
                            subject = rec["invoice_id"] if rec["kind"] in (
                                "UNPAID", "TERMS_MISMATCH", "ORPHAN_INVOICE") else (
                                rec["order_id"] if rec["kind"] == "ORPHAN_ORDER" else rec["deal_id"])
                            key = (rec["tenant_id"], rec["kind"], subject)
                            if rec["state"] == "RESOLVED":
                                got.pop(key, None)
                            else:
                                got[key] = int(rec["amount_at_risk_minor"])
                        return {k: v for k, v in got.items() if k in want}
                    wait_for(found, lambda got: got == want, timeout=90,
                             what="every planted problem with its amount")
                    # The dashboard and alert rules use only what the service serves.
                    checker = os.path.join(os.path.dirname(__file__), "..", "deploy",
                                           "check_metric_names.py")
                    r = subprocess.run(["/usr/bin/python3", checker, "--metrics",
                                        service.http_base() + "/metrics"],
                                       capture_output=True, text=True, timeout=60)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                finally:
                    service.stop()
        finally:
            broker.stop()

    def test_report_sends_the_bearer_token_from_a_file_never_the_command_line(self):
        broker = DevBroker(partitions=1)
        try:
            with tempfile.TemporaryDirectory() as d:
                token = os.path.join(d, "token")
                with open(token, "w") as f:
                    f.write("tok-7f3a9c\n")
                wrong = os.path.join(d, "wrong")
                with open(wrong, "w") as f:
                    f.write("not-the-token\n")
                service = Service(broker.bootstrap, "http:\n  listen: 127.0.0.1:0\n"
                                  f"  bearer_token_file: {token}\n")
                try:
                    url = service.http_base()
                    r = run("report", "--url", url, "--format", "json")
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn("requires a bearer token (401)", r.stderr)
                    self.assertIn("--bearer-token-file", r.stderr)
                    r = run("report", "--url", url, "--bearer-token-file", wrong)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn("refused the bearer token read from " + wrong, r.stderr)
                    self.assertNotIn("not-the-token", r.stderr)
                    # The service may not have published its first snapshot yet (503).
                    r = wait_for(lambda: run("report", "--url", url, "--format", "json",
                                             "--bearer-token-file", token),
                                 lambda r: r.returncode == 0, what="report with the token")
                    self.assertIn("books", json.loads(r.stdout))
                    r = run("report", "--url", url, "--format", "json",
                            "--config", service.config)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("books", json.loads(r.stdout))
                    r = run("report", "--url", url, "--bearer-token-file",
                            os.path.join(d, "missing"))
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn("--bearer-token-file: " + os.path.join(d, "missing") +
                                  ": cannot open: No such file", r.stderr)
                finally:
                    code, log = service.stop()
                    self.assertEqual(code, 0, log)
        finally:
            broker.stop()

    def test_a_record_kafka_refuses_for_good_stops_the_run_and_is_published_after_the_fix(self):
        broker = DevBroker(partitions=1)
        try:
            with tempfile.TemporaryDirectory() as state:
                rules = "time:\n  idle_after: 1s\ndefaults:\n  require_order: false\n"
                deal = {"tenant_id": "acme", "deal_id": "D-1", "stage": "Closed Won",
                        "amount_minor": 100000, "currency": "USD", "customer_id": "C-1",
                        "customer_name": "N" * 3000, "close_time": "2026-01-01T00:00:00Z"}
                produce(broker.bootstrap, "crm.deals", [("acme:D-1", json.dumps(deal))])
                # Its MISSING_INVOICE record (with the long customer name) is
                # over the producer's limit: the run stops and names it.
                small = Service(broker.bootstrap, "kafka:\n  properties:\n"
                                "    message.max.bytes: \"1500\"\n" + rules, state_dir=state)
                code, log = small.wait(90)
                self.assertEqual(code, 1, log)
                self.assertRegex(log, r"closeloop: Kafka refuses outbox record seq \d+ \(key "
                                      r"acme:MISSING_INVOICE:D-1:1, \d+ bytes with key and "
                                      r"headers\) for topic "
                                      r"closeloop.exceptions for good")
                self.assertEqual(consume(broker.bootstrap, "closeloop.exceptions"), [])
                # With the limit raised, the next start publishes it from the outbox.
                fixed = Service(broker.bootstrap, rules, state_dir=state)
                try:
                    got = wait_for(lambda: consume(broker.bootstrap, "closeloop.exceptions"),
                                   lambda recs: len(recs) > 0, timeout=90,
                                   what="the refused record published")
                    recs = [json.loads(r["payload"]) for r in got]
                    self.assertEqual({r["exception_id"] for r in recs},
                                     {"acme:MISSING_INVOICE:D-1:1"})
                    # The refused OPEN record comes first, once (escalations follow).
                    self.assertEqual([r["state"] for r in recs].count("OPEN"), 1, recs)
                    self.assertEqual(recs[0]["state"], "OPEN")
                finally:
                    code, log = fixed.stop()
                    self.assertEqual(code, 0, log)
        finally:
            broker.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
