#include "state/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_buffer_manager.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <system_error>
#include <unordered_map>
#include <variant>

#include "state/codec.h"
#include "state/keys.h"
#include "state/store_parts.h"

namespace closeloop::state {
namespace {

// What the format record holds: this prefix, then the version number.
constexpr std::string_view kFormatPrefix = "closeloop-state ";

// Whether `name` is a file RocksDB writes while it creates a store, before
// the CURRENT file that makes it one: its diagnostic log, lock, identity,
// first manifest and temporary files. None holds data, so a creation killed
// before CURRENT (the first start, SIGKILLed) is created again. Anything
// else (a write-ahead log, a table or an options file: a store that lost
// its CURRENT) is not.
bool CreationLeftover(std::string_view name) {
  return name == "LOG" || name.starts_with("LOG.old.") || name == "LOCK" || name == "IDENTITY" ||
         name == "MANIFEST-000001" || name.ends_with(".dbtmp");
}

// Refuses a directory that holds files but no RocksDB: it is somebody
// else's, and RocksDB would create a store in the middle of it.
absl::Status CheckDirectory(const Options& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(options.dir);
  if (!fs::exists(dir, ec)) {
    if (ec) return absl::UnavailableError(Where(options.dir) + ": " + ec.message());
    if (!options.create_if_missing) {
      return absl::NotFoundError(Where(options.dir) +
                                 ": does not exist (and create_if_missing is off)");
    }
    // RocksDB creates the last directory only; a role's store (state_dir/ingest)
    // may need its parent too.
    if (!fs::create_directories(dir, ec) && ec) {
      return absl::UnavailableError(Where(options.dir) + ": cannot create it: " + ec.message());
    }
    // The store holds customers' names and money: its owner's alone (RocksDB's
    // files follow the umask, readable by everyone under the usual 022).
    fs::permissions(dir, fs::perms::owner_all, ec);
    if (ec) {
      return absl::UnavailableError(Where(options.dir) +
                                    ": cannot make it private: " + ec.message());
    }
    return absl::OkStatus();
  }
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(Where(options.dir) + ": is not a directory");
  }
  if (fs::exists(dir / "CURRENT", ec)) return absl::OkStatus();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (CreationLeftover(it->path().filename().string())) continue;
    return absl::FailedPreconditionError(
        Where(options.dir) +
        ": the directory holds files but no RocksDB (no CURRENT file); refusing to use it");
  }
  if (ec) return absl::UnavailableError(Where(options.dir) + ": " + ec.message());
  if (!options.create_if_missing) {
    return absl::NotFoundError(Where(options.dir) +
                               ": holds no store (and create_if_missing is off)");
  }
  return absl::OkStatus();
}

// The version of closeloop's format record in `db`, one this code reads, or 0
// when `db` holds no key at all (a store to stamp). Anything else is refused.
absl::StatusOr<int> CheckFormat(rocksdb::DB& db, const Options& options) {
  std::string format;
  rocksdb::Status got = db.Get(rocksdb::ReadOptions(), keys::FormatKey(), &format);
  if (got.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (auto s = FromRocks(it->status(), Where(options.dir) + ": cannot read"); !s.ok()) return s;
    if (it->Valid()) {
      return absl::FailedPreconditionError(
          Where(options.dir) +
          ": a RocksDB without closeloop's format record (written by something else?); "
          "refusing to use it");
    }
    return 0;
  }
  if (auto s = FromRocks(got, Where(options.dir) + ": cannot read the format record"); !s.ok()) {
    return s;
  }
  if (!format.starts_with(kFormatPrefix)) {
    return absl::FailedPreconditionError(Where(options.dir) +
                                         ": the format record is not closeloop's (\"" + format +
                                         "\"); refusing to use it");
  }
  const std::string version = format.substr(kFormatPrefix.size());
  for (int v = RocksStore::kOldestFormatVersion; v <= RocksStore::kFormatVersion; ++v) {
    if (version == std::to_string(v)) return v;
  }
  return absl::FailedPreconditionError(Where(options.dir) + ": format version " + version +
                                       ", this closeloop reads versions " +
                                       std::to_string(RocksStore::kOldestFormatVersion) + " to " +
                                       std::to_string(RocksStore::kFormatVersion));
}

