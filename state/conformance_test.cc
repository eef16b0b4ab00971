// One suite run against every matcher::Store: MemoryStore (the reference)
// and RocksStore. RocksStore runs each test twice: reading pending writes,
// and with a commit after every write.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "matcher/memory_store.h"
#include "state/store.h"
#include "state/store_testing.h"

namespace closeloop::state {
namespace {

using matcher::EventTime;
using matcher::Slot;
using matcher::Timer;
using testing::At;

std::string MakeTempDir() {
  std::string pattern = ::testing::TempDir() + "/closeloop-state-XXXXXX";
  const char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

struct Memory {
  matcher::MemoryStore store;
  void Sync() {}
  void Commit() {}
};

template <bool kCommitEachWrite>
struct Rocks {
  std::string dir = MakeTempDir();
  std::unique_ptr<RocksStore> store_ptr = Open();
  RocksStore& store = *store_ptr;
  std::unique_ptr<RocksStore> Open() {
    auto s = RocksStore::Open({.dir = dir});
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  }
  void Sync() {
    if (!kCommitEachWrite) return;
    Commit();
  }
  void Commit() { ASSERT_TRUE(store.Commit().ok()); }
  ~Rocks() {
    EXPECT_TRUE(store.status().ok()) << store.status();
    store_ptr.reset();
    std::filesystem::remove_all(dir);
  }
};

template <class Impl>
class StoreConformance : public ::testing::Test {
 protected:
  Impl impl_;
  matcher::Store& store() { return impl_.store; }
  void Sync() { impl_.Sync(); }
  // RocksStore lists only committed subjects (SubjectIds).
  void Commit() { impl_.Commit(); }
};

using Impls = ::testing::Types<Memory, Rocks<false>, Rocks<true>>;
class ImplNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if (std::is_same_v<T, Memory>) return "MemoryStore";
    if (std::is_same_v<T, Rocks<false>>) return "RocksStorePending";
    return "RocksStoreCommitted";
  }
};
TYPED_TEST_SUITE(StoreConformance, Impls, ImplNames);

TYPED_TEST(StoreConformance, StatesReadBackAsPut) {
  auto deal = testing::FullDealState("acme", "d-1");
  auto order = testing::FullOrderState("acme", "o-1");
  auto invoice = testing::FullInvoiceState("acme", "i-1");
  EXPECT_FALSE(this->store().GetDeal({"acme"}, {"d-1"}));
  this->store().Put(deal);
  this->store().Put(order);
  this->store().Put(invoice);
  this->Sync();
  EXPECT_EQ(this->store().GetDeal({"acme"}, {"d-1"}), deal);
  EXPECT_EQ(this->store().GetOrder({"acme"}, {"o-1"}), order);
  EXPECT_EQ(this->store().GetInvoice({"acme"}, {"i-1"}), invoice);
  // Keys are per kind and per tenant.
  EXPECT_FALSE(this->store().GetDeal({"other"}, {"d-1"}));
  EXPECT_FALSE(this->store().GetOrder({"acme"}, {"d-1"}));
  EXPECT_FALSE(this->store().GetInvoice({"acme"}, {"o-1"}));

  // A put replaces.
  deal.orders.push_back({"o-3"});
  this->store().Put(deal);
  this->Sync();
  EXPECT_EQ(this->store().GetDeal({"acme"}, {"d-1"}), deal);
}

TYPED_TEST(StoreConformance, TenantsNeverCollide) {
  matcher::DealState a{.tenant = {"a"}, .id = {"bc"}};
  matcher::DealState b{.tenant = {"ab"}, .id = {"c"}};
  a.orders.push_back({"p"});
  b.orders.push_back({"o"});
  this->store().Put(a);
  this->store().Put(b);
  this->Sync();
  EXPECT_EQ(this->store().GetDeal({"a"}, {"bc"}), a);
  EXPECT_EQ(this->store().GetDeal({"ab"}, {"c"}), b);
  EXPECT_FALSE(this->store().GetDeal({"a"}, {"b"}));
}

TYPED_TEST(StoreConformance, SubjectIdsOfATenantInOrderAfterTheLastOneGiven) {
  using matcher::SubjectType;
  using Ids = std::vector<std::string>;
  const std::string zero("D\0x", 3);  // an id holding the escape byte
  for (const std::string& id : {std::string("D-3"), std::string("D-1"), zero, std::string("D-2")}) {
    this->store().Put(testing::FullDealState("acme", id));
  }
  this->store().Put(testing::FullDealState("acme2", "D-0"));
  this->store().Put(testing::FullDealState("acm", "e"));
  this->store().Put(testing::FullOrderState("acme", "O-1"));
  this->store().Put(testing::FullInvoiceState("acme", "I-1"));
  this->Commit();
  matcher::Store& s = this->store();
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, std::nullopt, 10),
            (Ids{zero, "D-1", "D-2", "D-3"}));
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, std::nullopt, 2), (Ids{zero, "D-1"}));
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, "D-2", 10), Ids{"D-3"});
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, "D-10", 1), Ids{"D-2"});
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, "D", 10), (Ids{zero, "D-1", "D-2", "D-3"}));
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, zero, 10), (Ids{"D-1", "D-2", "D-3"}));
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, "D-3", 10), Ids{});
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acme"}, std::nullopt, 0), Ids{});
  EXPECT_EQ(s.SubjectIds(SubjectType::kOrder, {"acme"}, std::nullopt, 10), Ids{"O-1"});
  EXPECT_EQ(s.SubjectIds(SubjectType::kInvoice, {"acme"}, std::nullopt, 10), Ids{"I-1"});
  EXPECT_EQ(s.SubjectIds(SubjectType::kDeal, {"acm"}, std::nullopt, 10), Ids{"e"});
  EXPECT_EQ(s.SubjectIds(SubjectType::kOrder, {"nobody"}, std::nullopt, 10), Ids{});
}

