#!/usr/bin/python3
"""A reference Slack bot for closeloop (SPEC §5): posts exceptions from
`closeloop.exceptions` to a Slack channel and turns its buttons into commands
on `closeloop.commands`.

- A new exception (OPEN), or an ESCALATED or RESOLVED one the bot has not
  posted yet, becomes a channel message with the amount at risk, age,
  owner/team, reason and confidence, and Ack / Snooze / Dismiss buttons.
- Every later record of that exception_id (UPDATED, ESCALATED, ACKNOWLEDGED,
  SNOOZED, RESOLVED) is a reply in that message's thread. exception_id ->
  thread is kept in a small JSON file, with the last sequence posted, so a
  restart or a replay of the topic posts nothing twice.
- The interactivity endpoint (POST /slack/interactions) checks Slack's request
  signature (v0 HMAC-SHA256 with the signing secret, timestamp at most five
  minutes old), and produces an ACK, SNOOZE or DISMISS command; the service's
  echo (ACKNOWLEDGED, SNOOZED, RESOLVED) then arrives in the thread.

Configuration is by environment variables (see README.md). Needs only
Debian's python3 and python3-kafka. Exception records must be JSON
(`topics.exceptions_format: json`, the default).
"""

import datetime
import hashlib
import hmac
import http.server
import json
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

MAX_REQUEST_BYTES = 1 << 20
MAX_SIGNATURE_AGE_S = 300

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENT = {c: 0 for c in "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()}
_EXPONENT.update({c: 3 for c in "BHD IQD JOD KWD LYD OMR TND".split()})
_EXPONENT.update({"CLF": 4, "UYW": 4})


class ConfigError(Exception):
    pass


class Settings:
    """Everything the bot reads from the environment."""

    REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CHANNEL", "KAFKA_BOOTSTRAP")

    def __init__(self, env):
        missing = [k for k in self.REQUIRED if not env.get(k)]
        if missing:
            raise ConfigError("missing environment variables: " + ", ".join(missing))
        self.bot_token = env["SLACK_BOT_TOKEN"]
        self.signing_secret = env["SLACK_SIGNING_SECRET"].encode()
        self.channel = env["SLACK_CHANNEL"]
        self.kafka_bootstrap = env["KAFKA_BOOTSTRAP"]
        self.slack_api_url = env.get("SLACK_API_URL", "https://slack.com/api/")
        if not self.slack_api_url.endswith("/"):
            self.slack_api_url += "/"
        self.listen = env.get("BOT_LISTEN", "0.0.0.0:3000")
        self.state_file = env.get("BOT_STATE_FILE", "closeloop-slack-bot.json")
        self.exceptions_topic = env.get("EXCEPTIONS_TOPIC", "closeloop.exceptions")
        self.commands_topic = env.get("COMMANDS_TOPIC", "closeloop.commands")
        self.group_id = env.get("KAFKA_GROUP_ID", "closeloop-slack-bot")
        try:
            self.snooze_days = int(env.get("BOT_SNOOZE_DAYS", "7"))
        except ValueError:
            raise ConfigError("BOT_SNOOZE_DAYS must be a whole number of days") from None
        if self.snooze_days < 1:
            raise ConfigError("BOT_SNOOZE_DAYS must be at least 1")
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"BOT_LISTEN must be HOST:PORT, got {self.listen!r}")
        self.listen_addr = (host, int(port))
        # Kafka security, passed to kafka-python as is.
        self.kafka_options = {}
        for var, option in (("KAFKA_SECURITY_PROTOCOL", "security_protocol"),
                            ("KAFKA_SASL_MECHANISM", "sasl_mechanism"),
                            ("KAFKA_SASL_USERNAME", "sasl_plain_username"),
                            ("KAFKA_SASL_PASSWORD", "sasl_plain_password"),
                            ("KAFKA_SSL_CAFILE", "ssl_cafile")):
            if env.get(var):
                self.kafka_options[option] = env[var]


def log(message):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {message}", file=sys.stderr, flush=True)


# --- Formatting -------------------------------------------------------------

def format_amount(minor, currency):
    """12000050, "USD" -> "USD 120,000.50", exactly: no floating point."""
    minor = int(minor)
    exp = _EXPONENT.get(currency, 2)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10 ** exp) if exp else (abs(minor), 0)
    text = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
    return f"{currency} {sign}{text}".strip()


def _subject(rec):
    for field, name in (("invoice_id", "Invoice"), ("order_id", "Order"), ("deal_id", "Deal")):
        if rec.get(field):
            return f"{name} {rec[field]}"
    return rec.get("exception_id", "")


def _confidence(rec):
    c = float(rec.get("confidence", 1.0))
    pct = f"{round(c * 100)}%"
    return pct if c >= 1.0 else f"{pct} (fuzzy link)"


