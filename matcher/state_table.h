// Subject states by (tenant, id) for the MemoryStore: an open-addressing
// index (linear probing, a power-of-two array of hash and pointer pairs)
// over states that never move. A lookup costs one probe into the flat array
// and then the state itself, which the caller reads next anyway; a node-based
// hash map costs a bucket, a node before it and the node. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace closeloop::matcher {

// State: a DealState, OrderState or InvoiceState (anything with `tenant.value`
// and `id.value` strings). Ids: the matching Id types.
template <class State>
class StateTable {
 public:
  // The state under the key, or nullptr.
  State* Find(std::string_view tenant, std::string_view id) const {
    if (slots_.empty()) return nullptr;
    const uint64_t hash = Hash(tenant, id);
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
    Place(Entry{Hash(tenant.value, id.value), std::move(state)});
    ++size_;
    return {raw, true};
  }

  // Removes and frees `state`, which must be in the table.
  void Erase(const State* state) {
    size_t i = Hash(state->tenant.value, state->id.value) & mask_;
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

  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    std::unique_ptr<State> state;  // nullptr: the slot is free
  };

  // FNV-1a over tenant, a separator and id, then mixed so that the low bits
  // the index uses depend on every byte. Inline: keys are a few bytes, and
  // std::hash's out-of-line call cost more than hashing them.
  static uint64_t Hash(std::string_view tenant, std::string_view id) {
    uint64_t h = 0xcbf29ce484222325ULL;
    auto add = [&h](unsigned char c) { h = (h ^ c) * 0x100000001b3ULL; };
    for (char c : tenant) add(static_cast<unsigned char>(c));
    add(0xff);  // so that ("ab", "c") and ("a", "bc") hash apart
    for (char c : id) add(static_cast<unsigned char>(c));
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
  }

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
