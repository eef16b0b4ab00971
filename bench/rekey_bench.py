#!/usr/bin/env python3
"""Re-keyed data flow against one process, on the same input (bench/README.md).

Usage: rekey_bench.py --closeloop BIN [--deals-per-tenant N] [--tasks T]
                      [--partitions P] [--out FILE]

One `closeloop dev-broker` (P partitions per input topic, T partitions of
closeloop.events) and the sample company (N deals per tenant, no bad
records) produced once. Then, on the same input:
- one: `closeloop run --until-idle` (pipeline.tasks 1);
- split: one `--role ingest` and T `--role matcher --task K` processes, all
  running at once, each with --until-idle.
Watermarks follow the wall clock (idle_after 200ms), so a matcher task's
--until-idle ends only once the ingest stage has read everything and sent
watermarks past the task's start. Each run's time is from the first
"consuming:" log line of its processes to the last "stopped after" line
(start-up and Kafka client set-up left out of both); CPU is the processes'
user + system time (os.wait4). Prints JSON; asserts no speed. The bench
fails if a matcher task's consumer reports a partition error on
closeloop.events (the embedded broker keeps 5 MiB per partition and
deletes older records, read or not: a task that fell that far behind lost
records), or if the two runs' exception record counts differ by more than
1% (they may differ a little: deadlines within the seconds between the two
runs fire in one and not the other).
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import kafka_harness  # noqa: E402

STAMP = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) "


def times_of(log):
    """(first consuming time, stopped time, records, exception records) of one log."""
    def at(pattern):
        m = re.search(STAMP + r".*" + pattern, log, re.M)
        return datetime.datetime.fromisoformat(m.group(1)) if m else None
    stopped = re.search(r"stopped after (\d+) records, (\d+) exception records", log)
    if stopped is None:
        raise RuntimeError("no 'stopped after' line:\n" + log[-2000:])
    return at("consuming: first"), at("stopped after"), int(stopped.group(1)), int(stopped.group(2))


def run(services, timeout):
    """Waits for every service; returns the run's figures."""
    cpu, logs = 0.0, []
    for s in services:
        s.log.flush()
        _, status, usage = os.wait4(s.proc.pid, 0)
        s.proc.returncode = os.waitstatus_to_exitcode(status)
        s.log.seek(0)
        log = s.log.read()
        if s.proc.returncode != 0:
            raise RuntimeError(f"exit {s.proc.returncode}:\n{log[-3000:]}")
        lost = re.findall(r"^.*consumer: closeloop\.events.*$", log, re.M)
        if lost:
            raise RuntimeError("a matcher task may have lost records (use fewer deals):\n" +
                               "\n".join(lost[:5]))
        cpu += usage.ru_utime + usage.ru_stime
        logs.append(times_of(log))
    starts = [t[0] for t in logs if t[0] is not None]
    seconds = (max(t[1] for t in logs) - min(starts)).total_seconds()
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "records_read": [t[2] for t in logs], "exception_records": sum(t[3] for t in logs)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--closeloop", required=True)
    p.add_argument("--deals-per-tenant", type=int, default=10_000)
    p.add_argument("--tasks", type=int, default=2)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--out")
    args = p.parse_args()
    kafka_harness.CLOSELOOP = args.closeloop
    broker = kafka_harness.DevBroker(partitions=args.partitions, events_partitions=args.tasks)
    try:
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(d, "sample.yaml")
            r = subprocess.run([args.closeloop, "sample", "--bootstrap", broker.bootstrap,
                                "--deals", str(args.deals_per_tenant), "--no-bad-records",
                                "--config-out", config], capture_output=True, text=True,
                               timeout=3600, check=True)
            events = int(r.stdout.split()[1])
            with open(config) as f:
                tenants = f.read().replace("time:\n  idle_after: 1s\n", "")

            def settings(name, tasks):
                return tenants + (f"time:\n  idle_after: 200ms\nkafka:\n  group_id: {name}\n"
                                  f"pipeline:\n  tasks: {tasks}\n")
            Service = kafka_harness.Service
            one = run([Service(broker.bootstrap, settings("one", 1),
                               state_dir=os.path.join(d, "one"), args=["--until-idle"])], 3600)
            state = os.path.join(d, "split")
            split_services = [
                Service(broker.bootstrap, settings("split", args.tasks), state_dir=state,
                        args=["--role", "matcher", "--task", str(k), "--until-idle"])
                for k in range(args.tasks)]
            split_services.append(Service(broker.bootstrap, settings("split", args.tasks),
                                          state_dir=state, args=["--role", "ingest",
                                                                 "--until-idle"]))
            split = run(split_services, 3600)
        if abs(split["exception_records"] - one["exception_records"]) > \
                0.01 * one["exception_records"]:
            raise RuntimeError(f"the split run published {split['exception_records']} exception "
                               f"records, one process {one['exception_records']}")
    finally:
        broker.stop()
    for r in (one, split):
        r["events_per_second"] = round(events / r["seconds"])
        r["events_per_cpu_second"] = round(events / r["cpu_seconds"])
    result = {"deals": 2 * args.deals_per_tenant, "events": events, "tasks": args.tasks,
              "cores": os.cpu_count(), "one": one, "split": split,
              "speedup": round(one["seconds"] / split["seconds"], 2)}
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
