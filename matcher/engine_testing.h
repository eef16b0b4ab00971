// Test helper: an Engine over a MemoryStore with one partition per source,
// driven by documents, commands and watermark advances, returning the records
// each step emits (optionally only some kinds). For tests only.
#pragma once

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "matcher/engine.h"
#include "matcher/memory_store.h"

namespace closeloop::matcher {

class TestEngine {
 public:
  // Keeps only the records of `kinds`; all when empty.
  explicit TestEngine(std::set<ExceptionKind> kinds = {}) : kinds_(std::move(kinds)) {
    for (int s = 0; s < kSourceCount; ++s) watermarks_.SetPartitionCount(static_cast<Source>(s), 1);
  }

  std::vector<ExceptionRecord> Apply(const Document& doc) {
    std::vector<ExceptionRecord> out;
    engine_->Apply(doc, watermarks_, out);
    return Keep(std::move(out));
  }
  // Raises every source's watermark to `t` and fires what is due.
  std::vector<ExceptionRecord> AdvanceAll(EventTime t) {
    watermarks_.AdvanceAll(t);
    return Advance();
  }
  // Raises every source's watermark to `t` and fires at most `max_timers` of
  // what is due (appending to `out`); true when nothing due is left.
  bool AdvanceAllAtMost(EventTime t, size_t max_timers, std::vector<ExceptionRecord>& out) {
    watermarks_.AdvanceAll(t);
    std::vector<ExceptionRecord> fired;
    const bool done = engine_->Advance(watermarks_, fired, max_timers);
    for (ExceptionRecord& r : Keep(std::move(fired))) out.push_back(std::move(r));
    return done;
  }
  // Raises every source's watermark to `t` and fires nothing, as within a
  // pipeline batch (Advance comes at its end).
  void RaiseAll(EventTime t) { watermarks_.AdvanceAll(t); }
  // Raises one source's watermark to `t` and fires what is due.
  std::vector<ExceptionRecord> AdvanceSource(Source s, EventTime t) {
    watermarks_.Advance(s, 0, t);
    return Advance();
  }
  // Applies a command; its echo (if any) goes to `out`.
  std::optional<CommandRejection> Command(const matcher::Command& command,
                                          std::vector<ExceptionRecord>* out = nullptr) {
    std::vector<ExceptionRecord> records;
    auto rejection = engine_->ApplyCommand(command, watermarks_, records);
    if (out != nullptr) *out = Keep(std::move(records));
    return rejection;
  }

  // A restart with `changed` rules over the same store: a new engine, which
  // then evaluates `tenant`'s subjects again (Engine::Resettle), at most
  // `max_subjects` a call.
  std::vector<ExceptionRecord> RestartWith(TenantDirectory changed, const TenantId& tenant,
                                           size_t max_subjects = SIZE_MAX) {
    tenants = std::move(changed);
    engine_.emplace(tenants, store_);
    std::vector<ExceptionRecord> out;
    Engine::ResettleCursor cursor;
    while (!engine_->Resettle(tenant, watermarks_, out, cursor, max_subjects)) {
    }
    return Keep(std::move(out));
  }
  std::vector<FiguresChange> TakeFiguresChanges() { return engine_->TakeFiguresChanges(); }

  const MemoryStore& store() const { return store_; }

  // Set before the first Apply: the engine remembers where tenants' rules are.
  TenantDirectory tenants;

 private:
  std::vector<ExceptionRecord> Advance() {
    std::vector<ExceptionRecord> out;
    engine_->Advance(watermarks_, out);
    return Keep(std::move(out));
  }
  std::vector<ExceptionRecord> Keep(std::vector<ExceptionRecord> out) const {
    if (!kinds_.empty()) {
      std::erase_if(out, [&](const ExceptionRecord& r) { return !kinds_.contains(r.kind); });
    }
    return out;
  }

  std::set<ExceptionKind> kinds_;
  MemoryStore store_;
  WatermarkSet watermarks_;
  std::optional<Engine> engine_{std::in_place, tenants, store_};
};

}  // namespace closeloop::matcher
