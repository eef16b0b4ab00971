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
  EXPECT_LT(OffsetKey("t", 2), OffsetKey("t", 10));
  uint64_t seq;
  ASSERT_TRUE(ParseOutboxKey(OutboxKey(258), seq));
  EXPECT_EQ(seq, 258u);
  EXPECT_LT(OutboxKey(255), OutboxKey(256));
}

}  // namespace
}  // namespace closeloop::state::keys
