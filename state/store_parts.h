// RocksStore's insides, shared by state/store.cc (open, read, commit) and
// state/store_matcher.cc (matcher::Store, offsets, outbox, meta). Private to
// state/.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_buffer_manager.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "state/store.h"

namespace closeloop::state {

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& context);
// "state store <dir>", the start of every message about a store.
std::string Where(const std::string& dir);

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

}  // namespace closeloop::state
