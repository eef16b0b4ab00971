#include "state/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_buffer_manager.h>

#include <array>
#include <filesystem>
#include <map>
#include <system_error>
#include <unordered_map>
#include <variant>

#include "state/codec.h"
#include "state/keys.h"

namespace closeloop::state {
namespace {

// What the format record holds: this prefix, then the version number.
constexpr std::string_view kFormatPrefix = "closeloop-state ";

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
    return absl::OkStatus();
  }
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(Where(options.dir) + ": is not a directory");
  }
  if (fs::exists(dir / "CURRENT", ec)) return absl::OkStatus();
  if (fs::directory_iterator(dir, ec) != fs::directory_iterator()) {
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

// Whether `db` holds closeloop's format record of this version (true), or no
// key at all (false: a store to stamp). Anything else is refused.
absl::StatusOr<bool> CheckFormat(rocksdb::DB& db, const Options& options) {
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
    return false;
  }
  if (auto s = FromRocks(got, Where(options.dir) + ": cannot read the format record"); !s.ok()) {
    return s;
  }
  if (!format.starts_with(kFormatPrefix)) {
    return absl::FailedPreconditionError(Where(options.dir) +
                                         ": the format record is not closeloop's (\"" + format +
                                         "\"); refusing to use it");
  }
  if (format.substr(kFormatPrefix.size()) != std::to_string(RocksStore::kFormatVersion)) {
    return absl::FailedPreconditionError(
        Where(options.dir) + ": format version " + format.substr(kFormatPrefix.size()) +
        ", this closeloop reads version " + std::to_string(RocksStore::kFormatVersion));
  }
  return true;
}

}  // namespace

struct RocksStore::Parts {
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteBatchWithIndex batch{rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true};
  rocksdb::ReadOptions read;
  rocksdb::WriteOptions write;

  // Decoded subject states by key. `dirty` when handed out to the matcher
  // since the last commit; `stored_hash` identifies the bytes the store holds
  // for it (0: none), so an unchanged state is not written again; `last_use`
  // orders evictions.
  template <class State>
  struct Cached {
    State state;
    bool dirty = false;
    uint64_t stored_hash = 0;
    uint64_t staged_hash = 0;
    uint64_t last_use = 0;
  };
  std::unordered_map<std::string, Cached<matcher::DealState>> deals;
  std::unordered_map<std::string, Cached<matcher::OrderState>> orders;
  std::unordered_map<std::string, Cached<matcher::InvoiceState>> invoices;
  uint64_t use_clock = 0;
  // The entries handed out since the last commit, and those of them created
  // (found neither cached nor stored) since the last EndCall. Map elements
  // never move, so pointers stay valid until erased.
  using AnyEntry = std::variant<Cached<matcher::DealState>*, Cached<matcher::OrderState>*,
                                Cached<matcher::InvoiceState>*>;
  using AnyCache = std::variant<decltype(&deals), decltype(&orders), decltype(&invoices)>;
  std::vector<std::pair<AnyEntry, const std::string*>> dirty;
  std::vector<std::pair<AnyCache, const std::string*>> created;
  size_t cached_states() const { return deals.size() + orders.size() + invoices.size(); }
  void ClearStates() {
    deals.clear();
    orders.clear();
    invoices.clear();
    dirty.clear();
    created.clear();
  }

  // Per slot, a due time no timer of the slot (committed or pending) is
  // before, when known: DueTimers for an earlier time needs no scan. Learned
  // from scans, lowered by AddTimer, forgotten by Discard.
  std::array<std::optional<matcher::EventTime>, 256> timer_floor;
  // Timer keys added (present) or removed since the last commit. They reach
  // the batch only at Commit, once per key, so a timer re-armed many times in
  // a batch costs one write, and one set and cleared within the batch costs
  // none; DueTimers merges them with the DB.
  struct PendingTimer {
    bool present = false;
    bool added_first = false;  // the batch's first change of the key was an add
  };
  std::map<std::string, PendingTimer> timers;
};

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
  db_options.write_buffer_manager = parts->write_buffers;
  db_options.max_total_wal_size = 4 * options.write_buffer_bytes;
  db_options.keep_log_file_num = 4;
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // An existing store is checked through a read-only open first, which
  // writes nothing: a store refused here is left exactly as it was (a
  // read-write open would roll the MANIFEST and flush the log).
  const bool exists = std::filesystem::exists(std::filesystem::path(options.dir) / "CURRENT");
  bool stamp = !exists;
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
    stamp = !*checked;
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
  if (stamp) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    const std::string record = std::string(kFormatPrefix) + std::to_string(kFormatVersion);
    if (auto s = FromRocks(parts->db->Put(sync, keys::FormatKey(), record),
                           Where(options.dir) + ": cannot write the format record");
        !s.ok()) {
      return s;
    }
  }

  auto store = std::unique_ptr<RocksStore>(new RocksStore(options, std::move(parts)));
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