TYPED_TEST(StoreConformance, PaymentInvoiceIndex) {
  EXPECT_FALSE(this->store().GetPaymentInvoice({"t"}, {"p"}));
  this->store().PutPaymentInvoice({"t"}, {"p"}, {"i-1"});
  this->Sync();
  EXPECT_EQ(this->store().GetPaymentInvoice({"t"}, {"p"}), matcher::InvoiceId{"i-1"});
  this->store().PutPaymentInvoice({"t"}, {"p"}, {"i-2"});
  this->Sync();
  EXPECT_EQ(this->store().GetPaymentInvoice({"t"}, {"p"}), matcher::InvoiceId{"i-2"});
  EXPECT_FALSE(this->store().GetPaymentInvoice({"u"}, {"p"}));
}

TYPED_TEST(StoreConformance, CustomerDealsIndexIsSortedAndDistinct) {
  this->store().AddDealOfCustomer({"t"}, {"c"}, {"d-2"});
  this->store().AddDealOfCustomer({"t"}, {"c"}, {"d-1"});
  this->Sync();
  this->store().AddDealOfCustomer({"t"}, {"c"}, {"d-2"});
  this->store().AddDealOfCustomer({"t"}, {"c"}, {"d-10"});
  this->store().AddDealOfCustomer({"t"}, {"c2"}, {"d-9"});
  this->store().AddDealOfCustomer({"t2"}, {"c"}, {"d-8"});
  this->Sync();
  const std::vector<matcher::DealId> want = {{"d-1"}, {"d-10"}, {"d-2"}};
  EXPECT_EQ(this->store().DealsOfCustomer({"t"}, {"c"}), want);
  EXPECT_EQ(this->store().DealsOfCustomer({"t"}, {"c2"}), std::vector<matcher::DealId>{{"d-9"}});
  EXPECT_TRUE(this->store().DealsOfCustomer({"t"}, {"nobody"}).empty());
}

