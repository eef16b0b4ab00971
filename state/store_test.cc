// RocksStore beyond the matcher::Store conformance suite: persistence across
// reopen, Discard, outbox, offsets and meta. Refusals and damaged records:
// store_refusal_test.cc.
#include "state/keys.h"
#include "state/store_test_fixture.h"

namespace closeloop::state {
namespace {

using matcher::Slot;
using testing::At;

TEST_F(RocksStoreTest, CommittedStateSurvivesReopen) {
  auto store = Open();
  const auto deal = testing::FullDealState("acme", "d-1");
  const auto invoice = testing::FullInvoiceState("acme", "i-1");
  store->Put(deal);
  store->Put(invoice);
  store->PutPaymentInvoice({"acme"}, {"p"}, {"i-1"});
  store->AddDealOfCustomer({"acme"}, {"c"}, {"d-1"});
  store->AddTimer({Slot::kUnpaid, At(10), {"acme"}, "i-1"});
  store->SetOffset("crm.deals", 0, 42);
  store->PutMeta("watermarks", "wm-bytes");
  ASSERT_TRUE(store->Commit().ok());
  store.reset();

  store = Open();
  EXPECT_EQ(store->GetDeal({"acme"}, {"d-1"}), deal);
  EXPECT_EQ(store->GetInvoice({"acme"}, {"i-1"}), invoice);
  EXPECT_EQ(store->GetPaymentInvoice({"acme"}, {"p"}), matcher::InvoiceId{"i-1"});
  EXPECT_EQ(store->DealsOfCustomer({"acme"}, {"c"}), std::vector<matcher::DealId>{{"d-1"}});
  EXPECT_EQ(store->DueTimers(Slot::kUnpaid, At(10)).size(), 1u);
  EXPECT_EQ(*store->GetOffset("crm.deals", 0), 42);
  EXPECT_EQ(*store->GetMeta("watermarks"), "wm-bytes");
  EXPECT_TRUE(store->status().ok());
}

// RocksDB's diagnostic log is written for as long as the process runs (two
// lines for each Stats(), which the pipeline calls with every snapshot):
// it rolls, and only a few old files are kept, so a service that runs for
// months does not fill the state volume with it.
TEST_F(RocksStoreTest, TheDiagnosticLogStaysBoundedHoweverLongItRuns) {
  auto store = Open({.info_log_file_bytes = 64 << 10});
  auto log_bytes = [&] {
    uintmax_t bytes = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().starts_with("LOG")) bytes += fs::file_size(e.path());
    }
    return bytes;
  };
  const uintmax_t at_open = log_bytes();
  // Well over the five files' worth of log the bound allows.
  for (int i = 0; i < 6000; ++i) store->Stats();
  EXPECT_LE(log_bytes(), at_open + 5 * (64 << 10));
}

// The store holds customers' names and money: a directory it creates is
// its owner's alone, whatever the umask (RocksDB's files are 0644 under
// the usual 022).
TEST_F(RocksStoreTest, ADirectoryItCreatesIsItsOwnersOnly) {
  ASSERT_NE(Open(), nullptr);
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
}

