// The exception lifecycle (SPEC §5): turns a rule's verdict at an event time
// into OPEN, UPDATED, ESCALATED and RESOLVED records for one slot. Pure apart
// from appending to the borrowed output vector.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "matcher/rules.h"
#include "matcher/state.h"
#include "matcher/tenant.h"

namespace closeloop::matcher {

// "tenant:KIND:subject:generation", with ':' and '%' in the parts escaped.
std::string MakeExceptionId(const TenantId& tenant, ExceptionKind kind, std::string_view subject_id,
                            uint32_t generation);

// The parts of an exception id made by MakeExceptionId, or nullopt.
struct ExceptionIdParts {
  TenantId tenant;
  ExceptionKind kind;
  std::string subject_id;
  uint32_t generation = 0;
};
std::optional<ExceptionIdParts> ParseExceptionId(const std::string& id);

// The record's time-weighted loss (SPEC §5, amount × days outstanding) carried
// on to `at`: its loss so far plus its amount at risk for each day of age
// since it was stamped. The loss of an amount that changed is the sum of each
// amount times its days.
int64_t TimeWeightedLossAt(const ExceptionRecord& r, EventTime at);

// Why a command is refused: a stable machine-readable reason and a sentence.
struct CommandRejection {
  enum class Why { kUnknownException, kExceptionNotOpen, kReplayedCommand, kTooManyCommands };
  Why why;
  std::string message;
};

// The most commands one slot takes (its exceptions of every generation
// together): each applied command's id is kept to refuse its replay, and a
// client that sends fresh ids in a loop must not grow a state without bound.
// People send a handful per exception.
constexpr size_t kMaxCommandsPerSlot = 1000;

// Adds the event times at which an open exception escalates or its snooze ends.
void EscalationPoints(const OpenException& open, const TenantRules& rules,
                      std::vector<EventTime>& points);

class Lifecycle {
 public:
  // Both references must outlive the object.
  Lifecycle(const TenantRules& rules, std::vector<ExceptionRecord>& out)
      : rules_(rules), out_(out) {}

  // Moves `slot` of subject `subject_id` to what `verdict` says at `at`,
  // emitting a record for every change. `reason` composes the finding's
  // reason (Words), asked only for a record that carries it.
  void Transition(SlotState& slot, const TenantId& tenant, std::string_view subject_id,
                  const Verdict& verdict, EventTime at, const std::function<std::string()>& reason);

  // Whether any finding at `at` makes a record in `slot` that carries the
  // finding's reason: with nothing open or dismissed a finding opens an
  // exception, and an escalation due is announced with the finding's words.
  // Then composing the reason with the first evaluation wastes nothing.
  bool RecordsAnyFinding(const SlotState& slot, EventTime at) const;

  // Applies a person's command to the exception open in `slot` and echoes it
  // as a record. REQUIRES: the command names that exception.
  void Apply(SlotState& slot, const Command& command);

 private:
  void Open(SlotState& slot, const TenantId& tenant, std::string_view subject_id,
            const Verdict& verdict, EventTime at, const std::function<std::string()>& reason);
  // `recovered` is the exception's total recovered amount; `actor` is who
  // dismissed it (DISMISSED only; empty when not known); `rules_changed` says
  // a WITHDRAWN one was withdrawn by the tenant's changed rules.
  void Resolve(SlotState& slot, Resolution resolution, std::string_view successor,
               int64_t recovered, EventTime at, std::string_view actor = {},
               bool rules_changed = false);
  // Money recovered since the open exception opened, by the verdict's
  // progress; nullopt when the rule does not measure money.
  static std::optional<int64_t> Recovered(const OpenException& open, const Verdict& verdict);
  int EscalationLevel(EventTime opened_at, EventTime at) const;
  // Whether an escalation record is due at `at`: ACK stops them, SNOOZE holds
  // them until it ends.
  bool Announces(const OpenException& open, int escalation_level, EventTime at) const;
  Severity SeverityOf(int64_t amount_minor, std::string_view currency, int escalation_level) const;
  // Brings the record's age and time-weighted loss to `at`
  // (TimeWeightedLossAt). Call before the amount changes.
  static void Accrue(ExceptionRecord& r, EventTime at);
  // Accrues to `at`, stamps and publishes the record.
  void Emit(OpenException& open, EventTime at);

  const TenantRules& rules_;
  std::vector<ExceptionRecord>& out_;
};

}  // namespace closeloop::matcher
