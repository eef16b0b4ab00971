#include "matcher/timer_index.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace closeloop::matcher {
namespace {

EventTime At(int64_t ms) { return EventTime(Duration(ms)); }

// The index against a std::set of timers, the order Store::DueTimers
// promises, under random adds and removes with many ties on due time.
TEST(TimerIndex, AgreesWithAnOrderedSetUnderRandomChanges) {
  std::mt19937 rng(7);
  const Slot slots[] = {Slot::kBilling, Slot::kUnpaid};
  const TenantId tenants[] = {{"acme"}, {"globex"}};
  auto random_timer = [&] {
    return Timer{slots[rng() % 2], At(static_cast<int64_t>(rng() % 20)), tenants[rng() % 2],
                 "D-" + std::to_string(rng() % 30)};
  };
  TimerIndex index;
  std::set<Timer> model;
  for (int step = 0; step < 20'000; ++step) {
    const Timer t = random_timer();
    if (rng() % 3 == 0) {
      index.Remove(t);
      model.erase(t);
    } else {
      index.Add(t);
      model.insert(t);
    }
    ASSERT_EQ(index.size(), model.size());
    if (step % 97 != 0) continue;
    // Page through one slot's due timers as Engine::Advance does.
    const Slot slot = slots[rng() % 2];
    const EventTime upto = At(static_cast<int64_t>(rng() % 22));
    const size_t limit = 1 + rng() % 7;
    std::vector<Timer> want;
    for (const Timer& m : model) {
      if (m.slot == slot && m.due <= upto) want.push_back(m);
    }
    std::vector<Timer> got;
    std::optional<Timer> after;
    while (true) {
      const std::vector<Timer> page = index.Due(slot, upto, after, limit);
      ASSERT_LE(page.size(), limit);
      if (page.empty()) break;
      got.insert(got.end(), page.begin(), page.end());
      after = page.back();
    }
    ASSERT_EQ(got, want) << "step " << step;
  }
}

}  // namespace
}  // namespace closeloop::matcher
