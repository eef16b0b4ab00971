#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "state/codec.h"
#include "state/keys.h"
#include "state/store.h"
#include "state/store_parts.h"

namespace closeloop::state {

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
  // The least recent use that stays; a bound below four keeps none.
  uint64_t oldest_kept = UINT64_MAX;
  if (keep > 0) {
    const size_t drop = uses.size() - keep;
    std::nth_element(uses.begin(), uses.begin() + static_cast<std::ptrdiff_t>(drop), uses.end());
    oldest_kept = uses[drop];
  }
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
  // In key order, as the timers are: RocksDB's memtable inserts a run of
  // ascending keys from where the last one went, a key out of order from the
  // top of its skip list.
  std::sort(parts_->dirty.begin(), parts_->dirty.end(),
            [](const auto& a, const auto& b) { return *a.second < *b.second; });
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
  std::vector<matcher::DealId> deals;
  for (std::string& id : LastParts(keys::Key(keys::kCustomerDeal, tenant.value, customer.value), "",
                                   SIZE_MAX, "customer index")) {
    deals.push_back(matcher::DealId{std::move(id)});
  }
  return deals;
}

void RocksStore::AddDealOfCustomer(const matcher::TenantId& tenant,
                                   const matcher::CustomerId& customer,
                                   const matcher::DealId& deal) {
  Write(keys::Key(keys::kCustomerDeal, tenant.value, customer.value, deal.value), "");
}

namespace {

keys::Type KeyType(matcher::SubjectType type) {
  switch (type) {
    case matcher::SubjectType::kDeal:
      return keys::kDeal;
    case matcher::SubjectType::kOrder:
      return keys::kOrder;
    case matcher::SubjectType::kInvoice:
      break;
  }
  return keys::kInvoice;
}

}  // namespace

std::vector<std::string> RocksStore::SubjectIds(matcher::SubjectType type,
                                                const matcher::TenantId& tenant,
                                                const std::optional<std::string>& after,
                                                size_t limit) {
  // The id's own key is the only one it begins, so a zero byte more seeks past it.
  const std::string from = after ? keys::Key(KeyType(type), tenant.value, *after) + '\0' : "";
  return LastParts(keys::Key(KeyType(type), tenant.value), from, limit, "subject");
}

std::vector<std::string> RocksStore::LastParts(const std::string& prefix, const std::string& from,
                                               size_t limit, std::string_view what) {
  std::vector<std::string> parts;
  if (limit == 0) return parts;
  auto s = Scan(prefix, from, [&](std::string_view key, std::string_view) {
    key.remove_prefix(prefix.size());
    std::string part;
    if (!keys::ReadString(key, part) || !key.empty()) {
      Fail(
          absl::DataLossError(Where(options_.dir) + ": a malformed " + std::string(what) + " key"));
      return false;
    }
    parts.push_back(std::move(part));
    return parts.size() < limit;
  });
  if (!s.ok()) Fail(s);
  return parts;
}

std::vector<matcher::TenantId> RocksStore::Tenants() {
  std::vector<matcher::TenantId> tenants;
  for (keys::Type type : {keys::kDeal, keys::kOrder, keys::kInvoice}) {
    const std::string prefix(1, static_cast<char>(type));
    std::string from = prefix;
    // One seek per tenant: an escaped string ends in 0x00 0x01, so the
    // tenant's keys all sort before its prefix ending in 0x00 0x02.
    for (bool more = true; more;) {
      more = false;
      auto s = Scan(prefix, from, [&](std::string_view key, std::string_view) {
        key.remove_prefix(prefix.size());
        std::string tenant;
        if (!keys::ReadString(key, tenant)) {
          Fail(absl::DataLossError(Where(options_.dir) + ": a malformed subject key"));
          return false;
        }
        from = keys::Key(type, tenant);
        from.back() = '\x02';
        tenants.push_back(matcher::TenantId{std::move(tenant)});
        more = true;
        return false;
      });
      if (!s.ok()) Fail(s);
    }
  }
  std::sort(tenants.begin(), tenants.end());
  tenants.erase(std::unique(tenants.begin(), tenants.end()), tenants.end());
  return tenants;
}

void RocksStore::AddTimer(const matcher::TimerRef& timer) {
  SetTimer(keys::TimerKey(timer), true);
  auto& floor = parts_->timer_floor[SlotCode(timer.slot)];
  if (floor && timer.due < *floor) floor = timer.due;
}
void RocksStore::RemoveTimer(const matcher::TimerRef& timer) {
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
      Scan(std::string(1, static_cast<char>(keys::kOutbox)), keys::OutboxKey(outbox_from_),
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
  auto s = Scan(std::string(1, static_cast<char>(keys::kOutbox)), keys::OutboxKey(outbox_from_),
                [&](std::string_view key, std::string_view) {
                  uint64_t sequence;
                  if (!keys::ParseOutboxKey(key, sequence) || sequence > upto) return false;
                  doomed.emplace_back(key);
                  return true;
                });
  if (!s.ok()) return s;
  for (const std::string& key : doomed) Erase(key);
  outbox_from_ = std::max(outbox_from_, upto + 1);
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

}  // namespace closeloop::state
