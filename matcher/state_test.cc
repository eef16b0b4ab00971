#include "matcher/state.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace closeloop::matcher
