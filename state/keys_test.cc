#include "state/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>
#include <vector>

namespace closeloop::state::keys {
namespace {

TEST(Keys, EscapedStringsRoundTrip) {
  for (std::string s : {std::string(), std::string("a"), std::string("\0", 1),
                        std::string("a\0\x01\xff", 4), std::string("\0\0", 2)}) {
    std::string key;
    AppendString(key, s);
    AppendString(key, "next");
    std::string_view in = key;
    std::string a, b;
    ASSERT_TRUE(ReadString(in, a));
    ASSERT_TRUE(ReadString(in, b));
    EXPECT_EQ(a, s);
    EXPECT_EQ(b, "next");
    EXPECT_TRUE(in.empty());
  }
}

TEST(Keys, MalformedStringsAreRefused) {
  for (std::string bad : {std::string("abc"), std::string("a\0", 2), std::string("a\0\x02", 3)}) {
    std::string_view in = bad;
    std::string out;
    EXPECT_FALSE(ReadString(in, out)) << bad;
  }
  // A 0x00 is followed by 0xFF (an escaped 0x00) or 0x01 (the end), nothing
  // else, even when a well-formed end comes later.
  std::string_view in("a\0\x02b\0\x01", 6);
  std::string out;
  EXPECT_FALSE(ReadString(in, out));
  // A 0x00 as the last byte of the view is malformed, whatever lies past it.
  const std::string buffer("a\0\x01", 3);
  in = std::string_view(buffer.data(), 2);
  EXPECT_FALSE(ReadString(in, out));
}

// An integer cut short is refused, whatever lies past the end of the view.
TEST(Keys, TruncatedIntegersAreRefused) {
  const std::string outbox = OutboxKey(258);
  std::string_view in(outbox.data() + 1, 7);
  uint64_t u;
  EXPECT_FALSE(ReadUint64(in, u));
  const std::string offset = OffsetKey("t", 2);  // the partition in its last 4 bytes
  in = std::string_view(offset.data() + offset.size() - 4, 3);
  int32_t i;
  EXPECT_FALSE(ReadInt32(in, i));
}

// The parsers take exactly their own key type and nothing after the last
// part.
TEST(Keys, ParsersRefuseTrailingBytesAndOtherTypes) {
  matcher::Timer timer;
  const std::string timer_key = TimerKey({matcher::Slot::kUnpaid, {}, {"t"}, "i"});
  ASSERT_TRUE(ParseTimerKey(timer_key, timer));
  EXPECT_FALSE(ParseTimerKey(timer_key + "x", timer));
  std::string other_timer = timer_key;
  other_timer[0] = static_cast<char>(kMeta);
  EXPECT_FALSE(ParseTimerKey(other_timer, timer));
  // A slot byte that names no slot (0 is SLOT_UNSPECIFIED).
  for (char slot : {'\x00', '\x7f'}) {
    std::string unknown_slot = timer_key;
    unknown_slot[1] = slot;
    EXPECT_FALSE(ParseTimerKey(unknown_slot, timer)) << static_cast<int>(slot);
  }
  std::string topic;
  int32_t partition;
  ASSERT_TRUE(ParseOffsetKey(OffsetKey("t", 1), topic, partition));
  EXPECT_FALSE(ParseOffsetKey(OffsetKey("t", 1) + "x", topic, partition));
  std::string other_offset = OffsetKey("t", 1);
  other_offset[0] = static_cast<char>(kMeta);
  EXPECT_FALSE(ParseOffsetKey(other_offset, topic, partition));
  uint64_t seq;
  ASSERT_TRUE(ParseOutboxKey(OutboxKey(7), seq));
  EXPECT_FALSE(ParseOutboxKey(OutboxKey(7) + "x", seq));
  std::string other = OutboxKey(7);
  other[0] = static_cast<char>(kMeta);
  EXPECT_FALSE(ParseOutboxKey(other, seq));
}

// The bytes on disk, as state/README.md documents them: a store written by
// one build is read by the next, so none of this may move.
TEST(Keys, LayoutIsAsDocumented) {
  using namespace std::string_literals;
  EXPECT_EQ(FormatKey(),
            "\x01"
            "format\0\x01"s);
  EXPECT_EQ(InstanceKey(), "\x01instance\0\x01"s);
  EXPECT_EQ(OutboxNextKey(), "\x01outbox_next\0\x01"s);
  EXPECT_EQ(Key(kDeal, "t", "d"),
            "\x10t\0\x01"
            "d\0\x01"s);
  EXPECT_EQ(Key(kOrder, "t", "o"), "\x11t\0\x01o\0\x01"s);
  EXPECT_EQ(Key(kInvoice, "t", "i"), "\x12t\0\x01i\0\x01"s);
  EXPECT_EQ(Key(kPaymentInvoice, "t", "p"), "\x20t\0\x01p\0\x01"s);
  EXPECT_EQ(Key(kCustomerDeal, "t", "c", "d"),
            "\x21t\0\x01"
            "c\0\x01"
            "d\0\x01"s);
  // The slot byte is the slot's number in state.proto (SLOT_UNPAID = 5,
  // SLOT_TERMS = 4), not its position in matcher::Slot.
  const matcher::EventTime due{matcher::Duration(1)};
  EXPECT_EQ(TimerKey({matcher::Slot::kUnpaid, due, {"t"}, "i"}),
            "\x30\x05\x80\0\0\0\0\0\0\x01t\0\x01i\0\x01"s);
  EXPECT_EQ(TimerSlotPrefix(matcher::Slot::kTerms), "\x30\x04"s);
  EXPECT_EQ(TimerSlotPrefix(matcher::Slot::kNotBillable), "\x30\x01"s);
  EXPECT_EQ(TimerSlotPrefix(matcher::Slot::kOrderFuzzyLink), "\x30\x09"s);
  EXPECT_EQ(OffsetKey("t", 2), "\x40t\0\x01\x80\0\0\x02"s);
  EXPECT_EQ(OutboxKey(258), "\x50\0\0\0\0\0\0\x01\x02"s);
  EXPECT_EQ(MetaKey("a/b"),
            "\x60"
            "a/b"s);
}

// Tenants never collide: ("a", "bc") and ("ab", "c") are different keys,
// whatever bytes the ids hold.
TEST(Keys, PartsNeverCollide) {
  EXPECT_NE(Key(kDeal, "a", "bc"), Key(kDeal, "ab", "c"));
  EXPECT_NE(Key(kDeal, std::string("a\0", 2), "b"), Key(kDeal, "a", std::string("\0b", 2)));
  EXPECT_NE(Key(kDeal, "a", "b"), Key(kOrder, "a", "b"));
}

// Byte order of keys equals the order of their parts, as std::string and
// int64 compare: what DueTimers' (due, tenant, id) order rests on.
TEST(Keys, ByteOrderIsPartOrder) {
  std::mt19937 rng(7);
  const std::string alphabet(
      "\0\x01\xff"
      "ab",
      5);
  auto word = [&] {
    std::string s;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) s.push_back(alphabet[rng() % 5]);
    return s;
  };
  const int64_t dues[] = {INT64_MIN / 2, -1, 0, 1, 255, 256, INT64_MAX / 2};
  std::vector<matcher::Timer> timers;
  for (int i = 0; i < 500; ++i) {
    timers.push_back({matcher::Slot::kUnpaid,
                      matcher::EventTime(matcher::Duration(dues[rng() % 7])),
                      {word()},
                      word()});
  }
  std::vector<matcher::Timer> by_key = timers;
  std::sort(by_key.begin(), by_key.end(),
            [](const auto& a, const auto& b) { return TimerKey(a) < TimerKey(b); });
  std::sort(timers.begin(), timers.end());
  EXPECT_EQ(by_key, timers);
  for (const matcher::Timer& t : timers) {
    matcher::Timer back;
    ASSERT_TRUE(ParseTimerKey(TimerKey(t), back));
    EXPECT_EQ(back, t);
  }
}

TEST(Keys, OffsetAndOutboxKeysRoundTrip) {
  std::string topic;
  int32_t partition;
  ASSERT_TRUE(ParseOffsetKey(OffsetKey("crm.deals", -3), topic, partition));
  EXPECT_EQ(topic, "crm.deals");
  EXPECT_EQ(partition, -3);
  // What a parse reads replaces what its outputs held.
  ASSERT_TRUE(ParseOffsetKey(OffsetKey("t", 2), topic, partition));
  EXPECT_EQ(topic, "t");
  EXPECT_LT(OffsetKey("t", 2), OffsetKey("t", 10));
  uint64_t seq;
  ASSERT_TRUE(ParseOutboxKey(OutboxKey(258), seq));
  EXPECT_EQ(seq, 258u);
  EXPECT_LT(OutboxKey(255), OutboxKey(256));
}

}  // namespace
}  // namespace closeloop::state::keys
