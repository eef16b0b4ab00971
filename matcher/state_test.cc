#include "matcher/state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace closeloop::matcher {
namespace {

// FlatMap against std::map: the same inserts, in random order with repeats,
// give the same entries in the same order, and operator[] finds what is there.
TEST(FlatMap, AgreesWithStdMap) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    FlatMap<PaymentId, int> flat;
    std::map<PaymentId, int> tree;
    const int inserts = static_cast<int>(rng() % 12);
    for (int i = 0; i < inserts; ++i) {
      const PaymentId id{"pay-" + std::to_string(rng() % 8)};
      const auto [it, fresh] = flat.try_emplace(id);
      EXPECT_EQ(fresh, tree.count(id) == 0) << id.value;
      EXPECT_EQ(it->first, id);
      flat[id] += i + 1;
      tree[id] += i + 1;
    }
    ASSERT_EQ(flat.size(), tree.size());
    EXPECT_EQ(flat.empty(), tree.empty());
    const std::vector<std::pair<PaymentId, int>> got(flat.begin(), flat.end());
    const std::vector<std::pair<PaymentId, int>> want(tree.begin(), tree.end());
    EXPECT_EQ(got, want);
  }
}

TEST(FlatMap, ComparesByEntries) {
  FlatMap<PaymentId, int> a, b;
  a[PaymentId{"p2"}] = 2;
  a[PaymentId{"p1"}] = 1;
  b[PaymentId{"p1"}] = 1;
  EXPECT_FALSE(a == b);
  b[PaymentId{"p2"}] = 2;
  EXPECT_TRUE(a == b);  // insertion order does not matter
  b[PaymentId{"p2"}] = 3;
  EXPECT_FALSE(a == b);
}

// History against one that keeps every version sent (as every History did
// before repeats): after each Put of a random sequence (few values, few
// times, so that late versions land inside runs and replace repeats), both
// give the same answer and the same versions, repeats spelled out.
namespace keep_all {
bool Put(std::vector<Payment>& versions, const Payment& doc) {
  auto it = versions.begin();
  while (it != versions.end() && it->event_time < doc.event_time) ++it;
  if (it != versions.end() && it->event_time == doc.event_time) {
    if (*it == doc) return false;
    *it = doc;
    return true;
  }
  versions.insert(it, doc);
  return true;
}
}  // namespace keep_all

Payment PaymentAt(int64_t amount, int t) {
  Payment p;
  p.id = PaymentId{"pay-1"};
  p.amount_minor = amount;
  p.event_time = EventTime(Duration(t));
  return p;
}

std::vector<Payment> Sent(const History<Payment>& history) {
  std::vector<Payment> sent;
  history.ForEachSent([&](const Payment& version, EventTime t) {
    sent.push_back(version);
    sent.back().event_time = t;
  });
  return sent;
}

TEST(History, AgreesWithKeepingEveryVersion) {
  std::mt19937 rng(5);
  for (int round = 0; round < 2000; ++round) {
    History<Payment> history;
    std::vector<Payment> all;
    const int puts = 1 + static_cast<int>(rng() % 14);
    for (int i = 0; i < puts; ++i) {
      const Payment doc =
          PaymentAt(1 + static_cast<int64_t>(rng() % 3), static_cast<int>(rng() % 10));
      ASSERT_EQ(history.Put(doc), keep_all::Put(all, doc)) << "round " << round << " put " << i;
      ASSERT_EQ(Sent(history), all) << "round " << round << " put " << i;
      for (int t = -1; t <= 10; ++t) {
        const Payment* got = history.AsOf(EventTime(Duration(t)));
        const auto want = std::find_if(all.rbegin(), all.rend(), [&](const Payment& p) {
          return p.event_time <= EventTime(Duration(t));
        });
        ASSERT_EQ(got != nullptr, want != all.rend()) << "round " << round << " at " << t;
        if (got != nullptr) {
          EXPECT_EQ(got->amount_minor, want->amount_minor);
        }
      }
    }
    // Versions as a store written before repeats holds them, brought to form.
    History<Payment> old;
    old.versions = all;
    old.Normalize();
    EXPECT_EQ(old, history) << "round " << round;
  }
}

// The same versions at distinct times, in any order, give the same History:
// runs and repeats do not depend on arrival order.
TEST(History, IsTheSameWhateverTheArrivalOrder) {
  std::mt19937 rng(9);
  for (int round = 0; round < 500; ++round) {
    std::vector<Payment> docs;
    for (int t = 0; t < 8; ++t) docs.push_back(PaymentAt(1 + static_cast<int64_t>(rng() % 2), t));
    History<Payment> first;
    for (const Payment& d : docs) first.Put(d);
    std::shuffle(docs.begin(), docs.end(), rng);
    History<Payment> shuffled;
    for (const Payment& d : docs) shuffled.Put(d);
    EXPECT_EQ(shuffled, first) << "round " << round;
  }
}

// A CDC feed re-sending an unchanged document keeps one version and its times.
TEST(History, KeepsAnUnchangedResendAsItsTimeAlone) {
  History<Payment> history;
  for (int t = 0; t < 100; ++t) EXPECT_TRUE(history.Put(PaymentAt(7, t)));
  EXPECT_FALSE(history.Put(PaymentAt(7, 42)));  // a re-delivery
  EXPECT_EQ(history.versions.size(), 1u);
  ASSERT_TRUE(history.repeats);
  EXPECT_EQ(history.repeats->size(), 99u);
  EXPECT_TRUE(history.Put(PaymentAt(8, 50)));  // a late change splits the run
  EXPECT_EQ(history.versions.size(), 3u);
  EXPECT_EQ(history.AsOf(EventTime(Duration(50)))->amount_minor, 8);
  EXPECT_EQ(history.AsOf(EventTime(Duration(51)))->amount_minor, 7);
}

}  // namespace
}  // namespace closeloop::matcher