def _age(rec):
    days = int(rec.get("age_days", 0))
    return "1 day" if days == 1 else f"{days} days"


def _at_risk(rec):
    return format_amount(rec.get("amount_at_risk_minor", 0), rec.get("currency", ""))


def _clip(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def exception_message(rec, snooze_days, buttons=True):
    """The channel message for an exception: (fallback text, Block Kit blocks)."""
    kind, state = rec.get("kind", "?"), rec.get("state", "?")
    amount = _at_risk(rec)
    icon = ":white_check_mark:" if state == "RESOLVED" else ":rotating_light:"
    headline = f"{icon} *{kind}* · *{amount}* at risk · {rec.get('severity', '')}"
    if state != "OPEN":
        headline += f" · {state}"
    text = f"{kind}: {amount} at risk ({_subject(rec)}, {rec.get('tenant_id', '')})"
    owner = rec.get("owner") or "—"
    fields = [("Tenant", rec.get("tenant_id", "")), ("Subject", _subject(rec)),
              ("Customer", rec.get("customer_name") or rec.get("customer_id") or "—"),
              ("Owner / team", f"{owner} / {rec.get('team', '')}"),
              ("Age", _age(rec)), ("Confidence", _confidence(rec))]
    # Slack refuses a message whose texts are longer than its limits
    # (invalid_blocks), and the bot would retry it for good: ids and names
    # have no length limit in closeloop's contract.
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": _clip(f"{headline}\n{rec.get('reason', '')}", 3000)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", 2000)}
                                       for k, v in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn",
                                          "text": _clip(f"`{rec.get('exception_id', '')}`",
                                                        2000)}]},
    ]
    value = json.dumps({"exception_id": rec["exception_id"], "tenant_id": rec["tenant_id"]})
    # An operational record (SOURCE_STALLED) has no tenant and takes no
    # command; a button value over Slack's 2,000 characters cannot be sent.
    if buttons and state != "RESOLVED" and rec["tenant_id"] and len(value) <= 2000:
        blocks.append({"type": "actions", "block_id": "closeloop_actions", "elements": [
            {"type": "button", "action_id": "closeloop_ack", "style": "primary",
             "text": {"type": "plain_text", "text": "Ack"}, "value": value},
            {"type": "button", "action_id": "closeloop_snooze",
             "text": {"type": "plain_text", "text": f"Snooze {snooze_days}d"}, "value": value},
            {"type": "button", "action_id": "closeloop_dismiss", "style": "danger",
             "text": {"type": "plain_text", "text": "Dismiss"}, "value": value,
             "confirm": {"title": {"type": "plain_text", "text": "Dismiss this exception?"},
                         "text": {"type": "mrkdwn",
                                  "text": "closeloop resolves it as DISMISSED and keeps the same "
                                          "problem quiet until it goes away."},
                         "confirm": {"type": "plain_text", "text": "Dismiss"},
                         "deny": {"type": "plain_text", "text": "Cancel"}}},
        ]})
    return text, blocks


def update_message(rec):
    """A thread reply for a later record of an exception: (text, blocks)."""
    state = rec.get("state", "?")
    amount = _at_risk(rec)
    note = f" Note: {rec['note']}" if rec.get("note") else ""
    if state == "ESCALATED":
        text = (f":arrow_up: Escalated to {rec.get('severity', '')}: {_age(rec)} outstanding, "
                f"{amount} at risk.")
    elif state == "UPDATED":
        text = f":pencil2: Amount at risk is now {amount}."
    elif state == "ACKNOWLEDGED":
        text = f":eyes: Acknowledged: no more escalation notices.{note}"
    elif state == "SNOOZED":
        text = f":zzz: Snoozed.{note}"
    elif state == "RESOLVED":
        resolution = rec.get("resolution", "")
        text = f":white_check_mark: Resolved: {resolution}."
        if int(rec.get("recovered_minor", 0)):
            text += f" {format_amount(rec['recovered_minor'], rec.get('currency', ''))} recovered."
        if rec.get("superseded_by"):
            text += f" Superseded by `{rec['superseded_by']}`."
        text += note
    elif state == "OPEN":
        text = f":rotating_light: Opened again: {amount} at risk. {rec.get('reason', '')}"
    else:
        text = f"{state}: {amount} at risk."
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


# --- Slack request signatures -----------------------------------------------

