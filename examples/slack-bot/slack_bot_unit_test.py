"""Unit tests of the Slack bot's pieces: amounts, request signatures,
commands from button clicks, and what gets posted where."""

import datetime
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import closeloop_slack_bot as bot  # noqa: E402

SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"
NOW = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.timezone.utc)
ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_CHANNEL": "#c",
       "KAFKA_BOOTSTRAP": "k:9092"}


def record(state, sequence, **extra):
    rec = {"exception_id": "acme:UNPAID:INV-9:1", "tenant_id": "acme", "kind": "UNPAID",
           "state": state, "sequence": str(sequence), "amount_at_risk_minor": "200000",
           "currency": "USD", "severity": "P3", "team": "collections", "owner": "ana",
           "invoice_id": "INV-9", "age_days": "12", "confidence": 1.0,
           "reason": "Invoice INV-9 has USD 2,000.00 unpaid.", "resolution": "RESOLUTION_UNSPECIFIED",
           "recovered_minor": "0"}
    rec.update(extra)
    return rec


class Amounts(unittest.TestCase):
    def test_minor_units_by_currency_exponent(self):
        self.assertEqual(bot.format_amount(1200000, "USD"), "USD 12,000.00")
        self.assertEqual(bot.format_amount("5", "EUR"), "EUR 0.05")
        self.assertEqual(bot.format_amount(1234567, "JPY"), "JPY 1,234,567")
        self.assertEqual(bot.format_amount(1500, "KWD"), "KWD 1.500")
        self.assertEqual(bot.format_amount(-250, "USD"), "USD -2.50")
        # Beyond double precision, still exact.
        self.assertEqual(bot.format_amount(9007199254740993, "USD"), "USD 90,071,992,547,409.93")


class Signatures(unittest.TestCase):
    # Slack's documented example request.
    BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
            b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
            b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
            b"00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d1"
            b"0d2c447fce8b6703c")
    TS = 1531420618
    SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

    def test_slacks_documented_example(self):
        self.assertEqual(bot.sign(SECRET, self.TS, self.BODY), self.SIG)
        self.assertTrue(bot.verify_signature(SECRET, str(self.TS), self.BODY, self.SIG,
                                             now=self.TS + 10))

    def test_refusals(self):
        ok = (SECRET, str(self.TS), self.BODY, self.SIG)
        self.assertFalse(bot.verify_signature(SECRET, str(self.TS), self.BODY, "v0=é",
                                              now=self.TS))  # not ASCII: refused, not raised
        self.assertFalse(bot.verify_signature(b"other", *ok[1:], now=self.TS))
        self.assertFalse(bot.verify_signature(*ok, now=self.TS + 301))  # stale
        self.assertFalse(bot.verify_signature(*ok, now=self.TS - 301))  # from the future
        self.assertFalse(bot.verify_signature(SECRET, str(self.TS), self.BODY + b"x", self.SIG,
                                              now=self.TS))
        self.assertFalse(bot.verify_signature(SECRET, None, self.BODY, self.SIG, now=self.TS))
        self.assertFalse(bot.verify_signature(SECRET, "soon", self.BODY, self.SIG, now=self.TS))
        self.assertFalse(bot.verify_signature(SECRET, str(self.TS), self.BODY, None, now=self.TS))


class Commands(unittest.TestCase):
    def click(self, action_id, ts="1.2"):
        value = json.dumps({"exception_id": "acme:UNPAID:INV-9:1", "tenant_id": "acme"})
        return {"type": "block_actions", "user": {"id": "U1", "username": "ana"},
                "actions": [{"action_id": action_id, "value": value, "action_ts": ts}]}

    def test_each_button(self):
        ack = bot.command_from_interaction(self.click("closeloop_ack"), 7, NOW)
        self.assertEqual({k: ack[k] for k in ("tenant_id", "exception_id", "action", "actor",
                                              "event_time")},
                         {"tenant_id": "acme", "exception_id": "acme:UNPAID:INV-9:1",
                          "action": "ACK", "actor": "slack:ana",
                          "event_time": "2026-11-01T12:00:00Z"})
        snooze = bot.command_from_interaction(self.click("closeloop_snooze"), 3, NOW)
        self.assertEqual((snooze["action"], snooze["snooze_until"]),
                         ("SNOOZE", "2026-11-04T12:00:00Z"))
        dismiss = bot.command_from_interaction(self.click("closeloop_dismiss"), 7, NOW)
        self.assertEqual(dismiss["action"], "DISMISS")
        self.assertIn("ana", dismiss["note"])

    def test_the_same_click_is_the_same_command(self):
        a = bot.command_from_interaction(self.click("closeloop_ack"), 7, NOW)
        b = bot.command_from_interaction(self.click("closeloop_ack"), 7, NOW)
        c = bot.command_from_interaction(self.click("closeloop_ack", ts="9.9"), 7, NOW)
        self.assertEqual(a["command_id"], b["command_id"])
        self.assertNotEqual(a["command_id"], c["command_id"])

    def test_refuses_what_is_not_our_button(self):
        with self.assertRaises(ValueError):
            bot.command_from_interaction(self.click("something_else"), 7, NOW)
        with self.assertRaises(ValueError):
            bot.command_from_interaction({"type": "view_submission"}, 7, NOW)
        bad = self.click("closeloop_ack")
        bad["actions"][0]["value"] = "{}"
        with self.assertRaises(ValueError):
            bot.command_from_interaction(bad, 7, NOW)


