#include "matcher/state_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>

#include "matcher/state.h"

namespace closeloop::matcher {
namespace {

TEST(StateTable, CreatesOnceAndKeepsTheAddress) {
  StateTable<DealState> table;
  auto [first, created] = table.FindOrCreate(TenantId{"acme"}, DealId{"D-1"});
  EXPECT_TRUE(created);
  EXPECT_EQ(first->tenant.value, "acme");
  EXPECT_EQ(first->id.value, "D-1");
  for (int i = 0; i < 1000; ++i) table.FindOrCreate(TenantId{"acme"}, DealId{std::to_string(i)});
  auto [again, created_again] = table.FindOrCreate(TenantId{"acme"}, DealId{"D-1"});
  EXPECT_FALSE(created_again);
  EXPECT_EQ(again, first);  // growth moved the index, not the state
  EXPECT_EQ(table.size(), 1001u);
}

TEST(StateTable, SameIdInTwoTenantsIsTwoStates) {
  StateTable<InvoiceState> table;
  InvoiceState* a = table.FindOrCreate(TenantId{"acme"}, InvoiceId{"INV-1"}).first;
  InvoiceState* g = table.FindOrCreate(TenantId{"globex"}, InvoiceId{"INV-1"}).first;
  EXPECT_NE(a, g);
  EXPECT_EQ(table.Find("globex", "INV-1"), g);
  EXPECT_EQ(table.Find("initech", "INV-1"), nullptr);
}

// The hash reads tenant and id by the word, with overlapping loads for the
// last bytes: a key is found again from another buffer whatever its length,
// whatever bytes lie past its end, and keys that differ only in where tenant
// ends and id begins are different states.
TEST(StateTable, FindsKeysOfEveryLengthFromAnyBuffer) {
  StateTable<DealState> table;
  std::map<std::pair<std::string, std::string>, DealState*> made;
  for (size_t t = 0; t <= 17; ++t) {
    for (size_t n = 0; n <= 25; ++n) {
      std::string tenant(t, 'a'), id(n, 'x');
      if (t > 0) tenant.back() = static_cast<char>('a' + n % 7);
      if (n > 0) id.front() = static_cast<char>('0' + t % 10);
      auto [state, created] = table.FindOrCreate(TenantId{tenant}, DealId{id});
      ASSERT_TRUE(created) << t << " " << n;
      made[{tenant, id}] = state;
    }
  }
  for (const auto& [key, state] : made) {
    // The same bytes followed by others in a longer buffer.
    const std::string tenant_buf = key.first + "#tail-bytes#";
    const std::string id_buf = key.second + "?more?bytes?";
    EXPECT_EQ(table.Find(std::string_view(tenant_buf).substr(0, key.first.size()),
                         std::string_view(id_buf).substr(0, key.second.size())),
              state)
        << key.first << "/" << key.second;
  }
  DealState* ab_c = table.FindOrCreate(TenantId{"ab"}, DealId{"c"}).first;
  DealState* a_bc = table.FindOrCreate(TenantId{"a"}, DealId{"bc"}).first;
  EXPECT_NE(ab_c, a_bc);
}

// Random inserts and erases against std::map: every key present in the
// reference is found at the address it was created at, and no erased key is
// found. Erasing from the middle of probe runs is what backward shifting must
// get right, so the table stays small and crowded (few distinct keys).
TEST(StateTable, AgreesWithAReferenceMapUnderRandomErases) {
  StateTable<OrderState> table;
  std::map<std::pair<std::string, std::string>, OrderState*> reference;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const std::string tenant = rng() % 2 ? "acme" : "globex";
    const std::string id = "SO-" + std::to_string(rng() % 300);
    const auto key = std::make_pair(tenant, id);
    if (rng() % 3 == 0) {
      if (OrderState* s = table.Find(tenant, id)) {
        ASSERT_EQ(reference.at(key), s);
        table.Erase(s);
        reference.erase(key);
      } else {
        ASSERT_EQ(reference.count(key), 0u);
      }
    } else {
      auto [s, created] = table.FindOrCreate(TenantId{tenant}, OrderId{id});
      ASSERT_EQ(created, reference.count(key) == 0);
      if (created) reference[key] = s;
      ASSERT_EQ(reference.at(key), s);
    }
    ASSERT_EQ(table.size(), reference.size());
  }
  for (const auto& [key, state] : reference) {
    EXPECT_EQ(table.Find(key.first, key.second), state);
  }
}

}  // namespace
}  // namespace closeloop::matcher