def sign(secret, timestamp, body):
    """Slack's v0 signature of a request body."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def verify_signature(secret, timestamp, body, signature, now=None):
    """True when `signature` is Slack's v0 HMAC of `body` at `timestamp` with
    `secret`, and the timestamp is within five minutes of `now`."""
    if not timestamp or not signature:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - ts) > MAX_SIGNATURE_AGE_S:
        return False
    # As bytes: compare_digest refuses a str that is not ASCII.
    return hmac.compare_digest(sign(secret, ts, body).encode(), signature.encode())


# --- Commands from buttons --------------------------------------------------

_ACTIONS = {"closeloop_ack": "ACK", "closeloop_snooze": "SNOOZE", "closeloop_dismiss": "DISMISS"}


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def command_from_interaction(payload, snooze_days, now):
    """The closeloop.v1.Command (JSON) for a block_actions payload from one of
    the bot's buttons. Raises ValueError for anything else."""
    if payload.get("type") != "block_actions" or not payload.get("actions"):
        raise ValueError("not a block_actions payload")
    action = payload["actions"][0]
    verb = _ACTIONS.get(action.get("action_id"))
    if verb is None:
        raise ValueError(f"unknown action {action.get('action_id')!r}")
    target = json.loads(action.get("value") or "{}")
    exception_id, tenant_id = target.get("exception_id"), target.get("tenant_id")
    if not exception_id or not tenant_id:
        raise ValueError("button value has no exception_id or tenant_id")
    user = payload.get("user") or {}
    who = user.get("username") or user.get("name") or user.get("id") or "unknown"
    # The same click delivered twice is the same command: closeloop applies a
    # command_id once.
    click = f"{user.get('id')}:{action.get('action_ts')}:{verb}:{exception_id}"
    command = {"command_id": "slack-" + hashlib.sha256(click.encode()).hexdigest()[:32],
               "tenant_id": tenant_id, "exception_id": exception_id, "action": verb,
               "actor": f"slack:{who}", "event_time": rfc3339(now)}
    if verb == "SNOOZE":
        command["snooze_until"] = rfc3339(now + datetime.timedelta(days=snooze_days))
        command["note"] = f"snoozed {snooze_days} days from Slack by {who}"
    elif verb == "DISMISS":
        command["note"] = f"dismissed from Slack by {who}"
    else:
        command["note"] = f"acknowledged from Slack by {who}"
    return command


# --- State: exception_id -> thread ------------------------------------------