// 128 random bits as 32 hex digits: a store's instance id.
std::string NewInstanceId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", static_cast<unsigned>(random()));
    id += word;
  }
  return id;
}

}  // namespace

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return absl::OkStatus();
  std::string message = context + ": " + s.ToString();
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsInvalidArgument() || s.IsNotSupported()) return absl::FailedPreconditionError(message);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(message + " (is another process using this store?)");
  }
  if (s.IsIOError()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

std::string Where(const std::string& dir) { return "state store " + dir; }

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const Options& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("state store: dir is required");
  if (auto s = CheckDirectory(options); !s.ok()) return s;

  auto parts = std::make_unique<Parts>();
  // Half of the cache is kept for index and filter blocks first.
  parts->cache = rocksdb::NewLRUCache(options.block_cache_bytes, /*num_shard_bits=*/-1,
                                      /*strict_capacity_limit=*/false,
                                      /*high_pri_pool_ratio=*/0.5);
  parts->write_buffers =
      std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes, nullptr);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = parts->cache;
  table.cache_index_and_filter_blocks = true;  // their memory counts against the cache
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Partitioned index and filters: a lookup loads the 4 KB partitions it
  // needs, not a whole file's filter. With whole-file filters, once a few
  // million states outgrew the cache, every point read of a state fetched
  // and checksummed a filter of megabytes (80% of the time building a
  // 10M-deal store).
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;

  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.paranoid_checks = true;
  // A torn last write (power loss without sync_writes) loses only that
  // batch: the store stays at the previous batch boundary.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.max_open_files = options.max_open_files;
  db_options.write_buffer_size = std::max<size_t>(options.write_buffer_bytes / 2, 64 << 10);
  db_options.max_write_buffer_number = 2;
  // A Bloom filter over the memtable's whole keys: most point reads ask for a
  // key that is not there (a new deal's state, a payment never seen), and
  // without it each searched the memtable's skip list to the bottom.
  db_options.memtable_whole_key_filtering = true;
  db_options.memtable_prefix_bloom_size_ratio = 0.02;
  db_options.write_buffer_manager = parts->write_buffers;
  db_options.max_total_wal_size = 4 * options.write_buffer_bytes;
  // The diagnostic log rolls, and only the last files are kept: written for
  // as long as the process runs (two lines for every Stats()), one file
  // grew by about 30 MB a day on the state volume.
  db_options.max_log_file_size = options.info_log_file_bytes;
  db_options.keep_log_file_num = 4;
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // An existing store is checked through a read-only open first, which
  // writes nothing: a store refused here is left exactly as it was (a
  // read-write open would roll the MANIFEST and flush the log).
  const bool exists = std::filesystem::exists(std::filesystem::path(options.dir) / "CURRENT");
  int found = 0;  // the format version of an existing store
  if (exists) {
    rocksdb::DB* raw = nullptr;
    if (auto s = FromRocks(rocksdb::DB::OpenForReadOnly(db_options, options.dir, &raw),
                           Where(options.dir) + ": cannot open");
        !s.ok()) {
      return s;
    }
    std::unique_ptr<rocksdb::DB> reader(raw);
    auto checked = CheckFormat(*reader, options);
    if (!checked.ok()) return checked.status();
    found = *checked;
    if (options.verify_checksums_on_open) {
      if (auto s = FromRocks(reader->VerifyChecksum(),
                             Where(options.dir) + ": checksum verification failed");
          !s.ok()) {
        return s;
      }
    }
    reader->Close().PermitUncheckedError();
  }

  rocksdb::DB* raw = nullptr;
  if (auto s = FromRocks(rocksdb::DB::Open(db_options, options.dir, &raw),
                         Where(options.dir) + ": cannot open");
      !s.ok()) {
    return s;
  }
  parts->db.reset(raw);
  parts->write.sync = options.sync_writes;
  // A new store is stamped with this version and an instance id; one of an
  // earlier version, read as it is, with this version alone, so that the
  // closeloop that wrote it, which would not read what this one writes,
  // refuses it from now on.
  if (found != kFormatVersion) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    rocksdb::WriteBatch records;
    const std::string format = std::string(kFormatPrefix) + std::to_string(kFormatVersion);
    rocksdb::Status s = records.Put(keys::FormatKey(), format);
    if (s.ok() && found == 0) s = records.Put(keys::InstanceKey(), NewInstanceId());
    if (s.ok()) s = parts->db->Write(sync, &records);
    if (auto st = FromRocks(s, Where(options.dir) + ": cannot write the format record"); !st.ok()) {
      return st;
    }
  }

  auto store = std::unique_ptr<RocksStore>(new RocksStore(options, std::move(parts)));
  std::optional<std::string> instance;
  if (auto s = store->ReadStatus(keys::InstanceKey(), instance); !s.ok()) return s;
  if (instance) store->instance_id_ = *std::move(instance);
  std::optional<std::string> next;
  if (auto s = store->ReadStatus(keys::OutboxNextKey(), next); !s.ok()) return s;
  if (next) {
    std::string_view in = *next;
    if (!keys::ReadUint64(in, store->next_sequence_) || !in.empty()) {
      return absl::DataLossError(Where(options.dir) + ": the outbox sequence record is malformed");
    }
    store->committed_next_sequence_ = store->next_sequence_;
  }
  return store;
}

