"""A tenant's rules changed between runs reach the deals already in state
(README "Operations: changing a tenant's rules"): the next start evaluates
that tenant's deals, orders and invoices again under the rules as they are
now, before it reads input.

One closed-won deal without an order, closed five days ago. Run 1 with an
order window of 10d raises nothing. Run 2 on the same state directory with
3d raises MISSING_ORDER at the new deadline (before, the deal kept the timer
the 10d window had set and stayed quiet until its next document). Run 3 with
the same config changes nothing; run 4 with the window back at 10d withdraws
the exception, saying why.
"""

import json
import os
import tempfile
import unittest

from kafka_harness import DevBroker, Service, ago, consume, produce, wait_for

CONFIG = """
time:
  idle_after: 1s
tenants:
  acme:
    order_window: {window}
"""


def missing_orders(bootstrap):
    recs = [json.loads(r["payload"]) for r in consume(bootstrap, "closeloop.exceptions")]
    return [r for r in recs if r["kind"] == "MISSING_ORDER" and r["tenant_id"] == "acme"]


def won_deal(deal_id, tenant="acme"):
    """A deal closed-won five days ago, as (key, value) for crm.deals."""
    deal = {"tenant_id": tenant, "deal_id": deal_id, "stage": "Closed Won",
            "amount_minor": 1200000, "currency": "USD", "customer_id": "C-1",
            "close_time": ago(5)}
    return (f"{tenant}:{deal_id}", json.dumps(deal))


class RulesChange(unittest.TestCase):
    def setUp(self):
        self.broker = DevBroker(partitions=1)
        self.work = tempfile.TemporaryDirectory()
        self.state = os.path.join(self.work.name, "state")

    def tearDown(self):
        self.broker.stop()
        self.work.cleanup()

    def run_until_idle(self, config):
        """`closeloop run --until-idle` on the test's state directory; its log."""
        code, log = Service(self.broker.bootstrap, config, state_dir=self.state,
                            args=["--until-idle"]).wait(120)
        self.assertEqual(code, 0, log)
        return log

    def test_a_changed_order_window_reaches_a_deal_in_state(self):
        def run(window):
            return self.run_until_idle(CONFIG.format(window=window))

        bootstrap = self.broker.bootstrap
        # globex is on the defaults, which do not change.
        produce(bootstrap, "crm.deals", [won_deal("D-1"), won_deal("D-1", "globex")])
        log = run("10d")
        self.assertNotIn("evaluated again", log)
        self.assertEqual(missing_orders(bootstrap), [])

        log = run("3d")
        recs = missing_orders(bootstrap)
        self.assertEqual([(r["exception_id"], r["state"]) for r in recs],
                         [("acme:MISSING_ORDER:D-1:1", "OPEN")])
        self.assertEqual(recs[0]["deadline"][:10], ago(2)[:10])
        self.assertIn("tenant acme: rules changed since the last run", log)
        self.assertIn("stopped after 0 records", log)
        self.assertNotIn("tenant globex", log)

        log = run("3d")
        self.assertNotIn("evaluated again", log)
        self.assertEqual(len(missing_orders(bootstrap)), 1)

        log = run("10d")
        recs = missing_orders(bootstrap)
        self.assertEqual([(r["state"], r["resolution"]) for r in recs[1:]],
                         [("RESOLVED", "WITHDRAWN")])
        self.assertIn("the tenant's rules were changed", recs[1]["reason"])
        self.assertIn("tenant acme: rules changed since the last run", log)

    def test_a_tenant_pinned_to_the_old_defaults_and_let_go_gets_the_new_ones(self):
        # Run 1: acme on the defaults (order window 10d). Run 2: the defaults
        # go to 3d and acme is configured with 10d, its rules as they were:
        # nothing to evaluate for acme. Run 3: acme's entry is removed, so it
        # is on the 3d defaults: its deal is evaluated again and raises
        # MISSING_ORDER (before, run 2 kept no record of acme's own rules and
        # run 3 read the 3d defaults' record as what acme's deal was
        # evaluated under: nothing was raised).
        def run(config):
            return self.run_until_idle("time:\n  idle_after: 1s\n" + config)

        bootstrap = self.broker.bootstrap
        produce(bootstrap, "crm.deals", [won_deal("D-1")])
        run("defaults:\n  order_window: 10d\n")
        self.assertEqual(missing_orders(bootstrap), [])

        log = run("defaults:\n  order_window: 3d\n"
                  "tenants:\n  acme:\n    order_window: 10d\n")
        self.assertNotIn("tenant acme", log)
        self.assertEqual(missing_orders(bootstrap), [])

        log = run("defaults:\n  order_window: 3d\n")
        self.assertIn("tenant acme: rules changed since the last run", log)
        recs = missing_orders(bootstrap)
        self.assertEqual([(r["exception_id"], r["state"]) for r in recs],
                         [("acme:MISSING_ORDER:D-1:1", "OPEN")])

    def test_a_pass_stopped_midway_is_done_again_when_the_rules_go_back(self):
        # Run 1: 2000 deals closed five days ago, order window 3d: MISSING_ORDER
        # on each. Run 2 with 10d evaluates them again one per batch,
        # withdrawing each, and is stopped (SIGTERM) midway. Run 3 has the
        # window back at 3d, the rules the first run evaluated under: the
        # deals run 2 reached are evaluated again and raise MISSING_ORDER
        # anew (before, acme's record still said 3d and it was not evaluated
        # again: those deals stayed without the exception their rules find).
        bootstrap = self.broker.bootstrap
        config = CONFIG + "pipeline:\n  batch_max_timers: 1\n"

        def withdrawn():
            return [r for r in missing_orders(bootstrap) if r["resolution"] == "WITHDRAWN"]

        produce(bootstrap, "crm.deals", [won_deal(f"D-{i:04}") for i in range(2000)])
        self.run_until_idle(config.format(window="3d"))
        self.assertEqual(len(missing_orders(bootstrap)), 2000)

        service = Service(bootstrap, config.format(window="10d"), state_dir=self.state)
        wait_for(lambda: len(withdrawn()), lambda n: n > 0, 60, "a WITHDRAWN")
        code, log = service.stop()
        self.assertEqual(code, 0, log)
        self.assertNotIn("tenant acme: evaluated under its rules", log)
        reached = {r["deal_id"] for r in withdrawn()}
        self.assertLess(len(reached), 2000)

        log = self.run_until_idle(config.format(window="3d"))
        self.assertIn("tenant acme: the last run stopped before its subjects were all "
                      "evaluated", log)
        raised = {r["deal_id"] for r in missing_orders(bootstrap)
                  if r["exception_id"].endswith(":2") and r["state"] == "OPEN"}
        self.assertEqual(raised, reached)


if __name__ == "__main__":
    unittest.main()
