"""Test harness: runs `closeloop dev-broker` and `closeloop run` as separate
processes and talks to them with kcat, an independent Kafka client, the way a
user would. Loopback only; every port is chosen by the broker."""

import contextlib
import datetime
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

CLOSELOOP = os.environ.get("CLOSELOOP_BIN", "closeloop")


def _read_bootstrap(proc, what):
    line = proc.stdout.readline()
    if not line.startswith("bootstrap="):
        raise RuntimeError(f"{what} did not print bootstrap=, got {line!r}")
    return line.strip().split("=", 1)[1]


class DevBroker:
    """`closeloop dev-broker`. It keeps at most 5 MiB per partition and says
    on stderr when it deleted records (app/embedded_kafka.h); with
    capture_log=True that goes to a file `log()` reads."""

    def __init__(self, partitions=2, capture_log=False, events_partitions=0):
        self._log = tempfile.TemporaryFile("w+") if capture_log else None
        self.proc = subprocess.Popen(
            [CLOSELOOP, "dev-broker", "--partitions", str(partitions),
             "--events-partitions", str(events_partitions)],
            stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.bootstrap = _read_bootstrap(self.proc, "dev-broker")

    def log(self):
        self._log.seek(0)
        return self._log.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Service:
    """`closeloop run` against a broker, with a config written for the test.
    Its state store is in `state_dir` (kept by the caller, e.g. across
    restarts), or in a directory of its own that goes with it."""

    def __init__(self, bootstrap, config_yaml, state_dir=None, args=()):
        self.dir = tempfile.TemporaryDirectory()
        if not any(line.startswith("http:") for line in config_yaml.splitlines()):
            # Tests run side by side: never the fixed default port.
            config_yaml += "\nhttp:\n  listen: 127.0.0.1:0\n"
        self.config = os.path.join(self.dir.name, "closeloop.yaml")
        if "state_dir:" not in config_yaml:
            state_dir = state_dir or os.path.join(self.dir.name, "state")
            config_yaml += f"\nstate_dir: {state_dir}\n"
        with open(self.config, "w") as f:
            f.write(config_yaml)
        self.log = open(os.path.join(self.dir.name, "service.log"), "w+")
        self.proc = subprocess.Popen(
            [CLOSELOOP, "run", "--config", self.config, "--bootstrap", bootstrap, *args],
            stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def read_log(self):
        """Everything it has logged so far."""
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def http_base(self, timeout=60.0):
        """http://HOST:PORT of its endpoints, from the http= line it prints."""
        def address():
            m = re.search(r"^http=(\S+)$", self.read_log(), re.M)
            return m.group(1) if m else None
        return "http://" + wait_for(address, lambda a: a is not None, timeout, "http= line")

    def stop(self):
        self.proc.terminate()
        return self.wait(60)

    def wait(self, timeout):
        """Waits for the process to exit; returns its exit code and log."""
        code = self.proc.wait(timeout=timeout)
        self.log.seek(0)
        return code, self.log.read()

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)


def stop_cleanly(service, broker):
    """Stops `service` (SIGTERM) and then `broker`; fails unless the service
    exited 0."""
    code, log = service.stop()
    broker.stop()
    if code != 0:
        raise AssertionError(f"closeloop run exited {code} on SIGTERM:\n{log}")


def ago(days):
    """RFC 3339 UTC time `days` before now."""
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def acme_deal(deal_id, amount, **extra):
    """A deal of tenant acme won 40 days ago, as JSON; `extra` adds or
    replaces fields."""
    body = {"tenant_id": "acme", "deal_id": deal_id, "stage": "Closed Won",
            "amount_minor": amount, "currency": "USD", "customer_id": "C-1",
            "close_time": ago(40)}
    body.update(extra)
    return json.dumps(body)


def own_topics(name):
    """Config for a service that keeps to itself on a shared broker: its own
    consumer group and output topics NAME.exceptions and NAME.dlq."""
    return f"""
kafka:
  group_id: {name}
topics:
  exceptions: {name}.exceptions
  dlq: {name}.dlq
"""


# Watermarks follow event time only, and no source is ever judged stalled:
# runs at different wall-clock moments see the same deadlines.
EVENT_TIME_ONLY = """
time:
  follow_wall_clock: false
  source_silence_limit: 3650d
"""


def records_read(log):
    """N of the last "stopped after N records" line of a `closeloop run` log."""
    m = re.findall(r"stopped after (\d+) records", log)
    return int(m[-1]) if m else None


def produce(bootstrap, topic, records):
    """records: list of (key, value-string). One kcat call, in order."""
    data = "".join(f"{k}\t{v}\n" for k, v in records)
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-K", "\t"],
                   input=data, text=True, check=True, timeout=60)


def consume(bootstrap, topic):
    """Every record now on `topic`, as kcat's JSON envelopes."""
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-e", "-J", "-q",
                          "-o", "beginning"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def get(url):
    """(status, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(fetch, predicate, timeout=60.0, what="condition"):
    """Polls `fetch()` until `predicate(result)` holds; returns the result.
    Bounded in time; fails the test with the last result otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if predicate(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {result!r}"[:4000])
        time.sleep(0.25)


def headers_of(envelope):
    h = envelope.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))


def large_record_producer(bootstrap):
    """A python3-kafka producer that sends records up to 16 MB (its
    default limit is 1 MB)."""
    return KafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 << 20,
                         buffer_memory=32 << 20, request_timeout_ms=60000)


def start_offsets(bootstrap, topic):
    """{partition: first offset the broker still holds} (python3-kafka: kcat
    does not tell)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return {tp.partition: o for tp, o in consumer.beginning_offsets(parts).items()}
    finally:
        consumer.close()


@contextlib.contextmanager
def broker_and_state():
    """A one-partition dev broker's bootstrap and a state directory that
    does not exist yet; both gone afterwards."""
    broker = DevBroker(partitions=1)
    work = tempfile.TemporaryDirectory()
    try:
        yield broker.bootstrap, os.path.join(work.name, "state")
    finally:
        broker.stop()
        work.cleanup()
