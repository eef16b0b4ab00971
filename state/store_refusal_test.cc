// RocksStore refusing what it must not use: no directory, another program's
// or version's store, one open elsewhere, damaged files, and records that do
// not decode (data loss, never a value read from the front).
#include "state/keys.h"
#include "state/store_test_fixture.h"

namespace closeloop::state {
namespace {

using matcher::Slot;
using testing::At;

TEST_F(RocksStoreTest, RefusesAnEmptyDirOption) {
  auto s = RocksStore::Open({});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RocksStoreTest, RefusesAMissingStoreWithoutCreateIfMissing) {
  auto s = OpenError({.create_if_missing = false});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find(dir_), std::string::npos) << s;
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(RocksStoreTest, RefusesADirectoryOfOtherFiles) {
  fs::create_directories(dir_);
  std::ofstream(dir_ + "/notes.txt") << "mine";
  auto s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find(dir_), std::string::npos) << s;
  EXPECT_NE(s.message().find("no RocksDB"), std::string::npos) << s;
  EXPECT_EQ(Snapshot().size(), 1u);
}

// A first start killed while RocksDB created the store, before its CURRENT
// file: what it wrote by then holds no data, and the next start creates the
// store (a refusal would stop every later start).
TEST_F(RocksStoreTest, ACreationKilledBeforeItsCurrentFileIsStartedAgain) {
  fs::create_directories(dir_);
  for (const char* name : {"LOG", "LOG.old.1764979200000000", "LOCK", "000000.dbtmp", "IDENTITY",
                           "MANIFEST-000001", "000001.dbtmp"}) {
    std::ofstream(dir_ + "/" + name) << "partial";
  }
  auto store = Open();
  ASSERT_TRUE(store);
  store->PutMeta("m", "v");
  ASSERT_TRUE(store->Commit().ok());
  store.reset();
  store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->GetMeta("m"), "v");
}

// Beside them, anything else is still somebody else's (or a store that lost
// its CURRENT file, whose data must not be written over).
TEST_F(RocksStoreTest, RefusesCreationLeftoversBesideOtherFiles) {
  for (const char* other : {"000003.log", "000004.sst", "OPTIONS-000005", "notes.txt"}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/LOG") << "partial";
    std::ofstream(dir_ + "/" + other) << "data";
    auto s = OpenError();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << other << ": " << s;
    EXPECT_NE(s.message().find("no RocksDB"), std::string::npos) << s;
    EXPECT_EQ(Snapshot().size(), 1u) << other;  // LOG aside, as it was
  }
}

TEST_F(RocksStoreTest, RefusesAForeignRocksDb) {
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_, &db).ok());
    ASSERT_TRUE(db->Put({}, "user:1", "alice").ok());
    delete db;
  }
  const auto before = Snapshot();
  auto s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find(dir_), std::string::npos) << s;
  EXPECT_NE(s.message().find("format record"), std::string::npos) << s;
  // Untouched: the foreign key is there and nothing was added.
  rocksdb::DB* db;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly({}, dir_, &db).ok());
  std::string v;
  EXPECT_TRUE(db->Get({}, "user:1", &v).ok());
  EXPECT_TRUE(db->Get({},
                      "\x01"
                      "format",
                      &v)
                  .IsNotFound());
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
  int keys = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++keys;
  EXPECT_EQ(keys, 1);
  it.reset();
  delete db;
}

TEST_F(RocksStoreTest, RefusesAnotherFormatVersion) {
  Open().reset();
  {
    rocksdb::DB* db;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_, &db).ok());
    std::string key =
        "\x01"
        "format";
    key.append("\0\x01", 2);
    std::string v;
    ASSERT_TRUE(db->Get({}, key, &v).ok()) << "the format key moved";
    EXPECT_EQ(v, "closeloop-state 4");
    ASSERT_TRUE(db->Put({}, key, "closeloop-state 5").ok());
    delete db;
  }
  auto s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("format version 5"), std::string::npos) << s;
  EXPECT_NE(s.message().find(dir_), std::string::npos) << s;
}