// A directory given to it (a mounted volume) keeps the permissions its
// owner chose.
TEST_F(RocksStoreTest, ADirectoryGivenToItKeepsItsPermissions) {
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  ASSERT_NE(Open(), nullptr);
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

TEST_F(RocksStoreTest, CompactingKeepsEveryRecord) {
  auto store = Open();
  for (int i = 0; i < 200; ++i)
    store->Put(testing::FullDealState("acme", "d-" + std::to_string(i)));
  store->AddTimer({Slot::kUnpaid, At(10), {"acme"}, "i-1"});
  ASSERT_TRUE(store->Commit().ok());
  store->RemoveTimer({Slot::kUnpaid, At(10), {"acme"}, "i-1"});
  store->Put(testing::FullDealState("acme", "d-late"));
  ASSERT_TRUE(store->CommitAndCompact().ok());
  // A commit alone leaves everything in the write-ahead log; the compaction
  // flushed it into table files.
  EXPECT_FALSE(Ssts().empty());
  store.reset();

  store = Open();
  EXPECT_EQ(store->GetDeal({"acme"}, {"d-7"}), testing::FullDealState("acme", "d-7"));
  EXPECT_EQ(store->GetDeal({"acme"}, {"d-late"}), testing::FullDealState("acme", "d-late"));
  EXPECT_TRUE(store->DueTimers(Slot::kUnpaid, At(10)).empty());
  EXPECT_TRUE(store->status().ok());
}

// The state cache holds far fewer states than the store: evicted states are
// read back, and changes made in place to any of them are committed.
TEST_F(RocksStoreTest, ASmallStateCacheLosesNothing) {
  auto store = Open({.state_cache_entries = 8});
  for (int i = 0; i < 50; ++i) {
    store->Put(testing::FullDealState("acme", "d-" + std::to_string(i)));
    if (i % 10 == 9) {
      ASSERT_TRUE(store->Commit().ok());
    }
  }
  for (int i = 0; i < 50; i += 3) {
    store->Deal({"acme"}, {"d-" + std::to_string(i)}).orders.push_back({"late"});
  }
  store->EndCall();
  ASSERT_TRUE(store->Commit().ok());
  for (auto reopen : {false, true}) {
    if (reopen) {
      store.reset();
      store = Open({.state_cache_entries = 8});
    }
    for (int i = 0; i < 50; ++i) {
      auto want = testing::FullDealState("acme", "d-" + std::to_string(i));
      if (i % 3 == 0) {
        want.orders.push_back({"late"});
      }
      EXPECT_EQ(store->GetDeal({"acme"}, {"d-" + std::to_string(i)}), want) << i;
    }
  }
  EXPECT_TRUE(store->status().ok());
}

// A cache bound below four keeps nothing after a commit (three quarters of
// it round down to none), and loses nothing.
TEST_F(RocksStoreTest, AStateCacheOfOneLosesNothing) {
  auto store = Open({.state_cache_entries = 1});
  for (int i = 0; i < 3; ++i) store->Put(testing::FullDealState("acme", "d-" + std::to_string(i)));
  ASSERT_TRUE(store->Commit().ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store->GetDeal({"acme"}, {"d-" + std::to_string(i)}),
              testing::FullDealState("acme", "d-" + std::to_string(i)));
  }
  ASSERT_TRUE(store->Commit().ok());
}

// A commit ends a matcher call left open: a state it created and left empty
// is not stored, and eviction after the commit leaves nothing dangling.
TEST_F(RocksStoreTest, CommitEndsACallLeftOpen) {
  auto store = Open({.state_cache_entries = 8});
  for (int i = 0; i < 20; ++i) store->Order({"t"}, {"empty-" + std::to_string(i)});
  store->Deal({"t"}, {"d"}).orders.push_back({"o"});
  ASSERT_TRUE(store->Commit().ok());
  store->EndCall();
  EXPECT_FALSE(store->GetOrder({"t"}, {"empty-3"}));
  EXPECT_TRUE(store->GetDeal({"t"}, {"d"}));
  EXPECT_TRUE(store->status().ok());
}

// States handed out but left as they were are not written again, and a
// timer set and cleared within one batch is never written.
TEST_F(RocksStoreTest, NothingChangedNothingWritten) {
  auto store = Open();
  for (int i = 0; i < 20; ++i) store->Put(testing::FullDealState("t", "d" + std::to_string(i)));
  store->AddTimer({Slot::kBilling, At(5), {"t"}, "d1"});
  ASSERT_TRUE(store->Commit().ok());
  const uint64_t wal = store->Stats().wal_bytes;
  for (int i = 0; i < 20; ++i) store->Deal({"t"}, {"d" + std::to_string(i)});
  store->EndCall();
  store->AddTimer({Slot::kBilling, At(7), {"t"}, "d2"});
  store->RemoveTimer({Slot::kBilling, At(7), {"t"}, "d2"});
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_EQ(store->Stats().wal_bytes, wal);
  // A committed timer removed later is deleted.
  store->RemoveTimer({Slot::kBilling, At(5), {"t"}, "d1"});
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_GT(store->Stats().wal_bytes, wal);
  store.reset();
  store = Open();
  EXPECT_TRUE(store->DueTimers(Slot::kBilling, At(10)).empty());
}

