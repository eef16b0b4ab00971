"""Hostile input at the service level (issue 9): records no well-behaved
producer sends, produced through Kafka to `closeloop run` between valid deals.
Each hostile record must reach closeloop.dlq with a closeloop.reason header,
or be applied correctly (its deal's exception carries the right amount); every
valid deal around them must yield its exception; the service must keep
running and its resident memory stay bounded. The same for the orders,
invoices, payments and commands topics, with records that break their own
document's contract."""

import datetime
import json
import re
import unittest

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kafka_harness import (DevBroker, Service, acme_deal as deal, ago, broker_and_state,
                           consume, get, headers_of, large_record_producer, produce,
                           start_offsets, wait_for)

CONFIG = """
time:
  idle_after: 1s
defaults:
  require_order: false
"""
# Resident memory the service may reach while chewing on all of this.
MAX_RSS_MB = 768


def raw_deal(deal_id, amount_text, tail=""):
    """A deal whose amount is written as raw JSON text (not valid for json.dumps)."""
    return ('{"tenant_id":"acme","deal_id":"%s","stage":"Closed Won","amount_minor":%s,'
            '"currency":"USD","customer_id":"C-1","close_time":"%s"%s}'
            % (deal_id, amount_text, ago(40), tail))


def dead_lettered(reason):
    """The outcome "dead-lettered with closeloop.reason `reason`"."""
    return "dlq:" + reason


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def pb_field(number, payload):
    """A length-delimited Protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def pb_deal(deal_id, amount, milestones):
    """A closeloop.v1.Deal in Protobuf with a MILESTONES plan (kind 2)."""
    close = varint(1 << 3) + varint(int(
        datetime.datetime.now(datetime.timezone.utc).timestamp()) - 40 * 86400)
    return (pb_field(1, b"acme") + pb_field(2, deal_id.encode()) + pb_field(3, b"Closed Won") +
            varint(4 << 3) + varint(amount) + pb_field(5, b"USD") + pb_field(9, close) +
            pb_field(15, varint(1 << 3) + varint(2) + milestones))


def hostile_records():
    """(key, value bytes or None, outcomes): outcomes is the set of what is
    acceptable: dead_lettered(reason), an exception amount (int) for the record's key
    as deal id, or None for "applied, no exception due" (proved through the
    books: see BOOKED_WITHOUT_EXCEPTION)."""
    nested = "[" * 100_000 + "]" * 100_000
    # A million milestones as Protobuf: 4 bytes each, 4 MB in all (as JSON
    # it would be 55 MB, more than the embedded broker keeps: see
    # test_the_dev_broker_says_when_it_deletes_records).
    million = pb_deal("H-million", 1_000_000, pb_field(2, b"\x10\x01") * 1_000_000)
    many = json.dumps({"kind": "MILESTONES", "milestones": [
        {"due_time": ago(30), "amount_minor": "1"}] * 5000})
    return [
        ("H-empty", b"", {dead_lettered("empty")}),
        ("H-tombstone", None, {dead_lettered("empty")}),
        ("H-huge", (deal("H-huge", 100, customer_name="x" * (3 << 20))).encode(), {dead_lettered("oversized")}),
        ("H-nested-root", nested.encode(), {dead_lettered("malformed_json")}),
        ("H-nested-field", raw_deal("H-nested-field", "1", ',"x":' + nested).encode(), {dead_lettered("unknown_field")}),
        ("H-int64", raw_deal("H-int64", "99999999999999999999").encode(), {dead_lettered("wrong_type")}),
        ("H-int64-str", raw_deal("H-int64-str", '"-99999999999999999999"').encode(), {dead_lettered("wrong_type")}),
        ("H-nan", raw_deal("H-nan", "NaN").encode(), {dead_lettered("malformed_json")}),
        ("H-nan-str", raw_deal("H-nan-str", '"NaN"').encode(), {dead_lettered("wrong_type")}),
        ("H-inf", raw_deal("H-inf", "1e400").encode(), {dead_lettered("malformed_json")}),
        ("H-exp", raw_deal("H-exp", "1.5e3").encode(), {1500}),
        ("H-frac", raw_deal("H-frac", "12.5").encode(), {dead_lettered("wrong_type")}),
        ("H-dup", ('{"tenant_id":"acme","deal_id":"H-dup","deal_id":"H-dup",'
                   '"stage":"Closed Won","amount_minor":700,"amount_minor":800,'
                   '"currency":"USD","close_time":"%s"}' % ago(40)).encode(), {dead_lettered("duplicate_field")}),
        ("H-type-obj", raw_deal("H-type-obj", '{"x":1}').encode(), {dead_lettered("wrong_type")}),
        ("H-type-list", deal("H-type-list", [1, 2]).encode(), {dead_lettered("wrong_type")}),
        ("H-type-id", json.dumps({"tenant_id": "acme", "deal_id": 5, "stage": "Closed Won",
                                  "amount_minor": 1, "currency": "USD",
                                  "close_time": ago(40)}).encode(), {dead_lettered("wrong_type")}),
        ("H-utf8", deal("H-utf8", 100, customer_name="@@").encode().replace(b"@@", b"\xff\xfe"),
         {dead_lettered("invalid_utf8")}),
        ("H-utf8-key", deal("H-utf8-key", 100).encode().replace(b'"stage"', b'"st\xc3ge"'),
         {dead_lettered("invalid_utf8")}),
        # Under max_record_bytes, but its exception record (customer_name, and
        # the reason again) would pass Kafka's message.max.bytes: refused for
        # good, it stopped the service at every start.
        ("H-long-name", deal("H-long-name", 100, customer_name="x" * 600_000).encode(),
         {dead_lettered("oversized")}),
        # Past 2^53 - 1; as a fraction, protobuf's parser reads it through a
        # double, which would round it.
        ("H-2pow53", raw_deal("H-2pow53", "9007199254740992").encode(), {dead_lettered("invalid_value")}),
        ("H-frac-big", raw_deal("H-frac-big", "12345678901234567.0").encode(), {dead_lettered("invalid_value")}),
        ("H-year0", deal("H-year0", 100, close_time="0000-01-01T00:00:00Z").encode(), {dead_lettered("unparseable_time")}),
        ("H-year9999", deal("H-year9999", 100, close_time="9999-12-31T23:59:59Z").encode(),
         {None}),
        ("H-million", million, {dead_lettered("oversized")}),
        ("H-many", deal("H-many", 5000, billing_plan=json.loads(many)).encode(), {dead_lettered("invalid_value")}),
        ("H-protobuf-junk", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", {dead_lettered("malformed_protobuf")}),
        ("H-confluent-junk", b"\x00\x00\x00\x00\x01\x80\x80\x80\x80\x80\x80", {dead_lettered("bad_framing")}),
        ("H-array", b"[1,2,3]", {dead_lettered("malformed_json")}),
    ]


def doc(**fields):
    return json.dumps({"tenant_id": "acme", **fields}).encode()


def other_topic_records():
    """(topic, key, value bytes, (reason, field)) for records that break the
    contract of their own topic's document. The key is the subject's id."""
    order = dict(customer_id="C-9", amount_minor=500, currency="USD", status="OPEN",
                 event_time=ago(40))
    invoice = dict(customer_id="C-9", amount_minor=500, currency="USD", issue_time=ago(40))
    payment = dict(invoice_id="PI-none", amount_minor=500, currency="USD", status="SUCCEEDED",
                   event_time=ago(20))
    command = dict(command_id="cmd-1", exception_id="acme:UNPAID:PI-V-0:1", action="ACK",
                   actor="ana", event_time=ago(1))
    o, i, p, c = "erp.orders", "billing.invoices", "billing.payments", "closeloop.commands"
    return [
        (o, "O-neg", doc(order_id="O-neg", **{**order, "amount_minor": -5}),
         ("negative_amount", "amount_minor")),
        (o, "O-status", doc(order_id="O-status", **{**order, "status": "SHIPPED"}),
         ("unknown_enum", "status")),
        (o, "O-currency", doc(order_id="O-currency", **{**order, "currency": "usd"}),
         ("bad_currency", "currency")),
        (o, "O-time", doc(order_id="O-time", **{**order, "event_time": "yesterday"}),
         ("unparseable_time", "event_time")),
        (o, "O-field", doc(order_id="O-field", ship_to="Berlin", **order),
         ("unknown_field", "ship_to")),
        (i, "I-kind", doc(invoice_id="I-kind", kind="DEBIT_NOTE", **invoice),
         ("unknown_enum", "kind")),
        (i, "I-issue", doc(invoice_id="I-issue", **{k: v for k, v in invoice.items()
                                                    if k != "issue_time"}),
         ("missing_field", "issue_time")),
        (i, "I-amount", doc(invoice_id="I-amount", **{**invoice, "amount_minor": "5.00"}),
         ("wrong_type", "amount_minor")),
        (i, "I-due", doc(invoice_id="I-due", due_time="2026-02-30T00:00:00Z", **invoice),
         ("unparseable_time", "due_time")),
        (i, "I-terms", doc(invoice_id="I-terms", payment_terms_days=-30, **invoice),
         ("invalid_value", "payment_terms_days")),
        (i, "I-utf8", doc(invoice_id="I-utf8", **{**invoice, "customer_id": "@@"}).replace(
            b"@@", b"\xc3\x28"), ("invalid_utf8", "")),
        (p, "P-status", doc(payment_id="P-status", **{**payment, "status": "PENDING"}),
         ("unknown_enum", "status")),
        (p, "P-invoice", doc(payment_id="P-invoice", **{k: v for k, v in payment.items()
                                                        if k != "invoice_id"}),
         ("missing_field", "invoice_id")),
        (p, "P-neg", doc(payment_id="P-neg", **{**payment, "amount_minor": -100}),
         ("negative_amount", "amount_minor")),
        (p, "P-currency", doc(payment_id="P-currency", **{**payment, "currency": "EURO"}),
         ("bad_currency", "currency")),
        (c, "C-unknown", doc(**{**command, "command_id": "C-unknown",
                                "exception_id": "acme:UNPAID:NOPE:1"}),
         ("unknown_exception", "exception_id")),
        (c, "C-tenant", doc(**{**command, "command_id": "C-tenant",
                               "exception_id": "globex:UNPAID:PI-V-0:1"}),
         ("unknown_exception", "exception_id")),
        (c, "C-action", doc(**{**command, "command_id": "C-action", "action": "ESCALATE"}),
         ("unknown_enum", "action")),
    ]


def valid_neighbour(topic, i):
    """(topic, key, value, subject id, {amounts of the exceptions it raises})
    for the valid documents sent just before hostile record `i` on `topic`:
    an order linked to nothing is ORPHAN_ORDER for its amount; an invoice
    linked to nothing is ORPHAN_INVOICE and, unpaid 40 days after issue,
    UNPAID for its amount; a payment of 1,000 leaves UNPAID at the rest of
    its invoice."""
    if topic == "erp.orders":
        oid, amount = f"O-V-{i}", 20_000 + i
        return [(topic, oid, doc(order_id=oid, customer_id=f"C-{oid}", amount_minor=amount,
                                 currency="USD", status="OPEN", event_time=ago(40)).decode(),
                 oid, {amount})]
    inv_id, amount = f"I-V-{i}", 30_000 + i
    if topic == "billing.payments":
        inv_id = f"PI-V-{i}"
    invoice = ("billing.invoices", inv_id,
               doc(invoice_id=inv_id, customer_id=f"C-{inv_id}", amount_minor=amount,
                   currency="USD", issue_time=ago(40)).decode())
    if topic != "billing.payments":
        return [(*invoice, inv_id, {amount})]
    pay_id = f"P-V-{i}"
    payment = ("billing.payments", pay_id,
               doc(payment_id=pay_id, invoice_id=inv_id, amount_minor=1000, currency="USD",
                   status="SUCCEEDED", event_time=ago(39)).decode())
    # Orphan for the whole amount; unpaid for what the payment left.
    return [(*invoice, inv_id, {amount, amount - 1000}), (*payment, inv_id, {amount, amount - 1000})]


# Deals applied without an exception (None above), with their amounts: the
# booked figure must count them, or they were dropped.
BOOKED_WITHOUT_EXCEPTION = {"H-year9999": 100}

# The embedded broker keeps at most 5 MiB per partition and deletes the
# oldest records beyond it (app/embedded_kafka.h): each record over 1 MB gets
# a partition of its own, the valid deal sent before it too.
PARTITIONS = 3
OWN_PARTITION = {"H-huge": 1, "H-million": 2}


def dead_letters(b):
    """closeloop.dlq as [{"key", "reason"}] (python3-kafka: the payloads here
    are not text)."""
    consumer = KafkaConsumer(bootstrap_servers=b, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000,
                             fetch_max_bytes=64 << 20, max_partition_fetch_bytes=64 << 20)
    try:
        parts = consumer.partitions_for_topic("closeloop.dlq") or set()
        consumer.assign([TopicPartition("closeloop.dlq", p) for p in parts])
        letters = []
        for msg in consumer:
            h = {k: v.decode("utf-8", "replace") for k, v in (msg.headers or [])}
            letters.append({"key": (msg.key or b"").decode("utf-8", "replace"),
                            "reason": h.get("closeloop.reason"),
                            "field": h.get("closeloop.field", ""),
                            "topic": h.get("closeloop.source.topic")})
        return letters
    finally:
        consumer.close()


def exceptions_and_dlq_now(b):
    return consume(b, "closeloop.exceptions"), dead_letters(b)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Hostile(unittest.TestCase):
    def stop(self, service, broker):
        """Stops `service` unless a failure stopped it already (None), which
        must exit 0, then `broker`."""
        try:
            if service is not None:
                code, log = service.stop()
                if code != 0:
                    print(log[-4000:])
                self.assertEqual(code, 0)
        finally:
            broker.stop()

    def test_hostile_records_go_to_the_dlq_and_valid_ones_around_them_are_processed(self):
        broker = DevBroker(partitions=PARTITIONS, capture_log=True)
        service = None
        try:
            b = broker.bootstrap
            producer = KafkaProducer(bootstrap_servers=b, max_request_size=64 << 20,
                                     buffer_memory=128 << 20, request_timeout_ms=60000)
            hostile = hostile_records()
            valid = {}
            sent = []
            for i, (key, value, _) in enumerate(hostile):
                v = f"V-{i}"
                valid[v] = 10_000 + i
                p = OWN_PARTITION.get(key, 0)
                sent.append(producer.send("crm.deals", key=v.encode(),
                                          value=deal(v, valid[v]).encode(), partition=p))
                sent.append(producer.send("crm.deals", key=key.encode(), value=value,
                                          partition=p))
            sent.append(producer.send("crm.deals", key=b"V-last",
                                      value=deal("V-last", 99_999).encode(), partition=0))
            valid["V-last"] = 99_999
            producer.flush(timeout=120)
            for future in sent:
                future.get(timeout=1)  # raises if the broker refused a record
            producer.close()
            # Nothing may have been deleted before the service reads it.
            starts = start_offsets(b, "crm.deals")
            self.assertEqual(set(starts.values()), {0}, f"log starts {starts}: {broker.log()}")

            service = Service(b, CONFIG)
            peak = 0.0

            def exceptions_and_dlq():
                nonlocal peak
                self.assertIsNone(service.proc.poll(), "closeloop run exited")
                peak = max(peak, rss_mb(service.proc.pid))
                return exceptions_and_dlq_now(b)

            def missing(result):
                exceptions, dlq = result
                deals = {json.loads(e["payload"]).get("deal_id") for e in exceptions}
                keys = {e["key"] for e in dlq}
                return sorted(set(valid) - deals) + sorted(
                    k for k, _, o in hostile if k not in keys and k not in deals and None not in o)

            try:
                exceptions, dlq = wait_for(exceptions_and_dlq, lambda r: not missing(r),
                                           timeout=120, what="exceptions and dead letters")
            except AssertionError:
                code, log = service.stop()
                service = None
                self.fail(f"missing: {missing(exceptions_and_dlq_now(b))}; exit {code}; "
                          f"log: {log[-3000:]}")
            # Everything is in; watch memory for a few more polls.
            for _ in range(8):
                exceptions, dlq = exceptions_and_dlq()

            by_deal = {}
            for e in exceptions:
                p = json.loads(e["payload"])
                by_deal.setdefault(p.get("deal_id"), []).append(p)
            for v, amount in valid.items():
                self.assertIn(v, by_deal, f"valid deal {v} has no exception")
                self.assertEqual(int(by_deal[v][0]["amount_at_risk_minor"]), amount, v)

            reasons = {}
            for d in dlq:
                self.assertTrue(d["reason"], f"{d['key']}: no closeloop.reason header")
                reasons[d["key"]] = d["reason"]
            for key, _, outcomes in hostile:
                with self.subTest(key=key):
                    if key in reasons:
                        self.assertIn(dead_lettered(reasons[key]), outcomes, f"{key} went to the DLQ")
                        continue
                    amounts = {int(p["amount_at_risk_minor"]) for p in by_deal.get(key, [])}
                    if None in outcomes and not amounts:
                        self.assertIn(key, BOOKED_WITHOUT_EXCEPTION)
                        continue  # applied, nothing due: the books below show it
                    self.assertTrue(amounts & outcomes,
                                    f"{key} applied with {amounts}, expected one of {outcomes}")
            # Every deal applied is booked (closed won): the valid ones, the
            # hostile ones applied with an exception, and those without one.
            applied = {k: min(o for o in outcomes if isinstance(o, int))
                       for k, _, outcomes in hostile if k in by_deal}
            want_booked = (sum(valid.values()) + sum(applied.values()) +
                           sum(BOOKED_WITHOUT_EXCEPTION.values())) / 100
            metrics_url = service.http_base() + "/metrics"  # acme is not in the config: "other"
            pattern = re.compile(
                r'^closeloop_booked_amount\{currency="USD",tenant="other"\} (\S+)$', re.M)

            def booked():
                m = pattern.search(get(metrics_url)[1])
                return float(m.group(1)) if m else None
            got_booked = wait_for(booked, lambda v: v is not None and abs(v - want_booked) < 0.005,
                                  timeout=30, what=f"booked USD {want_booked:.2f}")
            self.assertAlmostEqual(got_booked, want_booked, places=2)
            print("dlq reasons:", json.dumps(reasons, sort_keys=True))
            print(f"peak VmRSS {peak:.0f} MB")
            self.assertLess(peak, MAX_RSS_MB)
        finally:
            self.stop(service, broker)

    def test_each_documents_own_contract_is_enforced_on_its_own_topic(self):
        """Orders, invoices, payments and commands: records that break their
        own document's contract (SPEC §3, README "Commands"), produced
        between valid ones, each reach the DLQ with the reason and field it
        breaks, from the topic it came on; every valid document around them
        yields its exception with its exact amount."""
        broker = DevBroker(partitions=1)
        service = None
        try:
            b = broker.bootstrap
            hostile = other_topic_records()
            valid = {}  # subject id -> amount of each exception it must raise
            producer = KafkaProducer(bootstrap_servers=b)
            for i, (topic, key, value, _) in enumerate(hostile):
                for v_topic, v_key, v_value, subject, amounts in valid_neighbour(topic, i):
                    valid[subject] = amounts
                    producer.send(v_topic, key=v_key.encode(), value=v_value.encode())
                producer.send(topic, key=key.encode(), value=value)
            producer.flush(timeout=60)
            producer.close()

            service = Service(b, CONFIG)

            def subjects(exceptions):
                out = {}
                for e in exceptions:
                    p = json.loads(e["payload"])
                    subject = p.get("order_id") if p["kind"] == "ORPHAN_ORDER" else (
                        p.get("invoice_id") or p.get("deal_id"))
                    out.setdefault(subject, set()).add(int(p["amount_at_risk_minor"]))
                return out

            def missing(result):
                exceptions, dlq = result
                raised = subjects(exceptions)
                letters = {d["key"] for d in dlq}
                return ([s for s, a in valid.items() if not raised.get(s, set()) >= a] +
                        [k for _, k, _, _ in hostile if k not in letters])

            try:
                exceptions, dlq = wait_for(lambda: exceptions_and_dlq_now(b),
                                           lambda r: not missing(r), timeout=90,
                                           what="exceptions and dead letters")
            except AssertionError:
                code, log = service.stop()
                service = None
                self.fail(f"missing: {missing(exceptions_and_dlq_now(b))}; exit {code}; "
                          f"log: {log[-3000:]}")
            raised = subjects(exceptions)
            for subject, amounts in valid.items():
                self.assertEqual(raised[subject], amounts, subject)
            letters = {d["key"]: d for d in dlq}
            for topic, key, _, (reason, field) in hostile:
                with self.subTest(key=key):
                    self.assertEqual(letters[key]["topic"], topic)
                    self.assertEqual((letters[key]["reason"], letters[key]["field"]),
                                     (reason, field))
            # Nothing refused was applied: no exception names a hostile key.
            self.assertFalse(set(raised) & {k for _, k, _, _ in hostile})
        finally:
            self.stop(service, broker)

    def test_a_bad_record_with_a_key_too_large_for_a_dead_letter_does_not_stop_the_service(self):
        """A malformed record whose key alone is over the producer's
        message.max.bytes (1 MB; the input topic's broker took it): its dead
        letter leaves the key out, as it does a value too large, and says
        its size. Whole, Kafka refused the dead letter for good and the
        service exited 1, at every start."""
        with broker_and_state() as (b, state):
            producer = large_record_producer(b)
            producer.send("crm.deals", key=b"V-0", value=deal("V-0", 1).encode()).get(timeout=60)
            producer.send("crm.deals", key=b"k" * (2 << 20), value=b"{not json",
                          headers=[("trace", b"t-1")]).get(timeout=60)
            producer.send("crm.deals", key=b"V-2", value=deal("V-2", 1).encode()).get(timeout=60)
            producer.close()
            self.assertEqual(start_offsets(b, "crm.deals"), {0: 0})
            code, log = Service(b, CONFIG, state_dir=state, args=["--until-idle"]).wait(120)
            self.assertEqual(code, 0, log[-3000:])
            self.assertIn("stopped after 3 records", log)
            letters = consume(b, "closeloop.dlq")
            self.assertEqual(len(letters), 1, letters)
            h = headers_of(letters[0])
            self.assertEqual(h.get("closeloop.reason"), "malformed_json")
            self.assertEqual(h.get("closeloop.source.offset"), "1")
            self.assertEqual(h.get("closeloop.key_bytes"), str(2 << 20))
            self.assertEqual(h.get("closeloop.value_bytes"), str(len(b"{not json")))
            self.assertIsNone(letters[0]["key"])

    def test_a_tenant_id_with_a_line_break_and_escapes_stays_on_its_log_line(self):
        """A record's tenant id is text from outside: the log line that names
        it (a rules change between runs) must not let it start a line of
        its own that passes for closeloop's, or send escape sequences to the
        terminal reading the log."""
        with broker_and_state() as (b, state):
            tenant = "evil\n2026-01-01T00:00:00.000 error forged\x1b[2J"
            produce(b, "crm.deals",
                    [("K-1", deal("D-1", 100).replace('"acme"', json.dumps(tenant)))])
            for window in ("3d", "5d"):  # the defaults change: every tenant is named
                config = CONFIG + f"  order_window: {window}\n"
                code, log = Service(b, config, state_dir=state,
                                    args=["--until-idle"]).wait(120)
                self.assertEqual(code, 0, log[-3000:])
            self.assertIn("rules changed since the last run", log)
            self.assertNotIn("\x1b", log)
            forged = [line for line in log.splitlines() if "forged" in line]
            self.assertTrue(forged, log[-3000:])
            for line in forged:
                self.assertIn("tenant evil", line)


if __name__ == "__main__":
    unittest.main()
