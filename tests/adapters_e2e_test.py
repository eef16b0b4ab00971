"""Source adapters end to end (SPEC §3): the wire-shape fixtures of
tests/fixtures/ produced by kcat to `closeloop dev-broker`, read by
`closeloop run` configured with debezium and salesforce-cdc topics, and the
exceptions and dead letters read back by kcat."""

import json
import os
import subprocess
import unittest

from kafka_harness import DevBroker, Service, consume, headers_of, stop_cleanly, wait_for

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def produce_fixture(bootstrap, topics, fixture, one_partition):
    """Every record of `fixture` to its role's topic, in order; a null value
    is produced as a tombstone (kcat -Z). The roles in `one_partition` go to
    partition 0 whatever their key (README: a Salesforce object's change
    events in one partition)."""
    for r in json.loads(load(fixture))["records"]:
        value = "" if r["value"] is None else json.dumps(r["value"], separators=(",", ":"))
        partition = ["-p", "0"] if r["topic"] in one_partition else []
        subprocess.run(["kcat", "-b", bootstrap, "-P", "-Z", "-t", topics[r["topic"]],
                        "-K", "\t"] + partition, input=f"{r['key']}\t{value}\n", text=True,
                       check=True, timeout=60)


class Pipeline(unittest.TestCase):
    CONFIG = None
    TOPICS = None
    FIXTURES = ()
    ONE_PARTITION = ()

    @classmethod
    def setUpClass(cls):
        cls.broker = DevBroker(partitions=2)
        cls.b = cls.broker.bootstrap
        for fixture in cls.FIXTURES:
            produce_fixture(cls.b, cls.TOPICS, fixture, cls.ONE_PARTITION)
        cls.service = Service(cls.b, load(cls.CONFIG))

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.service, cls.broker)

    def exceptions(self, tenant):
        return [json.loads(r["payload"]) for r in consume(self.b, "closeloop.exceptions")
                if json.loads(r["payload"])["tenant_id"] == tenant]

    def latest(self, records):
        """The last record of each exception_id."""
        out = {}
        for r in records:
            if r["exception_id"] not in out or int(r["sequence"]) > int(out[r["exception_id"]]["sequence"]):
                out[r["exception_id"]] = r
        return out

    def dead_letters(self):
        return [(r, headers_of(r)) for r in consume(self.b, "closeloop.dlq")]


class SalesforceAndSap(Pipeline):
    CONFIG = "salesforce_sap.yaml"
    TOPICS = {"deals": "sf.opportunity", "orders": "sap.orders", "invoices": "sap.invoices"}
    FIXTURES = ("salesforce_opportunity_won.json", "sap_order_invoice.json")
    # The multi-record UPDATE of 0065e00000AbCdEAAF and ...FAAV is keyed by
    # the first: in another partition than ...FAAV's CREATE, read before it
    # or not.
    ONE_PARTITION = ("deals",)

    def test_opportunity_won_through_partial_updates_is_under_billed_by_its_sap_invoice(self):
        # Won at USD 52,000.00 (the amount of the second event, kept through the
        # owner change and the win); SAP invoice 733 bills 31,200.00 of it,
        # linked only through its lines' BaseEntry to order 512, which names
        # the opportunity.
        recs = wait_for(lambda: self.exceptions("sf-acme"),
                        lambda r: any(x["kind"] == "UNDER_BILLED" for x in r),
                        what="UNDER_BILLED for the won opportunity")
        under = [x for x in recs if x["kind"] == "UNDER_BILLED"]
        self.assertEqual(under[0]["exception_id"], "sf-acme:UNDER_BILLED:0065e00000AbCdEAAF:1")
        self.assertEqual(under[0]["amount_at_risk_minor"], "2080000")
        self.assertEqual(under[0]["currency"], "USD")
        self.assertEqual(under[0]["customer_id"], "0015e00000XyZaBAAV")
        self.assertEqual(under[0]["owner"], "0055e000004LmNoAAK")
        self.assertIn("billed USD 31,200.00 of the USD 52,000.00", under[0]["reason"])
        # Nothing says the invoice or the order is unlinked, and the deleted
        # opportunity that was never won raises nothing.
        kinds = {x["kind"] for x in recs}
        self.assertNotIn("ORPHAN_INVOICE", kinds)
        self.assertNotIn("ORPHAN_ORDER", kinds)
        self.assertNotIn("MISSING_INVOICE", kinds)
        self.assertEqual({x["deal_id"] for x in recs if x["deal_id"]}, {"0065e00000AbCdEAAF"})

    def test_gap_event_and_ambiguous_invoice_go_to_the_dlq(self):
        letters = wait_for(self.dead_letters, lambda r: len(r) >= 2, what="two dead letters")
        reasons = {(h["closeloop.source.topic"], h["closeloop.reason"]) for _, h in letters}
        self.assertEqual(reasons, {("sf.opportunity", "cdc_gap"), ("sap.invoices", "unmappable")})
        for r, h in letters:
            if h["closeloop.reason"] == "unmappable":
                self.assertEqual(h["closeloop.field"], "order_id")
                self.assertIn("DocumentLines[*].BaseEntry has different values", h["closeloop.error"])
                self.assertEqual(json.loads(r["payload"])["DocEntry"], 734)
            else:
                self.assertIn("GAP_UPDATE", h["closeloop.error"])