template <class Fn>
absl::Status RocksStore::Scan(const std::string& prefix, const std::string& from, Fn&& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      parts_->batch.NewIteratorWithBase(parts_->db->NewIterator(parts_->read)));
  for (it->Seek(from.empty() ? prefix : from); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (!key.starts_with(prefix)) break;
    if (!fn(std::string_view(key.data(), key.size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), Where(options_.dir) + ": scan failed");
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
// matcher::Store

namespace {
template <class State>
std::optional<State> Decoded(absl::StatusOr<State> decoded, const std::string& where,
                             absl::Status& failure) {
  if (decoded.ok()) return *std::move(decoded);
  if (failure.ok()) failure = absl::DataLossError(where + ": " + decoded.status().ToString());
  return std::nullopt;
}
}  // namespace

namespace {
uint64_t BytesHash(std::string_view bytes) {
  // Never 0, which means "nothing stored".
  return std::hash<std::string_view>{}(bytes) | 1;
}
}  // namespace

template <class State, class Map, class Decode>
State& RocksStore::TouchState(Map& cache, std::string key, const matcher::TenantId& tenant,
                              const std::string& id, Decode decode) {
  auto it = cache.find(key);
  if (it == cache.end()) {
    typename Map::mapped_type entry;
    std::optional<State> state;
    if (auto bytes = Read(key)) {
      state = Decoded(decode(*bytes), Where(options_.dir), failure_);
      entry.stored_hash = BytesHash(*bytes);
    }
    const bool created = !state;
    if (created) {
      entry.state.tenant = tenant;
      entry.state.id.value = id;
    } else {
      entry.state = *std::move(state);
    }
    it = cache.emplace(std::move(key), std::move(entry)).first;
    if (created) parts_->created.push_back({&cache, &it->first});
  }
  it->second.last_use = ++parts_->use_clock;
  // Handed out: it may change, so it is staged at the next commit.
  if (!it->second.dirty) {
    it->second.dirty = true;
    parts_->dirty.push_back({&it->second, &it->first});
  }
  return it->second.state;
}

void RocksStore::EndCall() {
  // Only states created in this call can be empty: nothing empties a state.
  for (const auto& [cache, key] : parts_->created) {
    std::visit(
        [&](auto* map) {
          auto it = map->find(*key);
          if (!matcher::IsEmpty(it->second.state)) return;
          // Created in this call, so among the last dirty entries.
          auto& dirty = parts_->dirty;
          for (auto d = dirty.rbegin(); d != dirty.rend(); ++d) {
            if (d->second == &it->first) {
              dirty.erase(std::next(d).base());
              break;
            }
          }
          map->erase(it);
        },
        cache);
  }
  parts_->created.clear();
}

void RocksStore::EvictStates() {
  Parts& p = *parts_;
  if (p.cached_states() <= options_.state_cache_entries) return;
  // Keep the most recently used three quarters of the bound, so that
  // evictions come in batches rather than at every commit.
  const size_t keep = options_.state_cache_entries / 4 * 3;
  std::vector<uint64_t> uses;
  uses.reserve(p.cached_states());
  auto collect = [&](const auto& cache) {
    for (const auto& [key, cached] : cache) uses.push_back(cached.last_use);
  };
  collect(p.deals);
  collect(p.orders);
  collect(p.invoices);
  const size_t drop = uses.size() - keep;
  std::nth_element(uses.begin(), uses.begin() + static_cast<std::ptrdiff_t>(drop), uses.end());
  const uint64_t oldest_kept = uses[drop];
  auto evict = [&](auto& cache) {
    std::erase_if(cache, [&](const auto& entry) { return entry.second.last_use < oldest_kept; });
  };
  evict(p.deals);
  evict(p.orders);
  evict(p.invoices);
}

absl::Status RocksStore::StageStates(rocksdb::WriteBatch& batch) {
  rocksdb::Status s;
  for (const auto& [key, pending] : parts_->timers) {
    if (pending.present) {
      s = batch.Put(key, "");
    } else if (!pending.added_first || StoredTimer(key)) {
      s = batch.Delete(key);
    }
    if (!s.ok()) return FromRocks(s, Where(options_.dir) + ": cannot add to the batch");
  }
  std::string bytes;
  for (const auto& [entry, key] : parts_->dirty) {
    std::visit(
        [&](auto* cached) {
          bytes = Encode(cached->state);
          cached->staged_hash = BytesHash(bytes);
          if (cached->staged_hash != cached->stored_hash) s = batch.Put(*key, bytes);
        },
        entry);
    if (!s.ok()) break;
  }
  return FromRocks(s, Where(options_.dir) + ": cannot add to the batch");
}

bool RocksStore::StoredTimer(const std::string& key) {
  std::string value;
  const rocksdb::Status s = parts_->db->Get(parts_->read, key, &value);
  // When in doubt, delete: a needless tombstone costs less than a lost one.
  return !s.IsNotFound();
}

void RocksStore::CleanStates() {
  parts_->timers.clear();
  for (const auto& [entry, key] : parts_->dirty) {
    std::visit(
        [](auto* cached) {
          cached->dirty = false;
          cached->stored_hash = cached->staged_hash;
        },
        entry);
  }
  parts_->dirty.clear();
}

matcher::DealState& RocksStore::Deal(const matcher::TenantId& tenant, const matcher::DealId& id) {
  return TouchState<matcher::DealState>(parts_->deals,
                                        keys::Key(keys::kDeal, tenant.value, id.value), tenant,
                                        id.value, DecodeDealState);
}

matcher::OrderState& RocksStore::Order(const matcher::TenantId& tenant,
                                       const matcher::OrderId& id) {
  return TouchState<matcher::OrderState>(parts_->orders,
                                         keys::Key(keys::kOrder, tenant.value, id.value), tenant,
                                         id.value, DecodeOrderState);
}

matcher::InvoiceState& RocksStore::Invoice(const matcher::TenantId& tenant,
                                           const matcher::InvoiceId& id) {
  return TouchState<matcher::InvoiceState>(parts_->invoices,
                                           keys::Key(keys::kInvoice, tenant.value, id.value),
                                           tenant, id.value, DecodeInvoiceState);
}

std::optional<matcher::InvoiceId> RocksStore::GetPaymentInvoice(const matcher::TenantId& tenant,
                                                                const matcher::PaymentId& payment) {
  auto bytes = Read(keys::Key(keys::kPaymentInvoice, tenant.value, payment.value));
  if (!bytes) return std::nullopt;
  return matcher::InvoiceId{*std::move(bytes)};
}

void RocksStore::PutPaymentInvoice(const matcher::TenantId& tenant,
                                   const matcher::PaymentId& payment,
                                   const matcher::InvoiceId& invoice) {
  Write(keys::Key(keys::kPaymentInvoice, tenant.value, payment.value), invoice.value);
}

std::vector<matcher::DealId> RocksStore::DealsOfCustomer(const matcher::TenantId& tenant,
                                                         const matcher::CustomerId& customer) {
  const std::string prefix = keys::Key(keys::kCustomerDeal, tenant.value, customer.value);
  std::vector<matcher::DealId> deals;
  auto s = Scan(prefix, "", [&](std::string_view key, std::string_view) {
    key.remove_prefix(prefix.size());
    std::string deal;
    if (!keys::ReadString(key, deal) || !key.empty()) {
      Fail(absl::DataLossError(Where(options_.dir) + ": a malformed customer index key"));
      return false;
    }
    deals.push_back(matcher::DealId{std::move(deal)});
    return true;
  });
  if (!s.ok()) Fail(s);
  return deals;
}

void RocksStore::AddDealOfCustomer(const matcher::TenantId& tenant,
                                   const matcher::CustomerId& customer,
                                   const matcher::DealId& deal) {
  Write(keys::Key(keys::kCustomerDeal, tenant.value, customer.value, deal.value), "");
}

void RocksStore::AddTimer(const matcher::Timer& timer) {
  SetTimer(keys::TimerKey(timer), true);
  auto& floor = parts_->timer_floor[SlotCode(timer.slot)];
  if (floor && timer.due < *floor) floor = timer.due;
}
void RocksStore::RemoveTimer(const matcher::Timer& timer) {
  SetTimer(keys::TimerKey(timer), false);
}

void RocksStore::SetTimer(std::string key, bool present) {
  auto [it, first] = parts_->timers.try_emplace(std::move(key));
  if (first) it->second.added_first = present;
  it->second.present = present;
}

void RocksStore::ForgetTimerBounds() { parts_->timer_floor.fill(std::nullopt); }

std::vector<matcher::Timer> RocksStore::DueTimers(matcher::Slot slot, matcher::EventTime upto,
                                                  const std::optional<matcher::Timer>& after,
                                                  size_t limit) {
  std::vector<matcher::Timer> due;
  auto& floor = parts_->timer_floor[SlotCode(slot)];
  if (floor && upto < *floor) return due;
  // Timer keys sort by due time within the slot: the first key seen by a scan
  // from the slot's start is its earliest timer, and none is before the floor.
  const std::string prefix = keys::TimerSlotPrefix(slot);
  std::string from = prefix;
  if (after) {
    from = keys::TimerKey(*after);
  } else if (floor) {
    keys::AppendInt64(from, floor->time_since_epoch().count());
  }
  std::unique_ptr<rocksdb::Iterator> it(parts_->db->NewIterator(parts_->read));
  it->Seek(from);
  auto pending = parts_->timers.lower_bound(from);
  std::optional<matcher::EventTime> first;
  bool malformed = false, slot_ended = false;
  while (due.size() < limit) {
    const bool in_db = it->Valid() && it->key().starts_with(prefix);
    const bool in_pending = pending != parts_->timers.end() && pending->first.starts_with(prefix);
    if (!in_db && !in_pending) {
      slot_ended = true;
      break;
    }
    const std::string_view db_key =
        in_db ? std::string_view(it->key().data(), it->key().size()) : std::string_view();
    const bool take_pending = in_pending && (!in_db || std::string_view(pending->first) <= db_key);
    // A pending change replaces the stored key.
    const bool skip_db = take_pending && in_db && std::string_view(pending->first) == db_key;
    const std::string_view key = take_pending ? std::string_view(pending->first) : db_key;
    const bool present = (take_pending ? pending->second.present : true) && !(after && key == from);
    matcher::Timer timer;
    const bool parsed = !present || keys::ParseTimerKey(key, timer);
    if (take_pending) ++pending;
    if (!take_pending || skip_db) it->Next();
    if (!present) continue;
    if (!parsed) {
      Fail(absl::DataLossError(Where(options_.dir) + ": a malformed timer key"));
      malformed = true;
      break;
    }
    if (!first) first = timer.due;
    if (timer.due > upto) break;
    due.push_back(std::move(timer));
  }
  absl::Status s = FromRocks(it->status(), Where(options_.dir) + ": scan failed");
  if (!s.ok()) Fail(s);
  if (s.ok() && !malformed && !after && (first || slot_ended)) {
    floor = first ? *first : matcher::EventTime::max();
  }
  return due;
}

// ---------------------------------------------------------------------------
// Offsets, outbox, meta

absl::StatusOr<std::optional<int64_t>> RocksStore::GetOffset(std::string_view topic,
                                                             int32_t partition) {
  std::optional<std::string> bytes;
  if (auto s = ReadStatus(keys::OffsetKey(topic, partition), bytes); !s.ok()) return s;
  if (!bytes) return std::optional<int64_t>();
  std::string_view in = *bytes;
  int64_t offset;
  if (!keys::ReadInt64(in, offset) || !in.empty()) {
    return absl::DataLossError(Where(options_.dir) + ": a malformed offset record");
  }
  return std::optional<int64_t>(offset);
}

void RocksStore::SetOffset(std::string_view topic, int32_t partition, int64_t next_offset) {
  std::string value;
  keys::AppendInt64(value, next_offset);
  Write(keys::OffsetKey(topic, partition), value);
}

absl::StatusOr<std::vector<InputOffset>> RocksStore::Offsets() {
  std::vector<InputOffset> offsets;
  absl::Status bad;
  auto s = Scan(std::string(1, static_cast<char>(keys::kOffset)), "",
                [&](std::string_view key, std::string_view value) {
                  InputOffset o;
                  if (!keys::ParseOffsetKey(key, o.topic, o.partition) ||
                      !keys::ReadInt64(value, o.next_offset) || !value.empty()) {
                    bad = absl::DataLossError(Where(options_.dir) + ": a malformed offset record");
                    return false;
                  }
                  offsets.push_back(std::move(o));
                  return true;
                });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return offsets;
}

uint64_t RocksStore::AddOutbox(const OutboxRecord& record) {
  const uint64_t sequence = next_sequence_++;
  Write(keys::OutboxKey(sequence), Encode(record));
  std::string next;
  keys::AppendUint64(next, next_sequence_);
  Write(keys::OutboxNextKey(), next);
  return sequence;
}

absl::StatusOr<std::vector<std::pair<uint64_t, OutboxRecord>>> RocksStore::Outbox(size_t max) {
  std::vector<std::pair<uint64_t, OutboxRecord>> records;
  absl::Status bad;
  if (max == 0) return records;
  auto s =
      Scan(std::string(1, static_cast<char>(keys::kOutbox)), "",
           [&](std::string_view key, std::string_view value) {
             uint64_t sequence;
             if (!keys::ParseOutboxKey(key, sequence)) {
               bad = absl::DataLossError(Where(options_.dir) + ": a malformed outbox key");
               return false;
             }
             auto record = DecodeOutboxRecord(value);
             if (!record.ok()) {
               bad = absl::DataLossError(Where(options_.dir) + ": " + record.status().ToString());
               return false;
             }
             records.emplace_back(sequence, *std::move(record));
             return records.size() < max;
           });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return records;
}

absl::Status RocksStore::RemoveOutbox(uint64_t upto) {
  std::vector<std::string> doomed;
  auto s = Scan(std::string(1, static_cast<char>(keys::kOutbox)), "",
                [&](std::string_view key, std::string_view) {
                  uint64_t sequence;
                  if (!keys::ParseOutboxKey(key, sequence) || sequence > upto) return false;
                  doomed.emplace_back(key);
                  return true;
                });
  if (!s.ok()) return s;
  for (const std::string& key : doomed) Erase(key);
  return failure_;
}

absl::StatusOr<std::optional<std::string>> RocksStore::GetMeta(std::string_view name) {
  std::optional<std::string> bytes;
  if (auto s = ReadStatus(keys::MetaKey(name), bytes); !s.ok()) {
    Fail(s);  // like every failed read: nothing is committed after it
    return s;
  }
  return bytes;
}

void RocksStore::PutMeta(std::string_view name, std::string_view bytes) {
  Write(keys::MetaKey(name), bytes);
}

void RocksStore::DeleteMeta(std::string_view name) { Erase(keys::MetaKey(name)); }

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RocksStore::ScanMeta(
    std::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> records;
  auto s = Scan(keys::MetaKey(prefix), "", [&](std::string_view key, std::string_view value) {
    records.emplace_back(std::string(key.substr(1)), std::string(value));
    return true;
  });
  if (!s.ok()) return s;
  return records;
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
  EvictStates();
  return absl::OkStatus();
}

void RocksStore::Discard() {
  parts_->batch.Clear();
  parts_->ClearStates();
  parts_->timers.clear();
  ForgetTimerBounds();
  next_sequence_ = committed_next_sequence_;
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