class FakeSlack:
    def __init__(self):
        self.posts = []

    def post_message(self, channel, text, blocks, thread_ts=None, broadcast=False):
        self.posts.append({"channel": channel, "text": text, "blocks": blocks,
                           "thread_ts": thread_ts, "broadcast": broadcast})
        return f"ts-{len(self.posts)}"


class Posting(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "threads.json")
        self.slack = FakeSlack()
        self.notifier = bot.Notifier(bot.Settings(ENV), self.slack, bot.ThreadStore(self.path))

    def tearDown(self):
        self.dir.cleanup()

    def test_open_then_updates_in_its_thread(self):
        self.assertEqual(self.notifier.handle(record("OPEN", 1)), "posted")
        root = self.slack.posts[0]
        self.assertIsNone(root["thread_ts"])
        self.assertIn("USD 2,000.00", root["text"])
        self.assertIn({"type": "mrkdwn", "text": "*Age*\n12 days"}, root["blocks"][1]["fields"])
        self.assertEqual(self.notifier.handle(record("ESCALATED", 2, severity="P2")), "threaded")
        self.assertEqual(self.notifier.handle(
            record("RESOLVED", 3, resolution="RECOVERED", recovered_minor="200000")), "threaded")
        escalated, resolved = self.slack.posts[1:]
        self.assertEqual(escalated["thread_ts"], "ts-1")
        self.assertIn("Escalated to P2", escalated["text"])
        self.assertEqual((resolved["thread_ts"], resolved["broadcast"]), ("ts-1", True))
        self.assertIn("RECOVERED. USD 2,000.00 recovered", resolved["text"])

    def test_replays_post_nothing_twice_even_after_a_restart(self):
        self.notifier.handle(record("OPEN", 1))
        self.notifier.handle(record("ACKNOWLEDGED", 2))
        again = bot.Notifier(bot.Settings(ENV), self.slack, bot.ThreadStore(self.path))
        self.assertEqual(again.handle(record("OPEN", 1)), "duplicate")
        self.assertEqual(again.handle(record("ACKNOWLEDGED", 2)), "duplicate")
        self.assertEqual(again.handle(record("SNOOZED", 3)), "threaded")
        self.assertEqual(len(self.slack.posts), 3)

    def test_an_update_of_an_unknown_exception(self):
        self.assertEqual(self.notifier.handle(record("ACKNOWLEDGED", 4)), "skipped")
        self.assertEqual(self.notifier.handle(record("ESCALATED", 5)), "posted")
        self.assertIsNone(self.slack.posts[0]["thread_ts"])
        self.assertIn("ESCALATED", self.slack.posts[0]["blocks"][0]["text"]["text"])

    def test_resolved_messages_have_no_buttons(self):
        _, blocks = bot.exception_message(record("RESOLVED", 1), 7)
        self.assertNotIn("actions", [b["type"] for b in blocks])
        _, blocks = bot.exception_message(record("OPEN", 1, confidence=0.8), 7)
        self.assertIn("actions", [b["type"] for b in blocks])
        self.assertIn("80% (fuzzy link)", json.dumps(blocks))


    def test_long_texts_fit_slacks_limits(self):
        """Ids and names have no length limit in closeloop's contract; Slack
        refuses texts over its limits, which the bot would retry for good."""
        long = "x" * 5000
        _, blocks = bot.exception_message(
            record("OPEN", 1, invoice_id=long, customer_name=long, reason=long), 7)
        self.assertLessEqual(len(blocks[0]["text"]["text"]), 3000)
        for field in blocks[1]["fields"]:
            self.assertLessEqual(len(field["text"]), 2000)
        for element in blocks[-1]["elements"]:
            self.assertLessEqual(len(element["value"]), 2000)
        _, blocks = bot.exception_message(record("OPEN", 1, exception_id="acme:UNPAID:" + long),
                                          7)
        self.assertNotIn("actions", [b["type"] for b in blocks], "no button it cannot send")

    def test_an_operational_record_has_no_buttons(self):
        _, blocks = bot.exception_message(
            record("OPEN", 1, exception_id="platform:SOURCE_STALLED:crm:1", tenant_id="",
                   kind="SOURCE_STALLED"), 7)
        self.assertNotIn("actions", [b["type"] for b in blocks])


class Config(unittest.TestCase):
    def test_missing_variables_are_named(self):
        with self.assertRaisesRegex(bot.ConfigError, "SLACK_SIGNING_SECRET, SLACK_CHANNEL"):
            bot.Settings({"SLACK_BOT_TOKEN": "x", "KAFKA_BOOTSTRAP": "k"})
        with self.assertRaisesRegex(bot.ConfigError, "BOT_LISTEN"):
            bot.Settings(dict(ENV, BOT_LISTEN="3000"))

    def test_records_that_are_not_exceptions(self):
        for value in (b"not json", b"[]", b'{"exception_id": "x"}'):
            with self.assertRaises(ValueError):
                bot.parse_record(value)
        # Fields of the wrong type are refused here, not left to crash the
        # bot when it builds the message (and again at every restart).
        for bad in ({"confidence": None}, {"amount_at_risk_minor": "1.5"}, {"age_days": []},
                    {"customer_name": 5}):
            with self.assertRaises((ValueError, TypeError), msg=bad):
                bot.parse_record(json.dumps(record("OPEN", 1, **bad)).encode())
        self.assertEqual(bot.parse_record(json.dumps(record("OPEN", 1)).encode())["sequence"], "1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
