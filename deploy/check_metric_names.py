#!/usr/bin/python3
"""Checks that every closeloop metric the Grafana dashboard and the Prometheus
alert rules use exists in a /metrics exposition, with the labels they select
and group by. A dashboard panel or alert on a misspelt metric shows nothing
and fires never; this catches it before anyone relies on it.

  check_metric_names.py --metrics http://127.0.0.1:9464/metrics
  check_metric_names.py --metrics saved-metrics.txt [--dashboard F] [--rules F]

Names and labels come from the PromQL in the dashboard's targets and template
variables and in the rules' `expr`. A metric family listed in /metrics
(`# TYPE`) without samples counts as present, but its labels cannot be
checked; that is reported as a note. Exit status: 0 all found, 1 something
missing, 2 bad arguments or unreadable input.
"""

import argparse
import json
import os
import re
import sys
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DASHBOARD = os.path.join(HERE, "grafana", "closeloop-dashboard.json")
DEFAULT_RULES = os.path.join(HERE, "prometheus", "alerts.yml")

METRIC = re.compile(r"\b(closeloop_[A-Za-z0-9_]+)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
SELECTOR = re.compile(r"\b(closeloop_[A-Za-z0-9_]+)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(by|without)\s*\(([^)]*)\)")
LABEL_VALUES = re.compile(r"label_values\(\s*(closeloop_[A-Za-z0-9_]+)[^,)]*,\s*([A-Za-z0-9_]+)\s*\)")
SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+\S+")
SAMPLE_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*"')
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class Metrics:
    """What one /metrics text offers: sample names with their label names,
    and the families declared by `# TYPE`."""

    def __init__(self, text):
        self.labels = {}    # sample name -> set of label names seen
        self.declared = {}  # family name -> type
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) >= 4:
                    self.declared[parts[2]] = parts[3]
                continue
            if not line.strip() or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                continue
            names = set(SAMPLE_LABEL.findall(m.group(2) or ""))
            self.labels.setdefault(m.group(1), set()).update(names)

    def has(self, name):
        if name in self.labels or name in self.declared:
            return True
        for suffix in HISTOGRAM_SUFFIXES:
            family = name[: -len(suffix)]
            if name.endswith(suffix) and self.declared.get(family) in ("histogram", "summary"):
                return True
        return False

    def label_names(self, name):
        """The label names of `name`'s samples, or None when it has none."""
        return self.labels.get(name)


def strip_strings(expr):
    return STRING.sub('""', expr)


def matching_paren(text, open_index):
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(text)


def uses(expr):
    """(metric, label) pairs an expression needs, and its bare metric names.
    A label under `by (...)` is needed by at least one metric of the
    aggregated expression; it is returned as (tuple of metrics, label)."""
    raw = expr
    expr = strip_strings(expr)
    names = set(METRIC.findall(expr))
    needs = []
    for m in SELECTOR.finditer(raw):
        for label in MATCHER_LABEL.findall(strip_strings(m.group(2))):
            needs.append(((m.group(1),), label))
    for m in LABEL_VALUES.finditer(raw):
        needs.append(((m.group(1),), m.group(2)))
    for m in GROUPING.finditer(expr):
        labels = [x.strip() for x in m.group(2).split(",") if x.strip()]
        # `sum by (x) (inner)` or `sum (inner) by (x)`.
        after = expr[m.end():].lstrip()
        if after.startswith("("):
            start = expr.index("(", m.end())
            inner = expr[start: matching_paren(expr, start) + 1]
        else:
            before = expr[: m.start()].rstrip()
            end = len(before) - 1
            depth = 0
            start = end
            for i in range(end, -1, -1):
                if before[i] == ")":
                    depth += 1
                elif before[i] == "(":
                    depth -= 1
                    if depth == 0:
                        start = i
                        break
            inner = before[start: end + 1]
        metrics = tuple(sorted(set(METRIC.findall(inner))))
        if metrics and m.group(1) == "by":
            for label in labels:
                needs.append((metrics, label))
    return names, needs


def dashboard_exprs(path):
    with open(path) as f:
        dash = json.load(f)
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title") or node.get("name") or where
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    out.append((f"dashboard: {title}", value))
                elif key == "query" and isinstance(value, str) and "closeloop_" in value:
                    out.append((f"dashboard variable: {title}", value))
                else:
                    walk(value, title)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(dash, "dashboard")
    return out


def rules_exprs(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    out = []
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            out.append((f"rule {name}", str(rule["expr"])))
    return out


def check(metrics, exprs):
    """Returns (problems, notes): lines for a person."""
    problems, notes = [], []
    for where, expr in exprs:
        names, needs = uses(expr)
        if not names:
            continue
        for name in sorted(names):
            if not metrics.has(name):
                problems.append(f"{where}: metric {name} is not in /metrics")
        for candidates, label in needs:
            if label == "le" or label == "__name__":
                continue
            present = [c for c in candidates if metrics.has(c)]
            known = [metrics.label_names(c) for c in present]
            known = [k for k in known if k is not None]
            if not present:
                continue  # reported above
            if not known:
                notes.append(f"{where}: {', '.join(present)} has no samples; "
                             f"label {label} not checked")
                continue
            if not any(label in k for k in known):
                problems.append(f"{where}: label {label} is not on {', '.join(present)}")
    return problems, sorted(set(notes))


def read_metrics(source):
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as r:
            return r.read().decode("utf-8")
    with open(source) as f:
        return f.read()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", required=True, help="a /metrics URL or a saved exposition")
    parser.add_argument("--dashboard", action="append", help="Grafana dashboard JSON")
    parser.add_argument("--rules", action="append", help="Prometheus rules YAML")
    args = parser.parse_args(argv)
    try:
        metrics = Metrics(read_metrics(args.metrics))
        exprs = []
        for path in args.dashboard or [DEFAULT_DASHBOARD]:
            exprs += dashboard_exprs(path)
        for path in args.rules or [DEFAULT_RULES]:
            exprs += rules_exprs(path)
    except (OSError, ValueError, yaml.YAMLError, KeyError) as e:
        print(f"check_metric_names: {e}", file=sys.stderr)
        return 2
    if not metrics.labels and not metrics.declared:
        print(f"check_metric_names: no metrics in {args.metrics}", file=sys.stderr)
        return 2
    problems, notes = check(metrics, exprs)
    for line in notes:
        print(f"note: {line}")
    for line in problems:
        print(f"MISSING: {line}")
    used = sorted({n for _, e in exprs for n in uses(e)[0]})
    print(f"checked {len(exprs)} expressions using {len(used)} metric names: "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