class DebeziumPostgresAndMysql(Pipeline):
    CONFIG = "debezium_pg_mysql.yaml"
    TOPICS = {"deals": "pg.crm.deals", "invoices": "mysql.billing.invoices"}
    FIXTURES = ("debezium_postgres_deals.json", "debezium_mysql_invoices.json")

    def test_decimals_in_all_three_encodings_and_a_flattened_delete(self):
        # Deal 105, EUR 3,000.00 (DECIMAL bytes), billed 1,000.50 (bytes) +
        # 700.25 (string) + 299.75 (double); invoice 9004 (500.00, flattened)
        # is deleted, so 999.50 stays unbilled.
        recs = wait_for(lambda: self.exceptions("pg-acme"),
                        lambda r: any(x["kind"] == "UNDER_BILLED" for x in r),
                        what="UNDER_BILLED for deal 105")
        under = [x for x in recs if x["kind"] == "UNDER_BILLED"]
        self.assertEqual(under[0]["deal_id"], "105")
        self.assertEqual(under[0]["amount_at_risk_minor"], "99950")
        self.assertIn("billed EUR 2,000.50 of the EUR 3,000.00", under[0]["reason"])

    def test_deletes_and_tombstones_withdraw_deals(self):
        # Deal 102 stays won with no invoice; 101 (delete + tombstone) and 103
        # (tombstone alone) are gone: nothing about them may stay open.
        recs = wait_for(lambda: self.exceptions("pg-acme"),
                        lambda r: any(x["kind"] == "MISSING_INVOICE" and x["deal_id"] == "102"
                                      for x in r),
                        what="MISSING_INVOICE for deal 102")
        missing = [x for x in recs if x["deal_id"] == "102"]
        self.assertEqual(missing[0]["amount_at_risk_minor"], "275025")
        for x in self.latest(recs).values():
            if x["deal_id"] in ("101", "103"):
                self.assertEqual((x["state"], x["resolution"]), ("RESOLVED", "WITHDRAWN"), x)

    def test_tombstone_of_an_unknown_row_goes_to_the_dlq(self):
        letters = wait_for(self.dead_letters, lambda r: len(r) >= 1, what="a dead letter")
        self.assertEqual(len(letters), 1, [h for _, h in letters])
        r, h = letters[0]
        self.assertEqual(h["closeloop.reason"], "no_previous_record")
        self.assertEqual(h["closeloop.source.topic"], "pg.crm.deals")
        self.assertIn('"id":999', r["key"])
        self.assertIn(r["payload"], (None, ""))  # the tombstone had no bytes


if __name__ == "__main__":
    unittest.main(verbosity=2)