// A committed timer re-armed and then removed within one batch is deleted:
// the batch's first change of the key was an add, but the key is stored.
TEST_F(RocksStoreTest, ATimerReArmedAndRemovedInOneBatchIsDeleted) {
  const matcher::TimerRef timer{Slot::kUnpaid, At(5), {"t"}, "i"};
  auto store = Open();
  store->AddTimer(timer);
  ASSERT_TRUE(store->Commit().ok());
  store->AddTimer(timer);
  store->RemoveTimer(timer);
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_TRUE(store->DueTimers(Slot::kUnpaid, At(10)).empty());
  store.reset();
  store = Open();
  EXPECT_TRUE(store->DueTimers(Slot::kUnpaid, At(10)).empty());
}

// What a scan learned while a removal was pending (the slot has no timer) is
// forgotten with the removal: after Discard the committed timer is due again.
TEST_F(RocksStoreTest, DiscardForgetsWhatAScanSawOfPendingRemovals) {
  const matcher::TimerRef timer{Slot::kUnpaid, At(5), {"t"}, "i"};
  auto store = Open();
  store->AddTimer(timer);
  ASSERT_TRUE(store->Commit().ok());
  store->RemoveTimer(timer);
  EXPECT_TRUE(store->DueTimers(Slot::kUnpaid, At(10)).empty());
  store->Discard();
  EXPECT_EQ(store->DueTimers(Slot::kUnpaid, At(10)).size(), 1u);
}

// States read back from disk and handed out unchanged are not written again.
TEST_F(RocksStoreTest, StatesReadFromDiskAndLeftAsTheyWereAreNotWritten) {
  auto store = Open();
  for (int i = 0; i < 20; ++i) store->Put(testing::FullDealState("t", "d" + std::to_string(i)));
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  store = Open();
  const uint64_t wal = store->Stats().wal_bytes;
  for (int i = 0; i < 20; ++i) store->Deal({"t"}, {"d" + std::to_string(i)});
  store->EndCall();
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_EQ(store->Stats().wal_bytes, wal);
}

// A state looked up and left empty is dropped at EndCall; when a later call
// of the same batch looks it up again and fills it, it is stored.
TEST_F(RocksStoreTest, AStateLeftEmptyByOneCallAndFilledByTheNextIsStored) {
  auto store = Open();
  store->Order({"t"}, {"o"});
  store->EndCall();
  store->Order({"t"}, {"o"}).invoices.push_back({"i"});
  store->EndCall();
  store->Order({"t"}, {"never"});
  store->EndCall();
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  EXPECT_EQ(RawCount(std::string(1, static_cast<char>(keys::kOrder))), 1);
  store = Open();
  auto order = store->GetOrder({"t"}, {"o"});
  ASSERT_TRUE(order);
  EXPECT_EQ(order->invoices, matcher::SmallVector<matcher::InvoiceId>{{"i"}});
  EXPECT_FALSE(store->GetOrder({"t"}, {"never"}));
}

TEST_F(RocksStoreTest, UncommittedWritesAreLostOnClose) {
  auto store = Open();
  store->Put(testing::FullOrderState("acme", "o-1"));
  store->SetOffset("erp.orders", 1, 7);
  store.reset();
  store = Open();
  EXPECT_FALSE(store->GetOrder({"acme"}, {"o-1"}));
  EXPECT_FALSE(*store->GetOffset("erp.orders", 1));
}

TEST_F(RocksStoreTest, DiscardDropsPendingWritesOnly) {
  auto store = Open();
  store->Put(testing::FullOrderState("acme", "o-1"));
  store->AddTimer({Slot::kOrphanOrder, At(1), {"acme"}, "o-1"});
  ASSERT_TRUE(store->Commit().ok());
  store->Put(testing::FullOrderState("acme", "o-2"));
  store->RemoveTimer({Slot::kOrphanOrder, At(1), {"acme"}, "o-1"});
  store->PutMeta("m", "x");
  EXPECT_GT(store->pending_writes(), 0u);
  store->Discard();
  EXPECT_EQ(store->pending_writes(), 0u);
  EXPECT_TRUE(store->GetOrder({"acme"}, {"o-1"}));
  EXPECT_FALSE(store->GetOrder({"acme"}, {"o-2"}));
  EXPECT_EQ(store->DueTimers(Slot::kOrphanOrder, At(1)).size(), 1u);
  EXPECT_FALSE(*store->GetMeta("m"));
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  store = Open();
  EXPECT_FALSE(store->GetOrder({"acme"}, {"o-2"}));
  EXPECT_EQ(store->DueTimers(Slot::kOrphanOrder, At(1)).size(), 1u);
}

