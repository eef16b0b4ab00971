#include "matcher/state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
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

template <class Doc>
std::vector<Doc> Sent(const History<Doc>& history) {
  std::vector<Doc> sent;
  history.ForEachSent([&](const Doc& version, EventTime t) {
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

// A deal version as ingest makes it: without `close`, close_time is the
// event time, marked inferred.
Deal DealAt(const char* stage, int t, std::optional<int> close = std::nullopt) {
  Deal d;
  d.id = DealId{"D-1"};
  d.stage = stage;
  d.event_time = EventTime(Duration(t));
  d.close_time = EventTime(Duration(close.value_or(t)));
  d.close_time_inferred = !close;
  return d;
}

int CloseAt(const History<Deal>& history, int t) {
  return static_cast<int>(
      history.AsOf(EventTime(Duration(t)))->close_time.time_since_epoch().count());
}

// A won deal the CRM re-sends without close_time keeps the time it was won,
// and its re-sends stay repeats of one version.
TEST(PutDeal, DatesAWonDealSentWithoutCloseTimeByWhenItWasWon) {
  History<Deal> history;
  EXPECT_TRUE(PutDeal(history, DealAt("Negotiation", 0)));
  for (int t = 5; t < 50; ++t) EXPECT_TRUE(PutDeal(history, DealAt("Closed Won", t)));
  EXPECT_FALSE(PutDeal(history, DealAt("Closed Won", 20)));  // a re-delivery
  EXPECT_EQ(CloseAt(history, 49), 5);
  EXPECT_EQ(CloseAt(history, 0), 0);
  EXPECT_EQ(history.versions.size(), 2u);
  // Won earlier, sent late: every version after it is re-dated.
  EXPECT_TRUE(PutDeal(history, DealAt("Closed Won", 3)));
  EXPECT_EQ(CloseAt(history, 49), 3);
  EXPECT_EQ(history.versions.size(), 2u);
  // Back in negotiation at 30, sent late: won again at 31.
  EXPECT_TRUE(PutDeal(history, DealAt("Negotiation", 30)));
  EXPECT_EQ(CloseAt(history, 29), 3);
  EXPECT_EQ(CloseAt(history, 49), 31);
}

// A close_time the CRM sent is kept, and an undated version continuing its
// stage takes it.
TEST(PutDeal, KeepsACloseTimeTheCrmSent) {
  History<Deal> history;
  PutDeal(history, DealAt("Closed Won", 10, 2));
  PutDeal(history, DealAt("Closed Won", 12));
  PutDeal(history, DealAt("Closed Won", 15, 14));
  PutDeal(history, DealAt("Closed Won", 16));
  EXPECT_EQ(CloseAt(history, 10), 2);
  EXPECT_EQ(CloseAt(history, 12), 2);
  EXPECT_EQ(CloseAt(history, 15), 14);
  EXPECT_EQ(CloseAt(history, 16), 14);
}

// Whatever order the versions come in, each is dated by the version sent
// before it in event time, and the History is the same.
TEST(PutDeal, AgreesWithDatingTheVersionsInTimeOrder) {
  std::mt19937 rng(17);
  const char* stages[] = {"Negotiation", "Closed Won"};
  for (int round = 0; round < 2000; ++round) {
    std::vector<Deal> docs;
    std::map<int, Deal> last;  // a version replaces one at the same time
    const int puts = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < puts; ++i) {
      const int t = static_cast<int>(rng() % 10);
      const bool dated = rng() % 4 == 0;
      docs.push_back(DealAt(stages[rng() % 2], t, dated ? std::optional(t - 3) : std::nullopt));
      last.insert_or_assign(t, docs.back());
    }
    History<Deal> history;
    for (const Deal& d : docs) PutDeal(history, d);
    std::vector<Deal> want;
    for (auto& [t, d] : last) {
      if (d.close_time_inferred && !want.empty() && want.back().stage == d.stage) {
        d.close_time = want.back().close_time;
      }
      want.push_back(d);
    }
    ASSERT_EQ(Sent(history), want) << "round " << round;
    History<Deal> in_order;
    for (const Deal& d : want) in_order.Put(d);
    EXPECT_EQ(history, in_order) << "round " << round;
  }
}

}  // namespace
}  // namespace closeloop::matcher
