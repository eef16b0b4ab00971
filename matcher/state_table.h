// Entries by (tenant, id) for the MemoryStore (its subject states, and its
// payment and customer indexes): an open-addressing index (linear probing, a
// power-of-two array of hash and pointer pairs) over entries that never move;
// `State` is any struct with `tenant` and `id` members. A lookup costs one
// probe into the flat array and then the entry itself, which the caller reads
// next anyway; a node-based hash map costs a bucket, a node before it and the
// node. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "matcher/types.h"

namespace closeloop::matcher {

namespace hash_detail {

constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ULL;

// Whole words, then the last up to seven bytes in one word: from a load
// that overlaps the previous word, or for text shorter than a word, from
// two overlapping half-word loads (a memcpy of variable length is a call).
[[gnu::always_inline]] inline uint64_t HashWords(uint64_t h, std::string_view text) {
  // Folded multiply: both halves of the 128-bit product, so that every
  // bit of the word reaches the low bits the index uses (ids differ in
  // their last bytes, the word's high ones).
  auto add = [&h](uint64_t word) {
    __extension__ using U128 = unsigned __int128;
    const U128 product = U128{h ^ word} * kMultiplier;
    h = static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
  };
  const char* p = text.data();
  const size_t n = text.size();
  for (size_t i = 0; i + 8 <= n; i += 8) add(Load<uint64_t>(p + i));
  if (n % 8 == 0) return h;
  if (n > 8) {
    add(Load<uint64_t>(p + n - 8));
  } else if (n >= 4) {
    add(Load<uint32_t>(p) | uint64_t{Load<uint32_t>(p + n - 4)} << 32);
  } else {
    add(uint64_t{static_cast<unsigned char>(p[0])} |
        uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
        uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
  }
  return h;
}

}  // namespace hash_detail

// Tenant and id eight bytes at a time, each word multiplied in, the
// lengths with them so that ("ab", "c") and ("a", "bc") hash apart; then
// mixed so that the low bits the index uses depend on every byte. FNV-1a's
// byte loop here cost 3.4% of the matcher's instructions (bench/README.md,
// "Page faults, not the matcher"). Forced inline, as is StateTable::Find:
// once the MemoryStore's maps used it too, GCC stopped inlining both into
// the table's lookups, which cost more than the maps saved.
[[gnu::always_inline]] inline uint64_t HashKey(std::string_view tenant, std::string_view id) {
  uint64_t h = (tenant.size() << 32 | id.size()) * hash_detail::kMultiplier;
  h = hash_detail::HashWords(h, tenant);
  h = hash_detail::HashWords(h, id);
  h ^= h >> 32;
  h *= hash_detail::kMultiplier;
  return h ^ (h >> 29);
}

// State: a DealState, OrderState or InvoiceState (anything with `tenant.value`
// and `id.value` strings). Ids: the matching Id types.
template <class State>
class StateTable {
 public:
  // The state under the key, or nullptr. Keys are `Text`s or strings; two
  // `Text`s of up to 15 bytes compare in two words, inline (Text's ==).
  template <class TenantT, class IdT>
  [[gnu::always_inline]] State* Find(const TenantT& tenant, const IdT& id) const {
    if (slots_.empty()) return nullptr;
    const uint64_t hash = HashKey(tenant, id);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.state == nullptr) return nullptr;
      if (e.hash == hash && e.state->id.value == id && e.state->tenant.value == tenant) {
        return e.state.get();
      }
    }
  }

  // The state under the key, created with only its key set when absent; the
  // flag says whether it was created. States keep their address until erased.
  template <class TenantT, class IdT>
  std::pair<State*, bool> FindOrCreate(const TenantT& tenant, const IdT& id) {
    if (State* found = Find(tenant.value, id.value)) return {found, false};
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    auto state = std::make_unique<State>();
    state->tenant = tenant;
    state->id = id;
    State* raw = state.get();
    Place(Entry{HashKey(tenant.value, id.value), std::move(state)});
    ++size_;
    return {raw, true};
  }

  // Removes and frees `state`, which must be in the table.
  void Erase(const State* state) {
    size_t i = HashKey(state->tenant.value, state->id.value) & mask_;
    while (slots_[i].state.get() != state) i = (i + 1) & mask_;
    slots_[i].state.reset();
    --size_;
    // Backward shift: move up every later entry of the run whose home is not
    // between the hole and itself, so no probe stops early at the hole.
    for (size_t j = (i + 1) & mask_; slots_[j].state != nullptr; j = (j + 1) & mask_) {
      const size_t home = slots_[j].hash & mask_;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i] = std::move(slots_[j]);
      i = j;
    }
  }

  // Calls fn(state) for every state, in no particular order.
  template <class Fn>
  void ForEach(Fn&& fn) const {
    for (const Entry& e : slots_) {
      if (e.state != nullptr) fn(*e.state);
    }
  }

  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    std::unique_ptr<State> state;  // nullptr: the slot is free
  };

  void Place(Entry entry) {
    size_t i = entry.hash & mask_;
    while (slots_[i].state != nullptr) i = (i + 1) & mask_;
    slots_[i] = std::move(entry);
  }

  void Grow() {
    std::vector<Entry> old =
        std::exchange(slots_, std::vector<Entry>(std::max<size_t>(16, slots_.size() * 2)));
    mask_ = slots_.size() - 1;
    for (Entry& e : old) {
      if (e.state != nullptr) Place(std::move(e));
    }
  }

  std::vector<Entry> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace closeloop::matcher
