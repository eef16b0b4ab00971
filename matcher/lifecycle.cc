#include "matcher/lifecycle.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "matcher/money.h"

namespace closeloop::matcher {
namespace {

// An id part as MakeExceptionId writes it, a Sentence piece.
struct Escaped {
  std::string_view text;
};
size_t SizeOf(Escaped e) { return 3 * e.text.size(); }
void AppendTo(std::string& out, Escaped e) {
  if (e.text.find_first_of(":%") == std::string_view::npos) {
    out += e.text;
    return;
  }
  for (char c : e.text) {
    if (c == ':') {
      out += "%3A";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
}

// "UNPAID on invoice I-7": what a closing record is about, a Sentence piece.
// The kind's own subject, which the record may name beside others (an
// ORPHAN_ORDER names the deal its order points at, one that does not exist).
struct Subject {
  const ExceptionRecord& r;
};
size_t SizeOf(Subject s) {
  return 40 + s.r.invoice.value.size() + s.r.order.value.size() + s.r.deal.value.size();
}
void AppendTo(std::string& out, Subject s) {
  const ExceptionRecord& r = s.r;
  out += KindName(r.kind);
  switch (SubjectOf(SlotOf(r.kind))) {
    case SubjectType::kDeal:
      out += " on deal ";
      out += r.deal.value;
      return;
    case SubjectType::kOrder:
      out += " on order ";
      out += r.order.value;
      return;
    case SubjectType::kInvoice:
      out += " on invoice ";
      out += r.invoice.value;
      return;
  }
}

// A reason's last sentence when a link behind it was inferred (SPEC §5:
// fuzzy links have a confidence below 1): whoever acts should check the link
// before the money. Empty for links by reference.
std::string InferredLink(double confidence) {
  if (confidence >= 1.0) return {};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2g", confidence);
  return Sentence(
      " A document is linked by its customer and amount, not by a reference "
      "(confidence ",
      std::string_view(buf), ").");
}

// What arrived to resolve an exception of `kind` as RECOVERED, a Sentence
// piece: billing is no money collected yet, over-billing is recovered by
// crediting what was billed, and the kinds about documents are resolved by a
// document or a link, not by money; only UNPAID's is money.
std::string_view RecoveredWhat(ExceptionKind kind) {
  switch (kind) {
    case ExceptionKind::kMissingInvoice:
    case ExceptionKind::kUnderBilled:
      return "what was due has been billed";
    case ExceptionKind::kOverBilled:
      return "what was billed beyond booked has been credited or voided";
    case ExceptionKind::kNotBillable:
      return "the deal can be billed now (its required fields are in the CRM, or an invoice was "
             "issued)";
    case ExceptionKind::kMissingOrder:
      return "an ERP order is linked to the deal now";
    case ExceptionKind::kTermsMismatch:
      return "the invoice agrees with its deal's terms and currency now";
    case ExceptionKind::kOrphanOrder:
      return "the order is linked to a CRM deal now";
    case ExceptionKind::kOrphanInvoice:
      return "the invoice is linked to an order or deal now";
    case ExceptionKind::kUnpaid:
      break;
  }
  return "the missing money arrived";
}

// The deal, order, invoice and customer a finding names, and the customer's
// name and the deal's owner, onto the record that reports it.
void CopyLinks(const Finding& f, ExceptionRecord& r) {
  r.deal.value = f.deal;
  r.order.value = f.order;
  r.invoice.value = f.invoice;
  r.customer.value = f.customer;
  r.customer_name = f.customer_name;
  r.owner = f.owner;
}

}  // namespace

std::string MakeExceptionId(const TenantId& tenant, ExceptionKind kind, std::string_view subject_id,
                            uint32_t generation) {
  return Sentence(Escaped{tenant.value}, ":", KindName(kind), ":", Escaped{subject_id}, ":",
                  int64_t{generation});
}

std::optional<ExceptionIdParts> ParseExceptionId(const std::string& id) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < id.size(); ++i) {
    if (id[i] == ':') {
      parts.emplace_back();
    } else if (id.compare(i, 3, "%3A") == 0) {
      parts.back() += ':';
      i += 2;
    } else if (id.compare(i, 3, "%25") == 0) {
      parts.back() += '%';
      i += 2;
    } else {
      parts.back() += id[i];
    }
  }
  if (parts.size() != 4 || parts[0].empty() || parts[2].empty() || parts[3].empty() ||
      parts[3].size() > 9 || parts[3].find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const std::optional<ExceptionKind> kind = KindFromName(parts[1]);
  if (!kind) return std::nullopt;
  return ExceptionIdParts{{parts[0]}, *kind, parts[2], static_cast<uint32_t>(std::stoul(parts[3]))};
}

void EscalationPoints(const OpenException& open, const TenantRules& rules,
                      std::vector<EventTime>& points) {
  for (Duration age : rules.escalation_ages) points.push_back(open.last.opened_at + age);
  if (open.snoozed_until > open.last.opened_at) points.push_back(open.snoozed_until);
}

int Lifecycle::EscalationLevel(EventTime opened_at, EventTime at) const {
  int level = 0;
  for (Duration age : rules_.escalation_ages) {
    if (opened_at + age <= at) ++level;
  }
  return level;
}

bool Lifecycle::Announces(const OpenException& open, int escalation_level, EventTime at) const {
  return !open.acknowledged && at >= open.snoozed_until && escalation_level > open.notified_level;
}

bool Lifecycle::RecordsAnyFinding(const SlotState& slot, EventTime at) const {
  if (!slot.open) return slot.dismissal() == nullptr;
  return Announces(*slot.open, EscalationLevel(slot.open->last.opened_at, at), at);
}

Severity Lifecycle::SeverityOf(int64_t amount_minor, std::string_view currency,
                               int escalation_level) const {
  const std::vector<int64_t>& amounts = rules_.SeverityAmounts(currency);
  int rank = static_cast<int>(amounts.size());  // P4 when below all
  for (size_t i = 0; i < amounts.size(); ++i) {
    if (amount_minor >= amounts[i]) {
      rank = static_cast<int>(i);
      break;
    }
  }
  rank = std::clamp(rank - escalation_level, 0, 3);
  return static_cast<Severity>(rank);
}

int64_t TimeWeightedLossAt(const ExceptionRecord& r, EventTime at) {
  const int64_t days = std::max<int64_t>(0, DaysBetween(r.opened_at, at));
  // Saturates at the int64 limit rather than wrapping negative (about 2.8
  // years of the largest amount a document may carry).
  int64_t added = 0, loss = 0;
  if (__builtin_mul_overflow(r.amount_at_risk_minor, std::max<int64_t>(0, days - r.age_days),
                             &added) ||
      __builtin_add_overflow(r.time_weighted_loss, added, &loss)) {
    return INT64_MAX;
  }
  return loss;
}

void Lifecycle::Accrue(ExceptionRecord& r, EventTime at) {
  r.time_weighted_loss = TimeWeightedLossAt(r, at);
  r.age_days = std::max(r.age_days, std::max<int64_t>(0, DaysBetween(r.opened_at, at)));
}

void Lifecycle::Emit(OpenException& open, EventTime at) {
  ExceptionRecord& r = open.last;
  Accrue(r, at);
  ++r.sequence;
  r.effective_at = at;
  r.severity = SeverityOf(r.amount_at_risk_minor, r.currency, open.escalation_level);
  // The reason goes with the record and is not kept: every record writes its
  // own, so a kept one would never be read (and cost an open exception ~160
  // bytes and a copy per record).
  std::string reason = std::exchange(r.reason, {});
  out_.push_back(r);
  out_.back().reason = std::move(reason);
}

void Lifecycle::Open(SlotState& slot, const TenantId& tenant, std::string_view subject_id,
                     const Verdict& verdict, EventTime at,
                     const std::function<std::string()>& reason) {
  const Finding& f = *verdict.finding;
  OpenException open;
  open.progress_at_open = verdict.progress_minor;
  ExceptionRecord& r = open.last;
  r.exception_id = MakeExceptionId(tenant, f.kind, subject_id, ++slot.generation);
  r.tenant = tenant;
  r.kind = f.kind;
  r.state = ExceptionState::kOpen;
  CopyLinks(f, r);
  const Route& route = rules_.RouteFor(f.kind);
  r.team = route.team;
  r.topic = route.topic;
  r.amount_at_risk_minor = f.amount_at_risk_minor;
  r.currency = f.currency;
  r.deadline = f.deadline;
  r.opened_at = at;
  r.confidence = f.confidence;
  r.reason = reason() + InferredLink(f.confidence);
  open.escalation_level = 0;
  Emit(open, at);
  slot.open = std::move(open);
}

void Lifecycle::Resolve(SlotState& slot, Resolution resolution, std::string_view successor,
                        int64_t recovered, EventTime at, std::string_view actor,
                        bool rules_changed) {
  OpenException& open = *slot.open;
  ExceptionRecord& r = open.last;
  const Subject what{r};
  r.state = ExceptionState::kResolved;
  r.resolution = resolution;
  r.superseded_by = successor;
  r.recovered_minor = recovered;
  switch (resolution) {
    case Resolution::kRecovered:
      r.reason = Sentence(what, " is resolved on ", Date{at}, ": ", RecoveredWhat(r.kind), "; ",
                          Money{r.recovered_minor, r.currency}, " recovered.") +
                 InferredLink(r.confidence);
      break;
    case Resolution::kSuperseded:
      r.reason = Sentence(what, " is superseded on ", Date{at}, " by ", successor, ".");
      break;
    case Resolution::kWithdrawn:
      r.reason = Sentence(what, " is withdrawn on ", Date{at},
                          rules_changed ? ": the tenant's rules were changed and no longer find it."
                                        : ": what was expected no longer is (deal lost or changed, "
                                          "document voided or cancelled).");
      break;
    case Resolution::kDismissed:
    case Resolution::kNone:
      // Who dismissed it, as ACK's and SNOOZE's echoes say who gave them.
      r.reason = Sentence(what, " is dismissed", actor.empty() ? "" : " by ", actor, " on ",
                          Date{at}, r.note.empty() ? "." : ": ", r.note);
      break;
  }
  Emit(open, at);
  // The loss accrued up to resolution stays on the record; nothing is at risk now.
  out_.back().amount_at_risk_minor = 0;
  slot.open.reset();
}

std::optional<int64_t> Lifecycle::Recovered(const OpenException& open, const Verdict& verdict) {
  if (!open.progress_at_open || !verdict.progress_minor) return std::nullopt;
  // Money in another currency (the deal or invoice was corrected to it) is
  // none in the exception's: its expectation went away, nothing arrived.
  if (verdict.progress_currency != open.last.currency) return 0;
  // Over-billing is recovered by crediting: billed going down.
  const int64_t sign = open.last.kind == ExceptionKind::kOverBilled ? -1 : 1;
  return std::max<int64_t>(0, sign * (*verdict.progress_minor - *open.progress_at_open));
}

void Lifecycle::Transition(SlotState& slot, const TenantId& tenant, std::string_view subject_id,
                           const Verdict& verdict, EventTime at,
                           const std::function<std::string()>& reason) {
  if (!slot.open) {
    if (slot.dismissal() == nullptr) {
      if (verdict.finding) Open(slot, tenant, subject_id, verdict, at, reason);
      return;
    }
    if (!verdict.finding) {
      slot.commands->dismissal.reset();  // the dismissed problem went away
      return;
    }
    const Finding& f = *verdict.finding;
    const Dismissal d = *slot.dismissal();
    if (d.Covers(f.kind, f.amount_at_risk_minor, f.currency)) return;
    slot.commands->dismissal.reset();
    if (!d.GrewTo(f.kind, f.amount_at_risk_minor, f.currency)) {
      Open(slot, tenant, subject_id, verdict, at, reason);
      return;
    }
    Open(slot, tenant, subject_id, verdict, at, [&] {
      return reason() + Sentence(" More than the ", Money{*d.amount_minor, d.currency},
                                 " dismissed before is at risk now.");
    });
    return;
  }
  OpenException& open = *slot.open;
  const int64_t was = open.last.amount_at_risk_minor;
  const std::optional<int64_t> recovered = Recovered(open, verdict);
  // Recovered never exceeds what was ever at risk.
  const int64_t ceiling = was + open.last.recovered_minor;
  if (!verdict.finding) {
    if (verdict.withdrawn || verdict.rules_changed || (recovered && *recovered == 0)) {
      // The expectation went away without money arriving: the deal was lost
      // or cut, the document voided or cancelled, or the rules changed.
      Resolve(slot, Resolution::kWithdrawn, "", open.last.recovered_minor, at, {},
              verdict.rules_changed);
    } else {
      // A document-kind exception recovers what was at risk when its
      // document arrives; a money-kind one what actually arrived.
      open.last.confidence = verdict.resolved_confidence;
      Resolve(slot, Resolution::kRecovered, "", recovered ? std::min(*recovered, ceiling) : ceiling,
              at);
    }
    return;
  }
  const Finding& f = *verdict.finding;
  // Amounts in another currency (the deal or invoice was re-issued in it) are
  // another exception: one record's amounts are all in its own currency.
  const bool same_currency = f.currency == open.last.currency;
  if (f.kind != open.last.kind || !same_currency) {
    const std::string successor = MakeExceptionId(tenant, f.kind, subject_id, slot.generation + 1);
    int64_t total = open.last.recovered_minor;  // progress in another currency does not compare
    if (same_currency) {
      total = recovered ? std::min(*recovered, ceiling)
                        : total + std::max<int64_t>(0, was - f.amount_at_risk_minor);
    }
    Resolve(slot, Resolution::kSuperseded, successor, total, at);
    Open(slot, tenant, subject_id, verdict, at, reason);
    return;
  }
  open.escalation_level = EscalationLevel(open.last.opened_at, at);
  const bool announce = Announces(open, open.escalation_level, at);
  const bool amount_changed = f.amount_at_risk_minor != was;
  if (!amount_changed && !announce) return;
  if (announce) open.notified_level = open.escalation_level;
  ExceptionRecord& r = open.last;
  Accrue(r, at);  // the old amount's days, before the new amount
  // An escalation that comes with a new amount is announced as ESCALATED
  // (carrying the new amount): UPDATED would swallow the escalation notice.
  r.state = announce ? ExceptionState::kEscalated : ExceptionState::kUpdated;
  if (recovered) r.recovered_minor = std::min(*recovered, ceiling);
  r.amount_at_risk_minor = f.amount_at_risk_minor;
  // E.g. the next milestone's deadline that raised the amount. OVER_BILLED
  // and TERMS_MISMATCH have no deadline but the event time they fired at,
  // when they opened (their finding's is the time evaluated): an escalation,
  // a further invoice or a new version of the invoice does not move it.
  if (f.kind != ExceptionKind::kOverBilled && f.kind != ExceptionKind::kTermsMismatch) {
    r.deadline = f.deadline;
  }
  r.confidence = f.confidence;
  r.reason = reason() + InferredLink(f.confidence);
  // What the subject links to now (an invoice re-pointed to another deal or
  // order, a deal moved to another customer), as the reason says.
  CopyLinks(f, r);
  Emit(open, at);
}

void Lifecycle::Apply(SlotState& slot, const Command& command) {
  OpenException& open = *slot.open;
  ExceptionRecord& r = open.last;
  if (!slot.commands) slot.commands.emplace();
  slot.commands->ids.push_back(command.id);
  // Records of one exception never go back in event time, nor run ahead of
  // what the slot has been evaluated to (its sources' watermark): a command
  // stamped by a wall clock ahead of a lagging feed must not carry the
  // exception's age and time-weighted loss past event times not yet seen.
  const EventTime at = std::max(std::min(command.event_time, slot.evaluated_until), r.effective_at);
  const std::string_view by = command.actor.empty() ? "" : " by ";
  const std::string_view then = command.note.empty() ? "" : " ";
  r.note = command.note;
  switch (command.action) {
    case Command::Action::kAck:
      open.acknowledged = true;
      r.state = ExceptionState::kAcknowledged;
      r.reason = Sentence(Subject{r}, " acknowledged", by, command.actor,
                          "; no more escalation notices.", then, command.note);
      Emit(open, at);
      return;
    case Command::Action::kSnooze:
      open.snoozed_until = command.snooze_until;
      r.state = ExceptionState::kSnoozed;
      r.reason = Sentence(Subject{r}, " snoozed", by, command.actor, " until ",
                          Date{command.snooze_until}, ".", then, command.note);
      Emit(open, at);
      return;
    case Command::Action::kDismiss:
      slot.commands->dismissal = Dismissal{r.kind, r.amount_at_risk_minor, r.currency};
      Resolve(slot, Resolution::kDismissed, "", r.recovered_minor, at, command.actor);
      return;
  }
}

}  // namespace closeloop::matcher