TEST_F(RocksStoreTest, OutboxSequenceContinuesAcrossReopen) {
  auto store = Open();
  const OutboxRecord r{
      .topic = "closeloop.exceptions", .key = "k", .value = "v", .headers = {{"h", "1"}}};
  EXPECT_EQ(store->AddOutbox(r), 1u);
  EXPECT_EQ(store->AddOutbox(r), 2u);
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_EQ(store->AddOutbox(r), 3u);
  store->Discard();  // gives back 3
  EXPECT_EQ(store->AddOutbox(r), 3u);
  // Outbox lists committed and pending records in order.
  auto listed = store->Outbox(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].first, 1u);
  EXPECT_EQ((*listed)[2].first, 3u);
  EXPECT_EQ((*listed)[1].second, r);
  EXPECT_EQ(store->Outbox(2)->size(), 2u);
  EXPECT_TRUE(store->Outbox(0)->empty());
  ASSERT_TRUE(store->RemoveOutbox(3).ok());
  EXPECT_TRUE(store->Outbox(10)->empty());
  ASSERT_TRUE(store->Commit().ok());
  store.reset();

  // Emptied, the outbox still does not reuse a sequence.
  store = Open();
  EXPECT_TRUE(store->Outbox(10)->empty());
  EXPECT_EQ(store->AddOutbox(r), 4u);
  EXPECT_EQ(store->AddOutbox(r), 5u);
  ASSERT_TRUE(store->Commit().ok());
  ASSERT_TRUE(store->RemoveOutbox(4).ok());
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  store = Open();
  auto left = store->Outbox(10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().first, 5u);
}

// A Discard after a reopen gives back only what was added since: the
// sequences committed before the reopen are never handed out again (the
// publisher's read-back tells records apart by them).
TEST_F(RocksStoreTest, ADiscardAfterReopenNeverReusesACommittedSequence) {
  auto store = Open();
  const OutboxRecord r{.topic = "closeloop.exceptions", .key = "k", .value = "v"};
  store->AddOutbox(r);
  store->AddOutbox(r);
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  store = Open();
  EXPECT_EQ(store->AddOutbox(r), 3u);
  store->Discard();
  EXPECT_EQ(store->AddOutbox(r), 3u);
  ASSERT_TRUE(store->Commit().ok());
  auto listed = store->Outbox(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ(listed->back().first, 3u);
}

// Sequences start at 1 in every store: the instance id tells one store's
// outbox from another's (a rebuild on a new directory).
TEST_F(RocksStoreTest, EachStoreHasItsOwnInstanceIdKeptAcrossReopen) {
  auto store = Open();
  const std::string id = store->instance_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  store.reset();
  store = Open();
  EXPECT_EQ(store->instance_id(), id);
  store.reset();

  fs::remove_all(dir_);
  store = Open();
  EXPECT_EQ(store->instance_id().size(), 32u);
  EXPECT_NE(store->instance_id(), id);
  store.reset();

  // A store created before the id was kept has none, and is given none: the
  // records its outbox published carry no id of its own.
  {
    rocksdb::DB* db;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_, &db).ok());
    EXPECT_TRUE(db->Delete({}, keys::InstanceKey()).ok());
    delete db;
  }
  store = Open();
  EXPECT_EQ(store->instance_id(), "");
  store.reset();
  store = Open();
  EXPECT_EQ(store->instance_id(), "");
}

