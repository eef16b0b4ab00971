#!/usr/bin/env python3
"""Runs every closeloop benchmark once and writes the results.

Usage: bench/run_all.py [--quick] [--huge] [--build-dir DIR] [--out DIR]

Writes DIR/latest.json (every figure), DIR/latest.md (tables with the
machine's cores, memory, load and date) and DIR/scaling.png (gnuplot).
--quick runs every part with tiny sizes in seconds (the ctest `bench_quick`
uses it so the harness cannot rot); it checks that each part ran and wrote
its files, never how fast. Exits 1 if any part failed. See bench/README.md.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Sizes of each mode. Deals are counted over both tenants of the sample company.
FULL = {
    "throughput": {"deals": 50_000, "partitions": 16},
    "latency": {"samples": 120, "warmup": 3},
    "scaling": [10_000, 100_000, 1_000_000],
    "scaling_partitions": 16,
    # (deals fed through Kafka, deals prebuilt at rest in the store); --huge only
    "scaling_prebuilt": [],
    # Small: the sample company has two tenants, so each busy closeloop.events
    # partition carries a whole tenant, and the embedded Kafka keeps 5 MiB of it
    # (reached at about 8,000 deals when the tasks fall behind the ingest stage).
    "rekey": {"deals": 6_000, "tasks": 2, "partitions": 8},
    "matcher_args": [],
    "decode_args": ["--benchmark_min_time=1"],
}
QUICK = {
    "throughput": {"deals": 400, "partitions": 4},
    "latency": {"samples": 3, "warmup": 1},
    "scaling": [400, 2_000],
    "scaling_partitions": 4,
    "scaling_prebuilt": [(2_000, 20_000)],
    "rekey": {"deals": 400, "tasks": 2, "partitions": 2},
    "matcher_args": ["--benchmark_filter=deals_per_tenant:500/", "--benchmark_min_time=0.01"],
    "decode_args": ["--benchmark_min_time=0.01"],
}
# --huge: 10M deals in state, 9.9M of them prebuilt at rest (bench_e2e scaling
# --prebuilt-deals) and the 100k-deal company fed through Kafka over them.
# Feeding all 10M through the embedded Kafka would take hours and the
# generator holds the whole company in memory (about 27 GB).
HUGE_PREBUILT = (100_000, 9_900_000)


def build_info(build_dir):
    """The build's type, profile setting and compiler, from its CMake cache."""
    info = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                for key, name in (("CMAKE_BUILD_TYPE:", "build_type"), ("CLOSELOOP_PGO:", "pgo"),
                                  ("CMAKE_CXX_COMPILER:", "compiler")):
                    if line.startswith(key):
                        info[name] = line.split("=", 1)[1].strip()
    except OSError:
        pass
    if "compiler" in info:
        try:
            version = subprocess.run([info["compiler"], "--version"], capture_output=True,
                                     text=True, check=True).stdout
            info["compiler"] = version.splitlines()[0]
        except (OSError, subprocess.CalledProcessError, IndexError):
            pass
    return info


