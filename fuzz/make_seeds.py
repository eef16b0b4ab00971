#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (committed; rerun after a
contract change). Sources: valid documents of every type in JSON, Protobuf
(protoc --encode) and Confluent framing, the adapter fixtures in
tests/fixtures, the example and fixture configs, and hand-picked edge cases.
Input layouts are described at the top of each fuzz/*.cc."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")

DOCS = {  # first byte of fuzz_decode_* inputs: index of the type
    0: ("Deal", {"tenant_id": "acme", "deal_id": "D-1", "stage": "Closed Won",
                 "amount_minor": "120000", "currency": "EUR", "customer_id": "C-7",
                 "close_time": "2024-03-01T10:00:00Z", "payment_terms_days": 30,
                 "billing_plan": {"kind": "MILESTONES", "milestones": [
                     {"due_time": "2024-04-01T00:00:00Z", "amount_minor": "60000"},
                     {"due_time": "2024-05-01T00:00:00Z", "amount_minor": "60000"}]}}),
    1: ("Order", {"tenant_id": "acme", "order_id": "SO-1", "deal_id": "D-1",
                  "customer_id": "C-7", "amount_minor": "120000", "currency": "EUR",
                  "status": "OPEN", "event_time": "2024-03-02T09:00:00Z"}),
    2: ("Invoice", {"tenant_id": "acme", "invoice_id": "INV-1", "order_id": "SO-1",
                    "amount_minor": "120000", "currency": "EUR", "kind": "INVOICE",
                    "issue_time": "2024-03-10T00:00:00Z", "due_time": "2024-04-09T00:00:00Z"}),
    3: ("Payment", {"tenant_id": "acme", "payment_id": "PAY-1", "invoice_id": "INV-1",
                    "amount_minor": "120000", "currency": "EUR", "status": "SUCCEEDED",
                    "event_time": "2024-04-01T12:00:00Z"}),
    4: ("Command", {"command_id": "cmd-1", "tenant_id": "acme", "exception_id": "ex-1",
                    "action": "SNOOZE", "snooze_until": "2024-05-01T00:00:00Z",
                    "note": "waiting", "actor": "bob", "event_time": "2024-04-20T08:00:00Z"}),
}


def text_format(value, indent=""):
    """A JSON-ish dict as protobuf text format (enough for DOCS)."""
    lines = []
    for key, v in value.items():
        if isinstance(v, dict) and key.endswith("_time") is False:
            lines.append(f"{key} {{ {text_format(v)} }}")
        elif isinstance(v, list):
            for item in v:
                lines.append(f"{key} {{ {text_format(item)} }}")
        elif key.endswith("_time") or key == "snooze_until":
            import datetime
            t = datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
            lines.append(f"{key} {{ seconds: {int(t.timestamp())} }}")
        elif key in ("amount_minor",) or isinstance(v, int):
            lines.append(f"{key}: {int(v)}")
        elif key in ("kind", "status", "action"):
            lines.append(f"{key}: {v}")
        else:
            lines.append(f"{key}: {json.dumps(v)}")
    return " ".join(lines)


def protobuf(name, doc):
    return subprocess.run(
        ["protoc", f"-I{ROOT}/proto", f"--encode=closeloop.v1.{name}",
         "closeloop/v1/events.proto", "closeloop/v1/command.proto"],
        input=text_format(doc).encode(), capture_output=True, check=True).stdout


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    edge_json = [
        b"", b"{}", b"[]", b"null", b"{\"tenant_id\":\"a\",\"tenant_id\":\"b\"}",
        b"{\"amount_minor\":1e400}", b"{\"amount_minor\":99999999999999999999}",
        b"{\"amount_minor\":NaN}", b"{\"a\":\"\xff\xfe\"}", b"[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]",
        b"{\"event_time\":\"0000-01-01T00:00:00Z\"}", b"{\"event_time\":\"9999-12-31T23:59:59Z\"}",
        b"{\"amount_minor\":\"-1\"}", b"{\"currency\":1}",
    ]
    for i, (name, doc) in DOCS.items():
        js = json.dumps(doc).encode()
        pb = protobuf(name, doc)
        write("fuzz_decode_json", f"valid_{name.lower()}", bytes([i]) + js)
        write("fuzz_decode_protobuf", f"valid_{name.lower()}", bytes([i]) + pb)
        write("fuzz_decode_confluent", f"valid_{name.lower()}",
              bytes([i]) + b"\x00\x00\x00\x00\x2a\x00" + pb)
        write("fuzz_decode_confluent", f"indexes_{name.lower()}",
              bytes([i]) + b"\x00\x00\x00\x00\x2a\x04\x02\x00" + pb)
        for j, e in enumerate(edge_json):
            write("fuzz_decode_json", f"edge_{name.lower()}_{j}", bytes([i]) + e)
        if name == "Command":
            write("fuzz_command", "valid_json", js)
            write("fuzz_command", "valid_protobuf", pb)
            write("fuzz_command", "valid_confluent", b"\x00\x00\x00\x00\x2a\x00" + pb)
            for j, e in enumerate(edge_json):
                write("fuzz_command", f"edge_{j}", e)
    write("fuzz_decode_protobuf", "truncated", b"\x00\x0a\xff\xff\xff\xff\x0f")
    write("fuzz_decode_confluent", "bad_magic", b"\x00\x01\x00\x00\x00\x2a\x00")

    def adapter_seeds(target, fixture, roles):
        records = json.load(open(os.path.join(ROOT, "tests", "fixtures", fixture)))["records"]
        by_role = {}
        for r in records:
            if r["topic"] not in roles:
                continue
            key = r.get("key")
            key = b"" if key is None else (key if isinstance(key, str) else json.dumps(key)).encode()
            value = b"" if r.get("value") is None else json.dumps(r["value"]).encode()
            by_role.setdefault(r["topic"], []).append(key + b"\x00" + value)
        for role, recs in by_role.items():
            sel = bytes([roles.index(role)])
            write(target, f"{fixture}_{role}_all", sel + b"\x1e".join(recs))
            for j, rec in enumerate(recs):
                write(target, f"{fixture}_{role}_{j}", sel + rec)

    adapter_seeds("fuzz_debezium", "debezium_postgres_deals.json", ["deals", "invoices"])
    adapter_seeds("fuzz_debezium", "debezium_mysql_invoices.json", ["deals", "invoices"])
    adapter_seeds("fuzz_salesforce_cdc", "salesforce_opportunity_won.json", ["deals"])

    for path in ["app/example-config.yaml", "tests/fixtures/debezium_pg_mysql.yaml",
                 "tests/fixtures/salesforce_sap.yaml"]:
        write("fuzz_config", os.path.basename(path), open(os.path.join(ROOT, path), "rb").read())
    write("fuzz_config", "empty", b"")
    write("fuzz_config", "kafka_secret",
          "kafka:\n  properties:\n    sasl.password: hunter2\nhttp:\n  listen: 127.0.0.1:0\n")

    for d in ["500ms", "30s", "15m", "12h", "3d", "2w", "0s", "9223372036854775807d"]:
        write("fuzz_parse", f"duration_{d}", b"\x00" + d.encode())
    for r in ["0.005", "1", "0.0125", "0", "1.0000001"]:
        write("fuzz_parse", f"ratio_{r}", b"\x01" + r.encode())
    for i, m in enumerate(["12.50", "-12.50", "1e3", "NaN", "99999999999999999999.99", "0.001"]):
        write("fuzz_parse", f"money_{i}", bytes([2 + 4 * 2]) + m.encode())
    for i, b in enumerate(["AeI=", "/w==", "", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="]):
        write("fuzz_parse", f"decimal_bytes_{i}", bytes([3 + 4 * 2]) + b.encode())


if __name__ == "__main__":
    sys.exit(main())
