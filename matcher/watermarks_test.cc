#include "matcher/watermarks.h"

#include <gtest/gtest.h>

#include <random>

namespace closeloop::matcher {
namespace {

// Of() is kept as the operations go; it must always equal the minimum over
// the declared partitions (kMinTime while one is unheard of).
TEST(WatermarkSet, OfIsTheMinimumOverDeclaredPartitionsAfterAnyOperations) {
  std::mt19937 rng(7);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  WatermarkSet wm;
  std::map<int, EventTime> reached[kSourceCount];
  std::vector<int> declared[kSourceCount];
  for (int step = 0; step < 5000; ++step) {
    const int s = uniform(0, kSourceCount - 1);
    const auto source = static_cast<Source>(s);
    switch (uniform(0, 9)) {
      case 0: {  // a rebalance: another set of partitions
        std::vector<int> partitions;
        for (int p = 0; p < 4; ++p) {
          if (uniform(0, 1)) partitions.push_back(p);
        }
        declared[s] = partitions;
        wm.SetPartitions(source, partitions);
        break;
      }
      case 1: {
        const EventTime t = EventTime(Duration(uniform(0, 1000)));
        wm.AdvanceAll(t);
        for (int k = 0; k < kSourceCount; ++k) {
          if (declared[k].empty()) declared[k] = {0};
          for (int p : declared[k]) reached[k][p] = std::max(reached[k][p], t);
        }
        break;
      }
      default: {
        const int p = uniform(0, 4);
        const EventTime t = EventTime(Duration(uniform(0, 1000)));
        wm.Advance(source, p, t);
        auto [it, fresh] = reached[s].try_emplace(p, t);
        if (!fresh) it->second = std::max(it->second, t);
      }
    }
    for (int k = 0; k < kSourceCount; ++k) {
      EventTime want = declared[k].empty() ? kMinTime : kMaxTime;
      for (int p : declared[k]) {
        auto it = reached[k].find(p);
        want = it == reached[k].end() ? kMinTime : std::min(want, it->second);
        if (want == kMinTime) break;
      }
      ASSERT_EQ(wm.Of(static_cast<Source>(k)), want) << "source " << k << ", step " << step;
    }
  }
}

}  // namespace
}  // namespace closeloop::matcher