TYPED_TEST(StoreConformance, DueTimersInOrderWithinBounds) {
  const std::vector<Timer> timers = {
      {Slot::kUnpaid, At(200), {"b"}, "x"},
      {Slot::kUnpaid, At(100), {"b"}, "y"},
      {Slot::kUnpaid, At(100), {"a"}, "z"},
      {Slot::kUnpaid, At(-50), {"z"}, "w"},
      {Slot::kUnpaid, At(100), {"a"}, "y"},
      {Slot::kUnpaid, At(300), {"a"}, "a"},
      {Slot::kTerms, At(100), {"a"}, "a"},
      {Slot::kBilling, At(50), {"a"}, "a"},
      {Slot::kUnpaid, matcher::kMinTime, {"m"}, "m"},
  };
  for (const Timer& t : timers) this->store().AddTimer(t);
  this->store().AddTimer(timers[0]);  // twice is once
  this->Sync();
  const std::vector<Timer> want = {
      {Slot::kUnpaid, matcher::kMinTime, {"m"}, "m"}, {Slot::kUnpaid, At(-50), {"z"}, "w"},
      {Slot::kUnpaid, At(100), {"a"}, "y"},           {Slot::kUnpaid, At(100), {"a"}, "z"},
      {Slot::kUnpaid, At(100), {"b"}, "y"},           {Slot::kUnpaid, At(200), {"b"}, "x"},
  };
  EXPECT_EQ(this->store().DueTimers(Slot::kUnpaid, At(200)), want);
  EXPECT_EQ(this->store().DueTimers(Slot::kUnpaid, At(99)),
            std::vector<Timer>(want.begin(), want.begin() + 2));
  EXPECT_TRUE(this->store().DueTimers(Slot::kOrphanOrder, matcher::kMaxTime).empty());
  EXPECT_EQ(this->store().DueTimers(Slot::kTerms, matcher::kMaxTime).size(), 1u);
  // Timers stay until removed; removing one that is not there is a no-op.
  EXPECT_EQ(this->store().DueTimers(Slot::kUnpaid, At(200)), want);
  this->store().RemoveTimer({Slot::kUnpaid, At(100), {"a"}, "z"});
  this->store().RemoveTimer({Slot::kUnpaid, At(101), {"a"}, "z"});
  this->Sync();
  auto after = this->store().DueTimers(Slot::kUnpaid, matcher::kMaxTime);
  ASSERT_EQ(after.size(), 6u);
  EXPECT_EQ(after[2], (Timer{Slot::kUnpaid, At(100), {"a"}, "y"}));
  EXPECT_EQ(after[3], (Timer{Slot::kUnpaid, At(100), {"b"}, "y"}));
  EXPECT_EQ(after.back(), (Timer{Slot::kUnpaid, At(300), {"a"}, "a"}));
}

// Paging through the due timers with `after` and `limit` gives each exactly
// once, in order, committed or not, and skips one removed between pages.
TYPED_TEST(StoreConformance, DueTimersPageAfterTheLastOneGiven) {
  matcher::Store& store = this->store();
  for (int i = 0; i < 7; ++i) store.AddTimer({Slot::kBilling, At(10 * i), {"t"}, "d"});
  this->Sync();
  store.AddTimer({Slot::kBilling, At(35), {"t"}, "pending"});
  store.AddTimer({Slot::kUnpaid, At(1), {"t"}, "other slot"});
  EXPECT_EQ(store.DueTimers(Slot::kBilling, At(45), std::nullopt, 0).size(), 0u);
  std::vector<Timer> pages;
  std::optional<Timer> after;
  while (true) {
    const std::vector<Timer> page = store.DueTimers(Slot::kBilling, At(45), after, 2);
    ASSERT_LE(page.size(), 2u);
    if (page.empty()) break;
    pages.insert(pages.end(), page.begin(), page.end());
    after = page.back();
    if (pages.size() == 2) store.RemoveTimer({Slot::kBilling, At(30), {"t"}, "d"});
  }
  const std::vector<Timer> want = {
      {Slot::kBilling, At(0), {"t"}, "d"},  {Slot::kBilling, At(10), {"t"}, "d"},
      {Slot::kBilling, At(20), {"t"}, "d"}, {Slot::kBilling, At(35), {"t"}, "pending"},
      {Slot::kBilling, At(40), {"t"}, "d"},
  };
  EXPECT_EQ(pages, want);
  // A page after the last one due is empty; the slot's earliest timer is still found.
  EXPECT_TRUE(store.DueTimers(Slot::kBilling, At(45), want.back(), 5).empty());
  EXPECT_EQ(store.DueTimers(Slot::kBilling, At(0), std::nullopt, 5), std::vector<Timer>{want[0]});
}

