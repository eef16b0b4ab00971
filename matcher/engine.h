// The matcher: applies documents and watermark advances to the stored state
// and returns the exception lifecycle records they cause (SPEC §5, §6).
// Deterministic: the same documents and watermarks give the same records,
// whatever the delivery order, as long as watermarks are honest. No I/O of its
// own; the Store is borrowed. Not thread-safe: one Engine per matcher task.
#pragma once

#include <vector>

#include "matcher/lifecycle.h"
#include "matcher/store.h"
#include "matcher/tenant.h"
#include "matcher/watermarks.h"

namespace closeloop::matcher {

class Engine {
 public:
  // `tenants` and `store` must outlive the engine.
  Engine(const TenantDirectory& tenants, Store& store);

  // Applies one document. A re-delivered document changes nothing; a changed
  // one with the same id replaces the earlier version from its event time on.
  // Records caused by it (late documents resolve at once) are appended to out.
  void Apply(const Document& doc, const WatermarkSet& watermarks,
             std::vector<ExceptionRecord>& out);

  // Applies a person's command (ACK, SNOOZE, DISMISS) to an open exception
  // and appends its echo record. Returns why it was refused instead when it
  // names no open exception of its tenant or was applied before; then no
  // exception changes.
  std::optional<CommandRejection> ApplyCommand(const Command& command,
                                               const WatermarkSet& watermarks,
                                               std::vector<ExceptionRecord>& out);

  // Evaluates every slot whose timer the watermarks of its sources reached.
  void Advance(const WatermarkSet& watermarks, std::vector<ExceptionRecord>& out);

 private:
  class Call;
  const TenantDirectory& tenants_;
  Store& store_;
};

}  // namespace closeloop::matcher