def machine(build_dir):
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", "unknown"),
        **build_info(build_dir),
        "load_average_at_start": os.getloadavg()[0],
    }
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    try:
        info["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = "unknown"
    return info


class Runner:
    def __init__(self, build_dir, work_dir):
        self.build_dir = build_dir
        self.work_dir = work_dir
        self.failures = []

    def e2e(self, name, args, timeout):
        """Runs bench_e2e once in its own process; returns its JSON or None."""
        out = os.path.join(self.work_dir, name + ".json")
        cmd = [os.path.join(self.build_dir, "bench", "bench_e2e"), "--out", out] + args
        return self._run(name, cmd, timeout, lambda: json.load(open(out)))

    def script(self, name, script, args, timeout):
        """Runs a Python bench of bench/ that writes JSON to --out; returns it or None."""
        out = os.path.join(self.work_dir, name + ".json")
        cmd = ["/usr/bin/python3", os.path.join(HERE, script), "--out", out] + args
        return self._run(name, cmd, timeout, lambda: json.load(open(out)))

    def gbench(self, name, binary, args, timeout):
        """Runs a Google Benchmark binary; returns {benchmark name: counters}."""
        out = os.path.join(self.work_dir, name + ".json")
        cmd = [os.path.join(self.build_dir, "bench", binary), "--benchmark_out=" + out,
               "--benchmark_out_format=json"] + args

        def parse():
            rows = {}
            for b in json.load(open(out))["benchmarks"]:
                if b.get("error_occurred"):
                    raise RuntimeError(b["name"] + ": " + b.get("error_message", "error"))
                rows[b["name"]] = {k: v for k, v in b.items()
                                   if isinstance(v, (int, float)) and k not in (
                                       "family_index", "per_family_instance_index",
                                       "repetitions", "repetition_index", "threads")}
            if not rows:
                raise RuntimeError("no benchmark ran")
            return rows
        return self._run(name, cmd, timeout, parse)

    def _run(self, name, cmd, timeout, parse):
        print(f"== {name}: {' '.join(cmd[1:] if len(cmd) > 1 else cmd)}", flush=True)
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
            result = parse()
        except (OSError, RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            print(f"   FAILED: {e}", flush=True)
            self.failures.append(f"{name}: {e}")
            return None
        print(f"   done in {time.monotonic() - start:.1f} s", flush=True)
        return result


def fmt_int(x):
    return f"{x:,.0f}" if isinstance(x, (int, float)) else str(x)


def fmt_mb(x):
    return f"{x / 1e6:,.0f} MB" if isinstance(x, (int, float)) else str(x)


def write_markdown(path, results):
    m = results["machine"]
    lines = [f"# closeloop benchmark results ({results['mode']} run)", "",
             f"Measured {m['date']} on {m['cores']} cores ({m.get('cpu', '?')}), "
             f"{m.get('memory_gib', '?')} GiB memory, {m.get('os', '?')}, Linux {m['kernel']}, "
             f"{m.get('compiler', '?')}, {m.get('build_type', '?')} build"
             f"{', matcher PGO ' + m['pgo'] if m.get('pgo') else ''}, commit {m['commit']}; "
             f"load average {m['load_average_at_start']:.1f} at start "
             f"(other work shares these cores). Run with `scripts/bench.sh"
             f"{' --quick' if results['mode'] == 'quick' else ''}`; every figure is from one run.", ""]
    t = results.get("throughput")
    if t:
        b, p = t["baseline"], t["pipeline"]
        lines += ["## Throughput ratio (embedded Kafka, JSON input)", "",
                  f"{t['events']:,} records ({t['deals']:,} deals with their orders, invoices and "
                  f"payments; {t['input_bytes'] / 1e6:.1f} MB) preloaded on {t['partitions']} "
                  f"partitions per topic. Both clients assign themselves every partition (no "
                  f"group join); rates are from the assignment to each client's end, the "
                  f"pipeline's being its last exception record published (after "
                  f"`time.idle_after`).", "",
                  "| reader | seconds | records/s | MB/s |", "|---|---|---|---|",
                  f"| plain librdkafka consumer | {b['seconds']:.2f} | "
                  f"{fmt_int(b['records_per_s'])} | {b['mb_per_s']:.1f} |",
                  f"| closeloop Pipeline | {p['seconds_to_last_exception']:.2f} | "
                  f"{fmt_int(p['records_per_s'])} | {p['mb_per_s']:.2f} |",
                  "",
                  f"**Ratio: {100 * t['ratio']:.1f}%** of the plain consumer's rate (target 50%, "
                  f"stretch 70%). "
                  f"The pipeline published {p['exception_records']:,} exception records; "
                  f"config: {json.dumps(t['config'])}.", ""]
    lat = results.get("latency")
    if lat:
        lines += ["## Detection latency (live Pipeline, separate reader)", "",
                  "| config | what | samples | p50 ms | p99 ms | max ms |",
                  "|---|---|---|---|---|---|"]
        for label, run in lat.items():
            for what, key in (("resolving invoice -> RESOLVED", "resolve"),
                              ("watermark past deadline -> OPEN", "open_after_watermark")):
                r = run[key]
                lines.append(f"| {label} | {what} | {r['samples']} | {r['p50_ms']:.0f} | "
                             f"{r['p99_ms']:.0f} | {r['max_ms']:.0f} |")
        lines += ["", "Configs: " + "; ".join(
            f"{label}: {json.dumps(run['config'])}" for label, run in lat.items()), ""]
    sc = results.get("scaling")
    if sc:
        lines += ["## Scaling (deals in state; `closeloop run` fed while it runs, each size anew)",
                  "", "| deals in state | of them prebuilt at rest | events | seconds | "
                  "events/s (wall) | events/s (CPU) | peak RSS | state on disk | "
                  "on disk per deal | exception records |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in sc:
            lines.append(f"| {r['deals']:,} | {r.get('prebuilt_deals', 0):,} | {r['events']:,} | "
                         f"{r['seconds_to_last_exception']:.1f} | {fmt_int(r['events_per_s'])} | "
                         f"{fmt_int(r['events_per_cpu_s'])} | {fmt_mb(r['peak_rss_bytes'])} | "
                         f"{fmt_mb(r['state_disk_bytes'])} | "
                         f"{fmt_int(r['state_disk_bytes_per_deal'])} B | "
                         f"{fmt_int(r['exception_records'])} |")
        lines += ["", "Each size is one `closeloop run --until-idle` process with its own RocksDB "
                  "store, on the embedded Kafka, fed in event-time order while it runs and never "
                  "more than `window` records ahead of it. Seconds are from starting the process "
                  "to its last exception record; CPU and peak RSS are that process's alone "
                  "(not the generator's, the producer's or the broker's); on disk is its state "
                  "directory at exit, divided by every deal in state. A row with prebuilt "
                  "deals started from a store that already held them at rest (written "
                  "directly, `bench_e2e scaling --prebuilt-deals`; their deadlines lie a year "
                  "ahead, so none fires); its seconds do not include writing them. Config: " +
                  (json.dumps(sc[0]["config"]) if sc else "") + ".", ""]
    rk = results.get("rekey")
    if rk:
        one, split = rk["one"], rk["split"]
        lines += ["## Re-keyed: one ingest process and matcher tasks against one process", "",
                  f"The sample company, {rk['deals']:,} deals, {rk['events']:,} events, on "
                  f"{rk['cores']} cores (bench/rekey_bench.py).", "",
                  "| data flow | processes | seconds | events/s | events per CPU second | "
                  "exception records |", "|---|---|---|---|---|---|",
                  f"| one process (`pipeline.tasks: 1`) | 1 | {one['seconds']:.2f} | "
                  f"{fmt_int(one['events_per_second'])} | {fmt_int(one['events_per_cpu_second'])} "
                  f"| {fmt_int(one['exception_records'])} |",
                  f"| ingest + {rk['tasks']} matcher tasks | {rk['tasks'] + 1} | "
                  f"{split['seconds']:.2f} | {fmt_int(split['events_per_second'])} | "
                  f"{fmt_int(split['events_per_cpu_second'])} | "
                  f"{fmt_int(split['exception_records'])} |", "",
                  f"Speed-up {rk['speedup']:.2f}x. Seconds are from the first record consumed "
                  "to the last process's end, all processes running at once.", ""]
    for key, title in (("matcher", "Matcher alone (bench_matcher)"),
                       ("decode", "Decoders alone (bench_decode)")):
        rows = results.get(key)
        if not rows:
            continue
        cols = sorted({c for r in rows.values() for c in r
                       if c not in ("real_time", "cpu_time", "iterations")})
        lines += [f"## {title}", "", "| benchmark | cpu ms | " + " | ".join(cols) + " |",
                  "|---|---|" + "---|" * len(cols)]
        for name, r in rows.items():
            cells = [f"{r[c]:,.2f}" if isinstance(r.get(c), float) and r[c] < 100 else
                     fmt_int(r.get(c, "")) for c in cols]
            lines.append(f"| `{name}` | {r.get('cpu_time', 0):,.1f} | " + " | ".join(cells) + " |")
        lines.append("")
    if results["failures"]:
        lines += ["## Failed parts", ""] + [f"- {f}" for f in results["failures"]] + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_plot(path, results, work_dir):
    """events/s and peak RSS against deals in state (log x), with gnuplot."""
    sc = results.get("scaling") or []
    if not sc:
        raise RuntimeError("no scaling figures to plot")
    # Runs fed from empty make the lines; runs over prebuilt deals are points.
    data = os.path.join(work_dir, "scaling.dat")
    prebuilt = os.path.join(work_dir, "prebuilt.dat")
    for path_, rows in ((data, [r for r in sc if not r.get("prebuilt_deals")]),
                        (prebuilt, [r for r in sc if r.get("prebuilt_deals")])):
        with open(path_, "w") as f:
            f.write("# deals events_per_s events_per_cpu_s peak_rss_mb\n")
            for r in rows or [{"deals": 1, "events_per_s": "NaN", "events_per_cpu_s": "NaN",
                               "peak_rss_bytes": float("nan")}]:
                f.write(f"{r['deals']} {r['events_per_s']} {r['events_per_cpu_s']} "
                        f"{r['peak_rss_bytes'] / 1e6}\n")
    script = f"""
set terminal pngcairo size 900,520 font ",10"
set output "{path}"
set title "closeloop scaling ({results['machine']['date']}, {results['machine']['cores']} cores)"
set logscale x
set xlabel "deals in state"
set ylabel "events per second"
set y2label "peak resident memory (MB)"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set key top right
set offsets graph 0.05, graph 0.05, 0, 0
set grid
plot "{data}" using 1:2 with linespoints lw 2 title "events/s (wall)", \\
     "{data}" using 1:3 with linespoints lw 2 title "events/s (CPU)", \\
     "{data}" using 1:4 axes x1y2 with linespoints dt 2 title "peak RSS of closeloop run", \\
     "{prebuilt}" using 1:2 with points pt 7 ps 1.5 lc 1 title "over prebuilt deals: wall", \\
     "{prebuilt}" using 1:3 with points pt 7 ps 1.5 lc 2 title "over prebuilt deals: CPU", \\
     "{prebuilt}" using 1:4 axes x1y2 with points pt 5 ps 1.5 lc 3 title "over prebuilt deals: RSS"
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    ap.add_argument("--huge", action="store_true",
                    help="also 10M deals in state (9.9M prebuilt at rest)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--render-only", action="store_true",
                    help="measure nothing: rewrite latest.md and scaling.png from OUT/latest.json")
    args = ap.parse_args()
    if args.render_only:
        with open(os.path.join(args.out, "latest.json")) as f:
            results = json.load(f)
        work_dir = tempfile.mkdtemp(prefix="closeloop-bench-")
        write_markdown(os.path.join(args.out, "latest.md"), results)
        write_plot(os.path.join(args.out, "scaling.png"), results, work_dir)
        shutil.rmtree(work_dir, ignore_errors=True)
        return 0
    sizes = QUICK if args.quick else FULL
    os.makedirs(args.out, exist_ok=True)
    work_dir = tempfile.mkdtemp(prefix="closeloop-bench-")
    runner = Runner(os.path.abspath(args.build_dir), work_dir)
    started = time.monotonic()
    results = {"mode": "quick" if args.quick else "full", "machine": machine(args.build_dir)}

    t = sizes["throughput"]
    results["throughput"] = runner.e2e("throughput", [
        "pipeline", "--deals-per-tenant", str(t["deals"] // 2), "--partitions", str(t["partitions"])],
        timeout=900)

    lat = sizes["latency"]
    common = ["latency", "--samples", str(lat["samples"]), "--warmup", str(lat["warmup"])]
    latency = {}
    for label, extra in (("defaults", []),
                         ("pipeline fetch.wait.max.ms=10", ["--pipeline-fetch-wait-ms", "10"])):
        r = runner.e2e("latency-" + ("defaults" if not extra else "fetch10"), common + extra,
                       timeout=900)
        if r:
            latency[label] = r
    results["latency"] = latency or None

    scaling = []
    closeloop = os.path.join(runner.build_dir, "app", "closeloop")
    runs = [(deals, 0) for deals in sizes["scaling"]] + list(sizes["scaling_prebuilt"])
    for deals, prebuilt in runs + ([HUGE_PREBUILT] if args.huge else []):
        r = runner.e2e(f"scaling-{deals}" + (f"-over-{prebuilt}" if prebuilt else ""), [
            "scaling", "--closeloop", closeloop, "--deals-per-tenant", str(deals // 2),
            "--partitions", str(sizes["scaling_partitions"]),
            "--prebuilt-deals", str(prebuilt)], timeout=6 * 3600)
        if r:
            scaling.append(r)
    results["scaling"] = scaling

    rk = sizes["rekey"]
    results["rekey"] = runner.script("rekey", "rekey_bench.py", [
        "--closeloop", closeloop, "--deals-per-tenant", str(rk["deals"] // 2),
        "--tasks", str(rk["tasks"]), "--partitions", str(rk["partitions"])], timeout=1800)

    results["matcher"] = runner.gbench("matcher", "bench_matcher", sizes["matcher_args"],
                                       timeout=1200)
    results["decode"] = runner.gbench("decode", "bench_decode", sizes["decode_args"], timeout=600)

    results["seconds"] = round(time.monotonic() - started, 1)
    results["failures"] = runner.failures
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    try:
        write_markdown(os.path.join(args.out, "latest.md"), results)
    except (KeyError, TypeError) as e:
        runner.failures.append(f"latest.md: {e!r}")
    try:
        write_plot(os.path.join(args.out, "scaling.png"), results, work_dir)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        runner.failures.append(f"scaling.png: {e}")
    shutil.rmtree(work_dir, ignore_errors=True)
    for name in ("latest.json", "latest.md", "scaling.png"):  # each written by this run
        path = os.path.join(args.out, name)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            runner.failures.append(f"{name} was not written")
    print(f"wrote {args.out}/latest.json, latest.md, scaling.png in {results['seconds']} s")
    if runner.failures:
        print("FAILED parts:\n  " + "\n  ".join(runner.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