// A store of an earlier format (1: a version sent again unchanged kept whole;
// 2: a deal sent without close_time kept dated by its own event time; 3: no
// fuzzy link's second look) is read, and stamped 4 when opened, its instance
// id kept: a closeloop of an earlier format would drop what it does not know
// unseen, so it must refuse the store from then on.
TEST_F(RocksStoreTest, StampsAStoreOfAnEarlierFormatAsFour) {
  for (const char* earlier : {"closeloop-state 1", "closeloop-state 2", "closeloop-state 3"}) {
    SCOPED_TRACE(earlier);
    fs::remove_all(dir_);
    std::string instance;
    {
      auto store = Open();
      store->Put(testing::FullDealState("acme", "d-1"));
      ASSERT_TRUE(store->Commit().ok());
      instance = store->instance_id();
    }
    RawPut(keys::FormatKey(), earlier);
    {
      auto store = Open();
      ASSERT_NE(store, nullptr);
      EXPECT_EQ(store->instance_id(), instance);
      EXPECT_EQ(store->GetDeal({"acme"}, {"d-1"}), testing::FullDealState("acme", "d-1"));
    }
    rocksdb::DB* db;
    ASSERT_TRUE(rocksdb::DB::OpenForReadOnly({}, dir_, &db).ok());
    std::string v;
    EXPECT_TRUE(db->Get({}, keys::FormatKey(), &v).ok());
    EXPECT_EQ(v, "closeloop-state 4");
    delete db;
  }
}

// A format record of the same length as closeloop's, from another program.
TEST_F(RocksStoreTest, RefusesAFormatRecordOfAnotherProgram) {
  Open().reset();
  RawPut(keys::FormatKey(), "another-program 1");
  auto s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("not closeloop's"), std::string::npos) << s;
}

TEST_F(RocksStoreTest, RefusesAStoreOpenElsewhere) {
  auto first = Open();
  auto s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("another process"), std::string::npos) << s;
}

