"""The Slack bot end to end: `closeloop dev-broker` + `closeloop run` + the bot
in its own process + a fake Slack Web API that records chat.postMessage.
A won deal with no invoice 40 days after close becomes one channel message
with its amount (its escalation a reply in the thread); a signed Ack click
becomes a command, the service echoes ACKNOWLEDGED and the bot threads it
under the first message; unsigned, forged or stale requests are refused with
401 and produce nothing; a restarted bot re-reading the topic posts nothing
twice."""

import datetime
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
sys.path.insert(0, HERE)

from closeloop_slack_bot import sign  # noqa: E402
from kafka_harness import DevBroker, Service, consume, produce, wait_for  # noqa: E402

SECRET = b"test-signing-secret"
EXCEPTION_ID = "acme-1:MISSING_INVOICE:D-17:1"
CONFIG = """
time:
  idle_after: 1s
tenants:
  acme-1:
    require_order: false
"""


class FakeSlack:
    """chat.postMessage on loopback: records each call, answers ok with a ts."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    ts = f"1700000000.{len(fake.calls) + 1:06d}"
                    fake.calls.append({"path": self.path, "auth": self.headers["Authorization"],
                                       "body": body, "ts": ts})
                data = json.dumps({"ok": True, "channel": body["channel"], "ts": ts}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def posts(self):
        with self.lock:
            return list(self.calls)

    def stop(self):
        self.server.shutdown()


class Bot:
    def __init__(self, bootstrap, slack_url, state_file, group_id):
        env = dict(os.environ, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET.decode(),
                   SLACK_CHANNEL="#revenue", KAFKA_BOOTSTRAP=bootstrap, SLACK_API_URL=slack_url,
                   BOT_LISTEN="127.0.0.1:0", BOT_STATE_FILE=state_file, KAFKA_GROUP_ID=group_id)
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "closeloop_slack_bot.py")],
                                     env=env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening="):
            raise RuntimeError(f"bot did not start: {line!r} {self.read_log()}")
        self.url = "http://" + line.strip().split("=", 1)[1] + "/slack/interactions"

    def read_log(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        code = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        return code


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def interaction(value, action_id="closeloop_ack"):
    payload = {"type": "block_actions", "user": {"id": "U1", "username": "ana"},
               "actions": [{"action_id": action_id, "value": value,
                            "action_ts": "1700000100.000001"}]}
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def signed(body, secret=SECRET, ts=None):
    ts = int(time.time()) if ts is None else ts
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(secret, ts, body)}


def ago(days):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def about(call):
    return json.dumps(call["body"])


class SlackBotEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.state_file = os.path.join(cls.dir.name, "threads.json")
        cls.slack = FakeSlack()
        cls.broker = DevBroker(partitions=2)
        cls.service = Service(cls.broker.bootstrap, CONFIG)
        cls.bot = Bot(cls.broker.bootstrap, cls.slack.url, cls.state_file, "bot-1")

    @classmethod
    def tearDownClass(cls):
        cls.bot.stop()
        code, log = cls.service.stop()
        cls.broker.stop()
        cls.slack.stop()
        if code != 0:
            raise AssertionError(f"closeloop run exited {code}:\n{log}")

    def roots(self):
        return [c for c in self.slack.posts()
                if "thread_ts" not in c["body"] and EXCEPTION_ID in about(c)]

    def replies(self, root_ts):
        return [c for c in self.slack.posts() if c["body"].get("thread_ts") == root_ts]

    def test_exception_posted_acked_and_threaded(self):
        deal = {"tenant_id": "acme-1", "deal_id": "D-17", "stage": "Closed Won",
                "amount_minor": 1200000, "currency": "USD", "customer_name": "Acme Corp",
                "owner": "rep@example.com", "close_time": ago(40)}
        produce(self.broker.bootstrap, "crm.deals", [("acme-1:D-17", json.dumps(deal))])

        # One channel message, with the amount, the reason and the buttons.
        roots = wait_for(self.roots, lambda r: len(r) >= 1, what="the exception's message")
        root = roots[0]
        self.assertEqual(root["path"], "/api/chat.postMessage")
        self.assertEqual(root["auth"], "Bearer xoxb-test")
        self.assertEqual(root["body"]["channel"], "#revenue")
        text = about(root)
        self.assertIn("USD 12,000.00", root["body"]["text"])
        self.assertIn("MISSING_INVOICE", text)
        self.assertIn("has no invoice 30 days later", text)
        self.assertIn("rep@example.com / billing", text)
        self.assertIn("100%", text)
        actions = next(b for b in root["body"]["blocks"] if b["type"] == "actions")
        self.assertEqual([e["action_id"] for e in actions["elements"]],
                         ["closeloop_ack", "closeloop_snooze", "closeloop_dismiss"])
        value = actions["elements"][0]["value"]
        # Opened 10 days ago: escalated at 7 days, as a reply in the thread.
        wait_for(lambda: self.replies(root["ts"]),
                 lambda r: any("Escalated" in c["body"]["text"] for c in r),
                 what="the escalation in the thread")

        # Refused: no signature, another secret, a stale timestamp, a body
        # other than the one signed. Nothing reaches closeloop.commands.
        body = interaction(value)
        stale = int(time.time()) - 600
        forged = [{"Content-Type": "application/x-www-form-urlencoded"},
                  signed(body, secret=b"not-the-secret"),
                  signed(body, ts=stale),
                  signed(interaction(value, "closeloop_dismiss"))]
        for headers in forged:
            self.assertEqual(post(self.bot.url, body, headers), 401, headers)
        self.assertEqual(consume(self.broker.bootstrap, "closeloop.commands"), [])

        # A signed Ack: a command, echoed by the service, threaded by the bot.
        self.assertEqual(post(self.bot.url, body, signed(body)), 200)
        commands = consume(self.broker.bootstrap, "closeloop.commands")
        self.assertEqual(len(commands), 1)
        command = json.loads(commands[0]["payload"])
        self.assertEqual(commands[0]["key"], EXCEPTION_ID)
        self.assertEqual((command["action"], command["tenant_id"], command["exception_id"],
                          command["actor"]), ("ACK", "acme-1", EXCEPTION_ID, "slack:ana"))
        acks = wait_for(lambda: [c for c in self.replies(root["ts"])
                                 if "Acknowledged" in c["body"]["text"]],
                        lambda r: len(r) >= 1, what="ACKNOWLEDGED in the thread")
        self.assertEqual(len(acks), 1)
        self.assertIn("acknowledged from Slack by ana", acks[0]["body"]["text"])
        self.assertEqual(len(self.roots()), 1)

        # A restarted bot reading the topic from the start (new group) posts
        # nothing twice: the thread file knows what was posted.
        posted = len(self.slack.posts())
        self.bot.stop()
        self.__class__.bot = Bot(self.broker.bootstrap, self.slack.url, self.state_file, "bot-2")
        wait_for(lambda: self.bot.read_log().count(f"{EXCEPTION_ID} #"),
                 lambda n: n >= 3, what="the restarted bot to re-read the exception")
        self.assertIn("ACKNOWLEDGED: duplicate", self.bot.read_log())
        self.assertEqual(len(self.slack.posts()), posted)


if __name__ == "__main__":
    unittest.main(verbosity=2)
