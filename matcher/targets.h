// The slots of subjects that one engine call may change, in vectors the
// engine keeps between calls. Internal to the matcher.
#pragma once

#include <utility>
#include <variant>
#include <vector>

#include "matcher/state.h"

namespace closeloop::matcher {

// A slot of a subject that a document may change.
struct Target {
  std::variant<DealState*, OrderState*, InvoiceState*> state;
  Slot slot;
};

// A list of targets: a vector taken from `spares` and given back, still
// allocated, when it goes out of scope. Lists nest (a fuzzy link decided
// inside a document's call), so there is a spare vector per depth.
class Targets {
 public:
  explicit Targets(std::vector<std::vector<Target>>& spares) : spares_(spares) {
    if (!spares_.empty()) {
      list_ = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  Targets(const Targets&) = delete;
  Targets& operator=(const Targets&) = delete;
  ~Targets() {
    list_.clear();
    spares_.push_back(std::move(list_));
  }
  void push_back(const Target& t) { list_.push_back(t); }
  auto begin() const { return list_.begin(); }
  auto end() const { return list_.end(); }

 private:
  std::vector<std::vector<Target>>& spares_;
  std::vector<Target> list_;
};

}  // namespace closeloop::matcher