RocksStore::RocksStore(const Options& options, std::unique_ptr<Parts> parts)
    : options_(options), parts_(std::move(parts)) {}

RocksStore::~RocksStore() {
  Discard();
  if (parts_->db) parts_->db->Close().PermitUncheckedError();
}

void RocksStore::Fail(absl::Status status) {
  if (failure_.ok()) failure_ = std::move(status);
}

absl::Status RocksStore::ReadStatus(const std::string& key, std::optional<std::string>& value) {
  std::string bytes;
  rocksdb::Status s = parts_->batch.GetFromBatchAndDB(parts_->db.get(), parts_->read, key, &bytes);
  if (s.IsNotFound()) {
    value.reset();
    return absl::OkStatus();
  }
  if (!s.ok()) return FromRocks(s, Where(options_.dir) + ": read failed");
  value = std::move(bytes);
  return absl::OkStatus();
}

std::optional<std::string> RocksStore::Read(const std::string& key) {
  std::optional<std::string> value;
  if (auto s = ReadStatus(key, value); !s.ok()) {
    Fail(s);
    return std::nullopt;
  }
  return value;
}

void RocksStore::Write(const std::string& key, std::string_view value) {
  if (auto s = FromRocks(parts_->batch.Put(key, rocksdb::Slice(value.data(), value.size())),
                         Where(options_.dir) + ": cannot add to the batch");
      !s.ok()) {
    Fail(s);
  }
}

void RocksStore::Erase(const std::string& key) {
  if (auto s =
          FromRocks(parts_->batch.Delete(key), Where(options_.dir) + ": cannot add to the batch");
      !s.ok()) {
    Fail(s);
  }
}

// ---------------------------------------------------------------------------
// Commit

absl::Status RocksStore::Commit() {
  if (!failure_.ok()) {
    Discard();
    return failure_;
  }
  EndCall();  // a matcher call still open ends with the batch
  // The indexed batch's writes plus the states and timers kept aside, in a
  // plain batch: indexing what is written at once would cost for nothing.
  rocksdb::WriteBatch batch(*parts_->batch.GetWriteBatch());
  absl::Status s = StageStates(batch);
  if (s.ok() && batch.Count() > 0) {
    s = FromRocks(parts_->db->Write(parts_->write, &batch),
                  Where(options_.dir) + ": commit failed");
  }
  if (!s.ok()) {
    Discard();
    Fail(s);
    return s;
  }
  parts_->batch.Clear();
  CleanStates();
  committed_next_sequence_ = next_sequence_;
  committed_outbox_from_ = outbox_from_;
  EvictStates();
  return absl::OkStatus();
}

absl::Status RocksStore::CommitAndCompact() {
  if (absl::Status s = Commit(); !s.ok()) return s;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(parts_->db->CompactRange(options, nullptr, nullptr),
                   Where(options_.dir) + ": compaction failed");
}

void RocksStore::Discard() {
  parts_->batch.Clear();
  parts_->ClearStates();
  parts_->timers.clear();
  ForgetTimerBounds();
  next_sequence_ = committed_next_sequence_;
  outbox_from_ = committed_outbox_from_;
}

size_t RocksStore::pending_writes() const {
  return static_cast<size_t>(parts_->batch.GetWriteBatch()->Count()) + parts_->dirty.size() +
         parts_->timers.size();
}

StoreStats RocksStore::Stats() {
  StoreStats stats;
  rocksdb::DB& db = *parts_->db;
  db.GetIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &stats.sst_bytes);
  db.GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &stats.memtable_bytes);
  db.GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &stats.estimated_keys);
  rocksdb::VectorLogPtr wals;
  if (db.GetSortedWalFiles(wals).ok()) {
    for (const auto& wal : wals) stats.wal_bytes += wal->SizeFileBytes();
  }
  stats.block_cache_bytes = parts_->cache->GetUsage();
  if (pending_writes() > 0) {
    stats.pending_bytes = parts_->batch.GetWriteBatch()->GetDataSize();
    for (const auto& [key, present] : parts_->timers) stats.pending_bytes += key.size();
    for (const auto& [entry, key] : parts_->dirty) {
      std::visit([&](auto* c) { stats.pending_bytes += key->size() + Encode(c->state).size(); },
                 entry);
    }
  }
  return stats;
}

}  // namespace closeloop::state