// Reads see earlier writes at once, however they mix with committed ones.
TYPED_TEST(StoreConformance, ChangesInPlaceAreKeptAndEmptyStatesDropped) {
  matcher::Store& store = this->store();
  store.Deal({"t"}, {"d"}).orders.push_back({"o"});
  matcher::OrderState& looked_up = store.Order({"t"}, {"never-filled"});
  EXPECT_EQ(looked_up.id.value, "never-filled");
  EXPECT_EQ(looked_up.tenant.value, "t");
  store.Invoice({"t"}, {"i"}).fuzzy.decided = true;
  store.EndCall();
  this->Sync();
  ASSERT_TRUE(store.GetDeal({"t"}, {"d"}));
  EXPECT_EQ(store.GetDeal({"t"}, {"d"})->orders, matcher::SmallVector<matcher::OrderId>{{"o"}});
  EXPECT_FALSE(store.GetOrder({"t"}, {"never-filled"}));
  ASSERT_TRUE(store.GetInvoice({"t"}, {"i"}));
  EXPECT_TRUE(store.GetInvoice({"t"}, {"i"})->fuzzy.decided);
  // A later call sees the state where the last one left it.
  store.Deal({"t"}, {"d"}).orders.push_back({"o2"});
  store.EndCall();
  this->Sync();
  EXPECT_EQ(store.GetDeal({"t"}, {"d"})->orders.size(), 2u);
}

TYPED_TEST(StoreConformance, ReadsSeeEarlierWrites) {
  matcher::InvoiceState inv{.tenant = {"t"}, .id = {"i"}};
  inv.fuzzy.timer = At(5);
  this->store().Put(inv);
  EXPECT_EQ(this->store().GetInvoice({"t"}, {"i"}), inv);
  inv.fuzzy.decided = true;
  this->store().Put(inv);
  EXPECT_EQ(this->store().GetInvoice({"t"}, {"i"}), inv);
  this->store().AddTimer({Slot::kFuzzyLink, At(5), {"t"}, "i"});
  EXPECT_EQ(this->store().DueTimers(Slot::kFuzzyLink, At(5)).size(), 1u);
  this->store().RemoveTimer({Slot::kFuzzyLink, At(5), {"t"}, "i"});
  EXPECT_TRUE(this->store().DueTimers(Slot::kFuzzyLink, At(5)).empty());
  this->store().AddTimer({Slot::kFuzzyLink, At(5), {"t"}, "i"});
  this->store().AddDealOfCustomer({"t"}, {"c"}, {"d"});
  EXPECT_EQ(this->store().DealsOfCustomer({"t"}, {"c"}).size(), 1u);
  this->Sync();
  EXPECT_EQ(this->store().DueTimers(Slot::kFuzzyLink, At(5)).size(), 1u);
  EXPECT_EQ(this->store().GetInvoice({"t"}, {"i"}), inv);
}

}  // namespace
}  // namespace closeloop::state
