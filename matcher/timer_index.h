// The MemoryStore's timers: per slot, a map from due time to the subjects
// due then. Deadlines count from whole hours and days, so timers tie: the
// 50,000-deal replay sets 173,000 timers on fewer than 10,000 due times. A
// set of timers cost a tree node per timer and a string comparison at every
// level; here a lookup walks a tree a twentieth the size on integer keys and
// then scans one short bucket. Not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "matcher/store.h"

namespace closeloop::matcher {

class TimerIndex {
 public:
  // Adding a timer that is there, or removing one that is not, changes nothing.
  void Add(const TimerRef& timer) {
    Bucket& bucket = BucketsOf(timer.slot)[timer.due];
    if (bucket.tails.empty()) bucket.Reserve();
    if (Find(bucket, timer) != kAbsent) return;
    bucket.tails.push_back(Tail(timer.id));
    bucket.keys.push_back({TenantId{Text(timer.tenant)}, Text(timer.id)});
    ++size_;
  }
  void Remove(const TimerRef& timer) {
    Buckets& buckets = BucketsOf(timer.slot);
    auto b = buckets.find(timer.due);
    if (b == buckets.end()) return;
    Bucket& bucket = b->second;
    const size_t i = Find(bucket, timer);
    if (i == kAbsent) return;
    bucket.tails[i] = bucket.tails.back();
    bucket.tails.pop_back();
    bucket.keys[i] = std::move(bucket.keys.back());
    bucket.keys.pop_back();
    --size_;
    if (bucket.tails.empty()) buckets.erase(b);
  }

  // Store::DueTimers: the timers of `slot` due at or before `upto` and
  // ordered after `after` when given, in (due, tenant, id) order, at most
  // `limit`.
  std::vector<Timer> Due(Slot slot, EventTime upto, const std::optional<Timer>& after,
                         size_t limit) const {
    std::vector<Timer> due;
    const Buckets& buckets = BucketsOf(slot);
    auto b = after && after->slot == slot ? buckets.lower_bound(after->due) : buckets.begin();
    std::vector<const Key*> order;
    for (; b != buckets.end() && b->first <= upto && due.size() < limit; ++b) {
      // A bucket is kept in no order: its timers are sorted when they are due.
      order.clear();
      for (const Key& k : b->second.keys) order.push_back(&k);
      std::sort(order.begin(), order.end(), [](const Key* x, const Key* y) {
        return std::tie(x->tenant, x->id) < std::tie(y->tenant, y->id);
      });
      for (const Key* e : order) {
        if (due.size() == limit) break;
        Timer t{slot, b->first, e->tenant, e->id};
        if (!after || *after < t) due.push_back(std::move(t));
      }
    }
    return due;
  }

  size_t size() const { return size_; }

 private:
  struct Key {
    TenantId tenant;
    Text id;
  };
  // The timers due at one time, in no order. Their tails are kept apart from
  // their keys, so a lookup scans eight bytes per timer, not the 40 of tail
  // and key together (TimerIndex::Find was the matcher's largest single
  // source of cache misses at 50,000 deals).
  struct Bucket {
    std::vector<uint64_t> tails;  // Tail(keys[i].id)
    std::vector<Key> keys;
    // Eight reserved at a bucket's first timer. Timers per due time when
    // they tie at all were ~16 on average in the 50,000-deal replay, so such
    // a bucket grows once; a larger reserve has not been measured.
    void Reserve() {
      tails.reserve(8);
      keys.reserve(8);
    }
  };
  using Buckets = std::map<EventTime, Bucket>;
  static constexpr size_t kAbsent = SIZE_MAX;

  // An id's last eight bytes (fewer, for a shorter one) and its length in one
  // word: equal ids have equal tails, and ids of one kind mostly differ at
  // the end, so a bucket is scanned comparing words, not strings (the scan
  // passes ~12 timers per add in the 50,000-deal replay).
  // One fixed-size load for ids of eight bytes or more (a memcpy of variable
  // length is a call).
  static uint64_t Tail(std::string_view id) {
    uint64_t tail = 0;
    if (id.size() >= sizeof tail) {
      tail = Load<uint64_t>(id.data() + id.size() - sizeof tail);
    } else {
      std::memcpy(&tail, id.data(), id.size());
    }
    return tail ^ (static_cast<uint64_t>(id.size()) * 0x9e3779b97f4a7c15ULL);
  }
  // The timer's place in its bucket, or kAbsent.
  static size_t Find(const Bucket& bucket, const TimerRef& timer) {
    const uint64_t tail = Tail(timer.id);
    for (size_t i = 0; i < bucket.tails.size(); ++i) {
      if (bucket.tails[i] == tail && SameText(bucket.keys[i].id, timer.id) &&
          SameText(bucket.keys[i].tenant.value, timer.tenant)) {
        return i;
      }
    }
    return kAbsent;
  }
  Buckets& BucketsOf(Slot slot) { return by_slot_[static_cast<size_t>(slot)]; }
  const Buckets& BucketsOf(Slot slot) const { return by_slot_[static_cast<size_t>(slot)]; }

  std::array<Buckets, static_cast<size_t>(Slot::kOrderFuzzyLink) + 1> by_slot_;
  size_t size_ = 0;
};

}  // namespace closeloop::matcher