class ThreadStore:
    """exception_id -> {"channel", "ts", "last_sequence"} in a JSON file,
    replaced atomically on every change. Used by one thread."""

    def __init__(self, path):
        self.path = path
        self.threads = {}
        if os.path.exists(path):
            with open(path) as f:
                self.threads = json.load(f)

    def get(self, exception_id):
        return self.threads.get(exception_id)

    def put(self, exception_id, entry):
        self.threads[exception_id] = entry
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".threads-")
        with os.fdopen(fd, "w") as f:
            json.dump(self.threads, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


# --- Slack Web API ----------------------------------------------------------

class SlackError(Exception):
    pass


class SlackClient:
    def __init__(self, api_url, token):
        self.api_url, self.token = api_url, token

    def post_message(self, channel, text, blocks, thread_ts=None, broadcast=False):
        """chat.postMessage; returns the message's ts. Waits out rate limits."""
        body = {"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread_ts:
            body["thread_ts"] = thread_ts
            body["reply_broadcast"] = broadcast
        req = urllib.request.Request(
            self.api_url + "chat.postMessage", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Authorization": f"Bearer {self.token}"})
        while True:
            try:
                with urllib.request.urlopen(req, timeout=15) as r:
                    reply = json.loads(r.read())
                break
            except urllib.error.HTTPError as e:
                if e.code == 429:
                    time.sleep(int(e.headers.get("Retry-After", "1")))
                    continue
                raise SlackError(f"chat.postMessage: HTTP {e.code}") from None
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise SlackError(f"chat.postMessage: {e}") from None
        if not reply.get("ok"):
            raise SlackError(f"chat.postMessage: {reply.get('error', 'not ok')}")
        return reply["ts"]


# --- Exceptions -> Slack ----------------------------------------------------

class Notifier:
    """Decides, per exception record, what to post and where."""

    ROOT_STATES = ("OPEN", "ESCALATED", "RESOLVED")

    def __init__(self, settings, slack, store):
        self.settings, self.slack, self.store = settings, slack, store

    def handle(self, rec):
        """Posts what `rec` calls for; returns what it did (for logs and tests):
        "posted", "threaded", "duplicate" or "skipped". Raises SlackError when
        Slack refused, so the caller retries the record."""
        eid, seq = rec["exception_id"], int(rec["sequence"])
        entry = self.store.get(eid)
        if entry and seq <= entry["last_sequence"]:
            return "duplicate"
        state = rec["state"]
        if entry is None:
            if state not in self.ROOT_STATES:
                log(f"{eid} #{seq}: {state} for an exception never posted; not posted")
                return "skipped"
            text, blocks = exception_message(rec, self.settings.snooze_days)
            ts = self.slack.post_message(self.settings.channel, text, blocks)
            self.store.put(eid, {"channel": self.settings.channel, "ts": ts, "last_sequence": seq})
            return "posted"
        text, blocks = update_message(rec)
        self.slack.post_message(entry["channel"], text, blocks, thread_ts=entry["ts"],
                                broadcast=state == "RESOLVED")
        self.store.put(eid, dict(entry, last_sequence=seq))
        return "threaded"


_NUMERIC = {"sequence", "amount_at_risk_minor", "recovered_minor", "age_days",
            "time_weighted_loss", "confidence"}


def parse_record(value):
    rec = json.loads(value)
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    for field in ("exception_id", "tenant_id", "state", "sequence"):
        if field not in rec:
            raise ValueError(f"no {field}")
    # The types the message is built from: a record that breaks them is
    # skipped here, not left to crash the bot at every restart.
    for field in _NUMERIC - {"confidence"}:
        if field in rec:
            int(rec[field])
    if "confidence" in rec:
        float(rec["confidence"])
    for field, value in rec.items():
        if field not in _NUMERIC and not isinstance(value, str):
            raise TypeError(f"{field} is not a string")
    return rec


def consume(settings, notifier, stop):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(settings.exceptions_topic, bootstrap_servers=settings.kafka_bootstrap,
                             group_id=settings.group_id, auto_offset_reset="earliest",
                             enable_auto_commit=False, **settings.kafka_options)
    backoff = 1
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                for msg in records:
                    where = f"{msg.topic}/{msg.partition}@{msg.offset}"
                    try:
                        rec = parse_record(msg.value)
                    except (ValueError, TypeError) as e:
                        log(f"{where}: not a JSON exception record ({e}); skipped")
                        continue
                    while not stop.is_set():
                        try:
                            outcome = notifier.handle(rec)
                            log(f"{where}: {rec['exception_id']} #{rec['sequence']} "
                                f"{rec['state']}: {outcome}")
                            backoff = 1
                            break
                        except SlackError as e:
                            log(f"{where}: {e}; retrying in {backoff}s")
                            stop.wait(backoff)
                            backoff = min(backoff * 2, 60)
                    if stop.is_set():
                        return
            if batches:
                consumer.commit()
    finally:
        consumer.close()


# --- Slack interactivity -> commands ----------------------------------------

def make_handler(settings, producer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            log("http: " + fmt % args)

        def reply(self, code, text=""):
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                self.reply(200, "ok\n")
            else:
                self.reply(404, "not found\n")

        def do_POST(self):
            if self.path != "/slack/interactions":
                return self.reply(404, "not found\n")
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self.reply(400, "bad Content-Length\n")
            if length < 0:
                return self.reply(400, "bad Content-Length\n")
            if length > MAX_REQUEST_BYTES:
                return self.reply(413, "too large\n")
            body = self.rfile.read(length)
            if not verify_signature(settings.signing_secret,
                                    self.headers.get("X-Slack-Request-Timestamp"), body,
                                    self.headers.get("X-Slack-Signature")):
                log("http: refused an interaction with a missing, wrong or stale signature")
                return self.reply(401, "invalid signature\n")
            try:
                form = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
                payload = json.loads(form["payload"][0])
                command = command_from_interaction(
                    payload, settings.snooze_days, datetime.datetime.now(datetime.timezone.utc))
            except (ValueError, KeyError, UnicodeDecodeError) as e:
                log(f"http: bad interaction: {e}")
                return self.reply(400, f"bad interaction: {e}\n")
            try:
                producer.send(settings.commands_topic, key=command["exception_id"].encode(),
                              value=json.dumps(command).encode()).get(timeout=10)
            except Exception as e:  # kafka-python raises many kinds
                log(f"http: could not produce {command['command_id']}: {e}")
                return self.reply(503, "could not queue the command, try again\n")
            log(f"http: {command['action']} {command['exception_id']} by {command['actor']} "
                f"as {command['command_id']}")
            self.reply(200)

    return Handler


def main():
    try:
        settings = Settings(os.environ)
    except ConfigError as e:
        print(f"closeloop-slack-bot: {e}", file=sys.stderr)
        return 2
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             **settings.kafka_options)
    server = http.server.ThreadingHTTPServer(settings.listen_addr,
                                             make_handler(settings, producer))
    host, port = server.server_address[:2]
    print(f"listening={host}:{port}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    notifier = Notifier(settings, SlackClient(settings.slack_api_url, settings.bot_token),
                        ThreadStore(settings.state_file))
    try:
        consume(settings, notifier, stop)
    finally:
        server.shutdown()
        producer.close(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
