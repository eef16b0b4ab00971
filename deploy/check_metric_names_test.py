"""Unit test of check_metric_names.py on small fixtures: the shipped dashboard
and rules pass against the metric contract (testdata/metrics_contract.prom),
and a missing metric, a missing label or a misspelt name is reported."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import check_metric_names as cmn  # noqa: E402

CONTRACT = os.path.join(HERE, "testdata", "metrics_contract.prom")
SCRIPT = os.path.join(HERE, "check_metric_names.py")


def contract_without(predicate):
    with open(CONTRACT) as f:
        return "".join(line for line in f if not predicate(line))


def run(metrics_text, *extra):
    with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
        f.write(metrics_text)
    try:
        return subprocess.run([sys.executable, SCRIPT, "--metrics", f.name, *extra],
                              capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)


class ShippedFiles(unittest.TestCase):
    def test_dashboard_and_rules_match_the_contract(self):
        with open(CONTRACT) as f:
            r = run(f.read())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 problems", r.stdout)

    def test_every_contract_family_is_used_somewhere(self):
        # The dashboard and rules together show every metric of the contract.
        with open(CONTRACT) as f:
            families = set(cmn.Metrics(f.read()).declared)
        exprs = cmn.dashboard_exprs(cmn.DEFAULT_DASHBOARD) + cmn.rules_exprs(cmn.DEFAULT_RULES)
        used = set()
        for _, e in exprs:
            for name in cmn.uses(e)[0]:
                for suffix in cmn.HISTOGRAM_SUFFIXES:
                    if name.endswith(suffix) and name[: -len(suffix)] in families:
                        name = name[: -len(suffix)]
                used.add(name)
        self.assertEqual(families - used, set())

    def test_a_missing_family_is_reported_with_where_it_is_used(self):
        r = run(contract_without(lambda line: "closeloop_period_booked_amount" in line))
        self.assertEqual(r.returncode, 1)
        self.assertIn("MISSING: rule CloseloopRealizationBelowTarget: metric "
                      "closeloop_period_booked_amount is not in /metrics", r.stdout)
        self.assertIn("MISSING: dashboard: Realization rate: metric closeloop_period_booked_amount",
                      r.stdout)

    def test_a_missing_histogram_is_reported_by_its_bucket(self):
        r = run(contract_without(lambda line: "processing_latency" in line))
        self.assertEqual(r.returncode, 1)
        self.assertIn("closeloop_processing_latency_seconds_bucket is not in /metrics", r.stdout)

    def test_a_missing_label_is_reported(self):
        text = contract_without(lambda line: line.startswith("closeloop_amount_at_risk{"))
        text += 'closeloop_amount_at_risk{tenant="acme",kind="UNPAID",currency="USD"} 1\n'
        r = run(text)
        self.assertEqual(r.returncode, 1)
        self.assertIn("dashboard: At risk by team: label team is not on closeloop_amount_at_risk",
                      r.stdout)
        self.assertNotIn("At risk by kind", r.stdout)

    def test_a_family_without_samples_passes_with_a_note(self):
        text = contract_without(lambda line: line.startswith("closeloop_amount_at_risk{"))
        r = run(text)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("note: rule CloseloopAmountAtRiskHigh: closeloop_amount_at_risk has no "
                      "samples; label tenant not checked", r.stdout)

    def test_no_metrics_at_all_is_an_error(self):
        r = run("")
        self.assertEqual(r.returncode, 2)


class Parsing(unittest.TestCase):
    def test_labels_with_commas_and_braces_in_values(self):
        m = cmn.Metrics('x_total{a="1,}b",b="q\\"uote"} 3\n# TYPE h histogram\n')
        self.assertEqual(m.label_names("x_total"), {"a", "b"})
        self.assertTrue(m.has("h_bucket"))
        self.assertFalse(m.has("h_total"))

    def test_names_inside_strings_are_not_metrics(self):
        names, needs = cmn.uses('sum by (kind) (closeloop_a{kind="closeloop_b"})')
        self.assertEqual(names, {"closeloop_a"})
        self.assertIn((("closeloop_a",), "kind"), needs)

    def test_grouping_after_the_aggregated_expression(self):
        _, needs = cmn.uses("sum(closeloop_a) by (team) + closeloop_b")
        self.assertIn((("closeloop_a",), "team"), needs)

    def test_misspelt_name_in_a_rule_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: closeloop_redy == 0\n")
        try:
            with open(CONTRACT) as c:
                r = run(c.read(), "--rules", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1)
        self.assertIn("MISSING: rule A: metric closeloop_redy is not in /metrics", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
