// The RocksStore tests' fixture: a store in a fresh temporary directory, and
// ways to look at and damage its files while it is closed.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "state/store.h"
#include "state/store_testing.h"

namespace closeloop::state {

namespace fs = std::filesystem;

// Overwrites `n` bytes at `offset` of `file` with 0xAA.
inline void Scribble(const fs::path& file, std::streamoff offset, size_t n) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  const std::string junk(n, '\xaa');
  f.write(junk.data(), static_cast<std::streamsize>(n));
}

class RocksStoreTest : public ::testing::Test {
 protected:
  RocksStoreTest() {
    std::string pattern = ::testing::TempDir() + "/closeloop-state-XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern + "/store";
  }
  ~RocksStoreTest() override { fs::remove_all(fs::path(dir_).parent_path()); }

  std::unique_ptr<RocksStore> Open(Options options = {}) {
    options.dir = dir_;
    auto s = RocksStore::Open(options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  absl::Status OpenError(Options options = {}) {
    options.dir = dir_;
    return RocksStore::Open(options).status();
  }
  // Opens the store, which must be refused, naming its directory, and left
  // as it was (every file the same bytes); returns why it was refused.
  absl::Status RefusedUntouched() {
    const auto before = Snapshot();
    absl::Status s = OpenError();
    EXPECT_NE(s.message().find(dir_), std::string::npos) << s;
    EXPECT_EQ(Snapshot(), before);
    return s;
  }
  // Every file of the store with its bytes, but RocksDB's own diagnostic
  // logs (LOG, LOG.old.*), which every open attempt writes.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().starts_with("LOG")) continue;
      std::ifstream in(e.path(), std::ios::binary);
      files[e.path().filename()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return files;
  }
  std::vector<fs::path> Ssts() {
    std::vector<fs::path> ssts;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".sst") ssts.push_back(e.path());
    }
    return ssts;
  }
  // A store with data flushed to a table file, closed.
  void WriteFlushedStore() {
    auto store = Open();
    for (int i = 0; i < 200; ++i) {
      store->Put(testing::FullDealState("acme", "d-" + std::to_string(i)));
    }
    ASSERT_TRUE(store->Commit().ok());
    store.reset();
    // Reopening replays the log into a table file.
    store = Open();
    store.reset();
    ASSERT_FALSE(Ssts().empty());
  }

  // Writes `value` under `key` straight into the closed store's RocksDB, as
  // damage or another writer would.
  void RawPut(const std::string& key, const std::string& value) {
    rocksdb::DB* db;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_, &db).ok());
    EXPECT_TRUE(db->Put({}, key, value).ok());
    delete db;
  }
  // The keys of the closed store that start with `prefix`.
  int RawCount(const std::string& prefix) {
    rocksdb::DB* db;
    EXPECT_TRUE(rocksdb::DB::OpenForReadOnly({}, dir_, &db).ok());
    int n = 0;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    it.reset();
    delete db;
    return n;
  }

  std::string dir_;
};

}  // namespace closeloop::state