TEST_F(RocksStoreTest, RefusesAGarbledCurrentFile) {
  WriteFlushedStore();
  std::ofstream(dir_ + "/CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  const absl::Status s = RefusedUntouched();
  EXPECT_FALSE(s.ok());
}

TEST_F(RocksStoreTest, RefusesATruncatedCurrentFile) {
  WriteFlushedStore();
  fs::resize_file(dir_ + "/CURRENT", 0);
  const absl::Status s = RefusedUntouched();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

TEST_F(RocksStoreTest, RefusesATruncatedTableFile) {
  WriteFlushedStore();
  const fs::path sst = Ssts().front();
  fs::resize_file(sst, fs::file_size(sst) / 2);
  const absl::Status s = RefusedUntouched();
  EXPECT_FALSE(s.ok());
}

TEST_F(RocksStoreTest, RefusesATableFileWithABrokenFooter) {
  WriteFlushedStore();
  const fs::path sst = Ssts().front();
  Scribble(sst, static_cast<std::streamoff>(fs::file_size(sst)) - 48, 48);
  const absl::Status s = RefusedUntouched();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

// A bad data block is found by verify_checksums_on_open; without it, by the
// read that meets it, which fails the store so that nothing more is committed.
TEST_F(RocksStoreTest, ABadDataBlockFailsTheStore) {
  WriteFlushedStore();
  // A third of the way in: a block of deals, not the first block (which holds
  // the format record Open reads) nor the index and filter at the end.
  const fs::path sst = Ssts().front();
  Scribble(sst, static_cast<std::streamoff>(fs::file_size(sst) / 3), 64);
  const auto before = Snapshot();
  auto verified = OpenError({.verify_checksums_on_open = true});
  EXPECT_EQ(verified.code(), absl::StatusCode::kDataLoss) << verified;
  EXPECT_EQ(Snapshot(), before);

  auto store = Open();
  ASSERT_TRUE(store);
  // Read every deal; at least one lies in the damaged block.
  for (int i = 0; i < 200; ++i) store->GetDeal({"acme"}, {"d-" + std::to_string(i)});
  EXPECT_EQ(store->status().code(), absl::StatusCode::kDataLoss) << store->status();
  store->PutMeta("after", "x");
  EXPECT_EQ(store->Commit().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->pending_writes(), 0u);
}

// The first block holds the format record, which Open reads.
TEST_F(RocksStoreTest, RefusesABadBlockUnderTheFormatRecord) {
  WriteFlushedStore();
  Scribble(Ssts().front(), 10, 32);
  const absl::Status s = RefusedUntouched();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

// A stored record that does not decode fails the store like a failed read:
// the read says so and nothing more is committed.
TEST_F(RocksStoreTest, AStateThatDoesNotDecodeFailsTheStore) {
  Open().reset();
  RawPut(keys::Key(keys::kDeal, "t", "d"), "\xff\xff\xff not a deal state");
  auto store = Open();
  store->Deal({"t"}, {"d"});
  store->EndCall();
  EXPECT_EQ(store->status().code(), absl::StatusCode::kDataLoss) << store->status();
  store->PutMeta("after", "x");
  EXPECT_EQ(store->Commit().code(), absl::StatusCode::kDataLoss);
  store.reset();
  EXPECT_EQ(RawCount(keys::MetaKey("after")), 0);
}

TEST_F(RocksStoreTest, AMalformedTimerKeyFailsTheStore) {
  Open().reset();
  std::string key = keys::TimerSlotPrefix(Slot::kUnpaid);
  keys::AppendInt64(key, 5);
  keys::AppendString(key, "t");  // and no subject id
  RawPut(key, "");
  auto store = Open();
  store->DueTimers(Slot::kUnpaid, At(10));
  EXPECT_EQ(store->status().code(), absl::StatusCode::kDataLoss) << store->status();
}

// Offsets and the outbox sequence are exactly 8 bytes; anything else is
// data loss, not a number read from the front.
TEST_F(RocksStoreTest, MalformedOffsetAndSequenceRecordsAreDataLoss) {
  Open().reset();
  std::string offset;
  keys::AppendInt64(offset, 42);
  RawPut(keys::OffsetKey("crm.deals", 0), offset + "x");
  auto store = Open();
  EXPECT_EQ(store->GetOffset("crm.deals", 0).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Offsets().status().code(), absl::StatusCode::kDataLoss);
  store.reset();

  std::string next;
  keys::AppendUint64(next, 9);
  RawPut(keys::OutboxNextKey(), next + "x");
  EXPECT_EQ(OpenError().code(), absl::StatusCode::kDataLoss);
}

// A damaged write-ahead log record is recovered to the batch before it
// (point-in-time recovery): the store opens at a batch boundary, the
// damaged batch and every later one lost, never a later batch without it.
TEST_F(RocksStoreTest, ADamagedLogRecordLeavesTheStoreAtTheBatchBeforeIt) {
  auto store = Open();
  for (const char* name : {"a", "b", "c"}) {
    store->PutMeta(name, std::string(40000, name[0]));
    ASSERT_TRUE(store->Commit().ok());
  }
  store.reset();  // the batches stay in the log: closing does not flush it
  std::vector<fs::path> logs;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() == ".log") logs.push_back(e.path());
  }
  ASSERT_EQ(logs.size(), 1u);
  const auto size = static_cast<std::streamoff>(fs::file_size(logs[0]));
  ASSERT_GT(size, 120000);
  Scribble(logs[0], size / 2, 16);  // inside batch "b"

  store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->GetMeta("a"), std::string(40000, 'a'));
  EXPECT_FALSE(*store->GetMeta("b"));
  EXPECT_FALSE(*store->GetMeta("c"));
}

}  // namespace
}  // namespace closeloop::state
