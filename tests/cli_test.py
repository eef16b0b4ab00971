"""The command line's contract (SPEC §10): exit codes 0/2/1, usage on a bad
flag, and a refused config naming its file, line, column and field."""

import os
import subprocess
import tempfile
import unittest

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

    def test_no_subcommand_exits_2(self):
        self.assertEqual(run().returncode, 2)

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

    def test_help_exits_0(self):
        r = run("demo", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--keep-running", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
