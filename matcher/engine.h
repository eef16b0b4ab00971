// The matcher: applies documents and watermark advances to the stored state
// and returns the exception lifecycle records they cause (SPEC §5, §6).
// Deterministic: the same documents and watermarks give the same records,
// whatever the delivery order, as long as watermarks are honest. No I/O of its
// own; the Store is borrowed. Not thread-safe: one Engine per matcher task.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "matcher/figures.h"
#include "matcher/lifecycle.h"
#include "matcher/store.h"
#include "matcher/tenant.h"
#include "matcher/watermarks.h"

namespace closeloop::matcher {

struct EngineOptions {
  // Whether a slot skips the event times before its rule's quiet-until bound
  // (rules.h): the earliest time the rule can find anything, given the
  // documents known. The bounds only spare work; false evaluates every
  // change point instead, the reference the property test holds them to
  // (the same records and figures either way).
  bool quiet_bounds = true;
};

class Engine {
 public:
  // `tenants` and `store` must outlive the engine, and `tenants` must not
  // change while it lives: the engine remembers where tenants' rules are.
  Engine(const TenantDirectory& tenants, Store& store, EngineOptions options = {});
  ~Engine();

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

  // Evaluates every slot whose timer the watermarks of its sources reached,
  // firing at most `max_timers` timers. Returns false when it stopped there:
  // the next call goes on after the last timer fired (a deadline storm, e.g.
  // after a long outage, is worked off in bounded pieces, each committed).
  // Returns true only when nothing is due at `watermarks` in any slot, even
  // when they moved on since the pieces began.
  bool Advance(const WatermarkSet& watermarks, std::vector<ExceptionRecord>& out,
               size_t max_timers = SIZE_MAX);

  // Where Resettle goes on: a tenant's orders, then its invoices, then its
  // deals, each in id order. Documents come first: one without references
  // that looks for its deal now (fuzzy_match turned on) links to it from its
  // own time, as in a run under the new rules from the start, before the
  // deal is evaluated again.
  struct ResettleCursor {
    SubjectType type = SubjectType::kOrder;
    std::optional<std::string> after;  // the last subject of `type` done
  };
  // After `tenant`'s rules changed between runs (windows, tolerance, stages,
  // required fields, ...): evaluates its subjects in the store again under
  // the rules as they are now, as if each had a late document at the start
  // of time (SlotDriver::Resettle): an exception the old rules would never
  // have raised is, one they raised and the new rules do not find is
  // withdrawn, and every timer is set by the new windows. A document without
  // references looks for its deal when fuzzy_match was turned on, and stops
  // waiting to when it was turned off. Deals whose figures changed (their
  // stage's meaning did) are reported. At most `max_subjects` subjects from
  // `cursor` on, which it moves past them; returns true when the tenant is
  // done.
  bool Resettle(const TenantId& tenant, const WatermarkSet& watermarks,
                std::vector<ExceptionRecord>& out, ResettleCursor& cursor, size_t max_subjects);

  // Returns and forgets the changes of deals' books figures (SPEC §2) that
  // the Apply, ApplyCommand and Advance calls since the last take caused, in
  // the order they happened. A deal's figures are reported whenever they
  // differ from what was last reported for it (kept in its DealState, so
  // `before` is exact across restarts with a persistent store). Figures
  // reflect every document known, whatever the watermarks: a deal's latest
  // version, the invoices linked to it now (fuzzy links once decided) and
  // their payments. The last figures reported per deal do not depend on the
  // delivery order.
  std::vector<FiguresChange> TakeFiguresChanges();
  // The same into `into` (its contents dropped), whose buffer the engine
  // keeps for the next changes: a caller that takes into the same vector
  // every batch lets neither side allocate once warm. (A fresh vector grew
  // through a dozen sizes every batch, and copying the changes at each step
  // was ~4% of the matcher's last-level cache misses at 50k deals.)
  void TakeFiguresChanges(std::vector<FiguresChange>& into);

 private:
  class Call;
  struct Buffers;
  const TenantDirectory& tenants_;
  Store& store_;
  const EngineOptions options_;
  std::vector<FiguresChange> figures_changes_;
  // Where an Advance stopped at its limit: the slot (index in the engine's
  // slot order) and the last timer fired in it.
  size_t resume_slot_ = 0;
  std::optional<Timer> resume_after_;
  // Per slot of that order, the watermark up to which its due timers were
  // all fired.
  std::array<EventTime, 7> drained_to_;
  // The watermark up to which every fuzzy-link decision was made: calls
  // before the watermark moves on need not look again (none is armed without
  // being decided at once as far as it can be).
  EventTime fuzzy_drained_to_ = kMinTime;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace closeloop::matcher