// Scans start after what was removed; a discarded removal takes that back.
TEST_F(RocksStoreTest, DiscardedOutboxRemovalKeepsTheRecords) {
  auto store = Open();
  const OutboxRecord r{.topic = "closeloop.exceptions", .key = "k", .value = "v"};
  for (int i = 0; i < 4; ++i) store->AddOutbox(r);
  ASSERT_TRUE(store->Commit().ok());
  ASSERT_TRUE(store->RemoveOutbox(2).ok());
  EXPECT_EQ(store->Outbox(10)->front().first, 3u);
  store->Discard();
  auto listed = store->Outbox(10);
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ(listed->front().first, 1u);
  ASSERT_TRUE(store->RemoveOutbox(3).ok());
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_EQ(store->Outbox(10)->front().first, 4u);
  store->Discard();  // nothing pending: the committed removal stays
  EXPECT_EQ(store->Outbox(10)->size(), 1u);
}

TEST_F(RocksStoreTest, OffsetsSurviveAndListInOrder) {
  auto store = Open();
  store->SetOffset("crm.deals", 10, 5);
  store->SetOffset("crm.deals", 2, 9);
  store->SetOffset("billing.invoices", 0, 1);
  ASSERT_TRUE(store->Commit().ok());
  store->SetOffset("crm.deals", 2, 11);
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  store = Open();
  auto offsets = store->Offsets();
  ASSERT_TRUE(offsets.ok());
  const std::vector<InputOffset> want = {
      {"billing.invoices", 0, 1}, {"crm.deals", 2, 11}, {"crm.deals", 10, 5}};
  EXPECT_EQ(*offsets, want);
  EXPECT_EQ(*store->GetOffset("crm.deals", 2), 11);
  EXPECT_FALSE(*store->GetOffset("crm.deals", 3));
}

TEST_F(RocksStoreTest, MetaRecords) {
  auto store = Open();
  store->PutMeta("exception/ex-2", "b");
  store->PutMeta("exception/ex-1", "a");
  store->PutMeta("exceptions", "not in the scan");
  store->PutMeta("report/totals", std::string("\0\x01", 2));
  ASSERT_TRUE(store->Commit().ok());
  store->DeleteMeta("exception/ex-2");
  store->PutMeta("exception/ex-3", "c");
  auto scanned = store->ScanMeta("exception/");
  ASSERT_TRUE(scanned.ok());
  const std::vector<std::pair<std::string, std::string>> want = {{"exception/ex-1", "a"},
                                                                 {"exception/ex-3", "c"}};
  EXPECT_EQ(*scanned, want);
  EXPECT_EQ(*store->GetMeta("report/totals"), std::string("\0\x01", 2));
  EXPECT_FALSE(*store->GetMeta("exception/ex-2"));
  EXPECT_EQ(store->ScanMeta("")->size(), 4u);
}

TEST_F(RocksStoreTest, TenantsAreThoseWithACommittedSubject) {
  auto store = Open();
  const std::string zero("a\0b", 3);
  store->Put(testing::FullDealState("acme", "D-1"));
  store->Put(testing::FullDealState("acme", "D-2"));
  store->Put(testing::FullDealState(zero, "D-1"));
  store->Put(testing::FullOrderState("orders-only", "O-1"));
  store->Put(testing::FullInvoiceState("acme2", "I-1"));
  store->Put(testing::FullInvoiceState("acme", "I-1"));
  store->PutPaymentInvoice({"payments-only"}, {"P-1"}, {"I-1"});
  EXPECT_TRUE(store->Tenants().empty());  // nothing committed yet
  ASSERT_TRUE(store->Commit().ok());
  const std::vector<matcher::TenantId> want = {{zero}, {"acme"}, {"acme2"}, {"orders-only"}};
  EXPECT_EQ(store->Tenants(), want);
  EXPECT_TRUE(store->status().ok());
}

TEST_F(RocksStoreTest, StatsReportWhatIsStored) {
  auto store = Open();
  for (int i = 0; i < 100; ++i) store->Put(testing::FullDealState("t", "d" + std::to_string(i)));
  EXPECT_GT(store->Stats().pending_bytes, 0u);
  ASSERT_TRUE(store->Commit().ok());
  const StoreStats stats = store->Stats();
  EXPECT_EQ(stats.pending_bytes, 0u);
  EXPECT_GT(stats.wal_bytes, 10'000u);
  EXPECT_GT(stats.estimated_keys, 50u);
  EXPECT_EQ(stats.disk_bytes(), stats.sst_bytes + stats.wal_bytes);
}

}  // namespace
}  // namespace closeloop::state
