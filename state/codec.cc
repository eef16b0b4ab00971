#include "state/codec.h"

#include <google/protobuf/arena.h>

#include <utility>

#include "closeloop/v1/state.pb.h"
#include "state/codec_enums.h"

namespace closeloop::state {
namespace pb = ::closeloop::v1::state;
using matcher::EventTime;

// Guards: a new field must be added to the codec, then update this size.
// (These fail the build when a matcher struct grows, so that no field is
// silently left out of what the store keeps.)
static_assert(sizeof(matcher::Milestone) == 16, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::BillingPlan) == 40, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::Deal) == 240, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::Order) == 104, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::Invoice) == 152, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::Payment) == 104, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::ExceptionRecord) == 352,
              "new field: add it to the codec, then update");
static_assert(sizeof(matcher::OpenException) == 392, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::SlotState) == 48, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::Slots<matcher::Slot::kNotBillable, 3>) ==
                  3 * sizeof(matcher::SlotState) + 16,
              "new field: add it to the codec, then update");
static_assert(sizeof(matcher::FuzzyLink) == 56, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::DealFigures) == 88, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::DealState) == 368, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::OrderState) == 208, "new field: add it to the codec, then update");
static_assert(sizeof(matcher::InvoiceState) == 304, "new field: add it to the codec, then update");

namespace {

using state::FromPb;  // the enums' (codec_enums.h), beside the overloads below
using state::ToPb;

int64_t Ms(EventTime t) { return t.time_since_epoch().count(); }
EventTime Time(int64_t ms) { return EventTime(matcher::Duration(ms)); }

// ---------------------------------------------------------------------------
// Documents.

void ToPb(const matcher::Deal& d, pb::Deal& p) {
  p.set_tenant(d.tenant.value);
  p.set_id(d.id.value);
  p.set_stage(d.stage);
  p.set_amount_minor(d.amount_minor);
  p.set_currency(d.currency);
  p.set_customer(d.customer.value);
  p.set_customer_name(d.customer_name);
  p.set_owner(d.owner);
  p.set_close_time_ms(Ms(d.close_time));
  p.set_close_time_inferred(d.close_time_inferred);
  p.set_event_time_ms(Ms(d.event_time));
  if (d.payment_terms_days) p.set_payment_terms_days(*d.payment_terms_days);
  p.set_po_number(d.po_number);
  p.set_vat_id(d.vat_id);
  p.set_billing_entity(d.billing_entity);
  pb::BillingPlan& plan = *p.mutable_billing_plan();
  plan.set_kind(ToPb(d.billing_plan.kind));
  for (const matcher::Milestone& m : d.billing_plan.milestones) {
    pb::Milestone& pm = *plan.add_milestones();
    pm.set_due_time_ms(Ms(m.due_time));
    pm.set_amount_minor(m.amount_minor);
  }
  plan.set_period_days(d.billing_plan.period_days);
  plan.set_periods(d.billing_plan.periods);
}
absl::Status FromPb(const pb::Deal& p, matcher::Deal& d) {
  d.tenant.value = p.tenant();
  d.id.value = p.id();
  d.stage = p.stage();
  d.amount_minor = p.amount_minor();
  d.currency = p.currency();
  d.customer.value = p.customer();
  d.customer_name = p.customer_name();
  d.owner = p.owner();
  d.close_time = Time(p.close_time_ms());
  d.close_time_inferred = p.close_time_inferred();
  d.event_time = Time(p.event_time_ms());
  if (p.has_payment_terms_days()) d.payment_terms_days = p.payment_terms_days();
  d.po_number = p.po_number();
  d.vat_id = p.vat_id();
  d.billing_entity = p.billing_entity();
  const pb::BillingPlan& plan = p.billing_plan();
  if (auto s = FromPb(plan.kind(), d.billing_plan.kind); !s.ok()) return s;
  for (const pb::Milestone& pm : plan.milestones()) {
    d.billing_plan.milestones.push_back({Time(pm.due_time_ms()), pm.amount_minor()});
  }
  d.billing_plan.period_days = plan.period_days();
  d.billing_plan.periods = plan.periods();
  return absl::OkStatus();
}

void ToPb(const matcher::Order& o, pb::Order& p) {
  p.set_tenant(o.tenant.value);
  p.set_id(o.id.value);
  p.set_deal(o.deal.value);
  p.set_customer(o.customer.value);
  p.set_amount_minor(o.amount_minor);
  p.set_currency(o.currency);
  p.set_status(ToPb(o.status));
  p.set_event_time_ms(Ms(o.event_time));
}
absl::Status FromPb(const pb::Order& p, matcher::Order& o) {
  o.tenant.value = p.tenant();
  o.id.value = p.id();
  o.deal.value = p.deal();
  o.customer.value = p.customer();
  o.amount_minor = p.amount_minor();
  o.currency = p.currency();
  o.event_time = Time(p.event_time_ms());
  return FromPb(p.status(), o.status);
}

void ToPb(const matcher::Invoice& i, pb::Invoice& p) {
  p.set_tenant(i.tenant.value);
  p.set_id(i.id.value);
  p.set_order(i.order.value);
  p.set_deal(i.deal.value);
  p.set_customer(i.customer.value);
  p.set_amount_minor(i.amount_minor);
  p.set_currency(i.currency);
  p.set_kind(ToPb(i.kind));
  p.set_status(ToPb(i.status));
  p.set_issue_time_ms(Ms(i.issue_time));
  if (i.due_time) p.set_due_time_ms(Ms(*i.due_time));
  if (i.payment_terms_days) p.set_payment_terms_days(*i.payment_terms_days);
  p.set_event_time_ms(Ms(i.event_time));
}
absl::Status FromPb(const pb::Invoice& p, matcher::Invoice& i) {
  i.tenant.value = p.tenant();
  i.id.value = p.id();
  i.order.value = p.order();
  i.deal.value = p.deal();
  i.customer.value = p.customer();
  i.amount_minor = p.amount_minor();
  i.currency = p.currency();
  if (auto s = FromPb(p.kind(), i.kind); !s.ok()) return s;
  if (auto s = FromPb(p.status(), i.status); !s.ok()) return s;
  i.issue_time = Time(p.issue_time_ms());
  if (p.has_due_time_ms()) i.due_time = Time(p.due_time_ms());
  if (p.has_payment_terms_days()) i.payment_terms_days = p.payment_terms_days();
  i.event_time = Time(p.event_time_ms());
  return absl::OkStatus();
}

void ToPb(const matcher::Payment& x, pb::Payment& p) {
  p.set_tenant(x.tenant.value);
  p.set_id(x.id.value);
  p.set_invoice(x.invoice.value);
  p.set_customer(x.customer.value);
  p.set_amount_minor(x.amount_minor);
  p.set_currency(x.currency);
  p.set_status(ToPb(x.status));
  p.set_event_time_ms(Ms(x.event_time));
}
absl::Status FromPb(const pb::Payment& p, matcher::Payment& x) {
  x.tenant.value = p.tenant();
  x.id.value = p.id();
  x.invoice.value = p.invoice();
  x.customer.value = p.customer();
  x.amount_minor = p.amount_minor();
  x.currency = p.currency();
  x.event_time = Time(p.event_time_ms());
  return FromPb(p.status(), x.status);
}

// ---------------------------------------------------------------------------
// Exceptions and slots.

void ToPb(const matcher::ExceptionRecord& r, pb::ExceptionRecord& p) {
  p.set_exception_id(r.exception_id);
  p.set_tenant(r.tenant.value);
  p.set_kind(ToPb(r.kind));
  p.set_state(ToPb(r.state));
  p.set_resolution(ToPb(r.resolution));
  p.set_superseded_by(r.superseded_by);
  p.set_deal(r.deal.value);
  p.set_order(r.order.value);
  p.set_invoice(r.invoice.value);
  p.set_customer(r.customer.value);
  p.set_customer_name(r.customer_name);
  p.set_owner(r.owner);
  p.set_team(r.team);
  p.set_topic(r.topic);
  p.set_severity(ToPb(r.severity));
  p.set_amount_at_risk_minor(r.amount_at_risk_minor);
  p.set_recovered_minor(r.recovered_minor);
  p.set_currency(r.currency);
  p.set_deadline_ms(Ms(r.deadline));
  p.set_opened_at_ms(Ms(r.opened_at));
  p.set_effective_at_ms(Ms(r.effective_at));
  p.set_age_days(r.age_days);
  p.set_time_weighted_loss(r.time_weighted_loss);
  p.set_confidence(r.confidence);
  p.set_reason(r.reason);
  p.set_sequence(r.sequence);
  p.set_note(r.note);
}
absl::Status FromPb(const pb::ExceptionRecord& p, matcher::ExceptionRecord& r) {
  r.exception_id = p.exception_id();
  r.tenant.value = p.tenant();
  if (auto s = FromPb(p.kind(), r.kind); !s.ok()) return s;
  if (auto s = FromPb(p.state(), r.state); !s.ok()) return s;
  if (auto s = FromPb(p.resolution(), r.resolution); !s.ok()) return s;
  r.superseded_by = p.superseded_by();
  r.deal.value = p.deal();
  r.order.value = p.order();
  r.invoice.value = p.invoice();
  r.customer.value = p.customer();
  r.customer_name = p.customer_name();
  r.owner = p.owner();
  r.team = p.team();
  r.topic = p.topic();
  if (auto s = FromPb(p.severity(), r.severity); !s.ok()) return s;
  r.amount_at_risk_minor = p.amount_at_risk_minor();
  r.recovered_minor = p.recovered_minor();
  r.currency = p.currency();
  r.deadline = Time(p.deadline_ms());
  r.opened_at = Time(p.opened_at_ms());
  r.effective_at = Time(p.effective_at_ms());
  r.age_days = p.age_days();
  r.time_weighted_loss = p.time_weighted_loss();
  r.confidence = p.confidence();
  r.reason = p.reason();
  r.sequence = p.sequence();
  r.note = p.note();
  return absl::OkStatus();
}

void ToPb(const matcher::SlotState& s, pb::SlotState& p) {
  p.set_evaluated_until_ms(Ms(s.evaluated_until));
  if (s.timer) p.set_timer_ms(Ms(*s.timer));
  if (s.open) {
    const matcher::OpenException& o = *s.open;
    pb::OpenException& po = *p.mutable_open();
    ToPb(o.last, *po.mutable_last());
    po.set_escalation_level(o.escalation_level);
    po.set_notified_level(o.notified_level);
    po.set_acknowledged(o.acknowledged);
    po.set_snoozed_until_ms(Ms(o.snoozed_until));
    if (o.progress_at_open) po.set_progress_at_open(*o.progress_at_open);
  }
  p.set_generation(s.generation);
  if (s.commands) {
    for (const std::string& c : s.commands->ids) p.add_commands(c);
  }
  if (const matcher::Dismissal* d = s.dismissal()) {
    p.set_dismissed(ToPb(d->kind));
    if (d->amount_minor) p.set_dismissed_amount_minor(*d->amount_minor);
    p.set_dismissed_currency(d->currency);
  }
}
absl::Status FromPb(const pb::SlotState& p, matcher::SlotState& s) {
  s.evaluated_until = Time(p.evaluated_until_ms());
  if (p.has_timer_ms()) s.timer = Time(p.timer_ms());
  if (p.has_open()) {
    const pb::OpenException& po = p.open();
    matcher::OpenException& o = s.open.emplace();
    if (auto st = FromPb(po.last(), o.last); !st.ok()) return st;
    o.escalation_level = po.escalation_level();
    o.notified_level = po.notified_level();
    o.acknowledged = po.acknowledged();
    o.snoozed_until = Time(po.snoozed_until_ms());
    if (po.has_progress_at_open()) o.progress_at_open = po.progress_at_open();
  }
  s.generation = p.generation();
  if (!p.commands().empty()) s.commands.emplace().ids = {p.commands().begin(), p.commands().end()};
  if (p.has_dismissed()) {
    if (!s.commands) s.commands.emplace();
    matcher::Dismissal& d = s.commands->dismissal.emplace();
    if (auto st = FromPb(p.dismissed(), d.kind); !st.ok()) return st;
    if (p.has_dismissed_amount_minor()) d.amount_minor = p.dismissed_amount_minor();
    d.currency = p.dismissed_currency();
  }
  return absl::OkStatus();
}

template <matcher::Slot F, size_t N, class Repeated>
void SlotsToPb(const matcher::Slots<F, N>& slots, Repeated& out) {
  for (matcher::Slot slot : kSlots) {
    const matcher::SlotState* s = slots.Find(slot);
    if (s == nullptr) continue;
    pb::SlotState& p = *out.Add();
    p.set_slot(ToPb(slot));
    ToPb(*s, p);
  }
}
template <matcher::Slot F, size_t N, class Repeated>
absl::Status SlotsFromPb(const Repeated& in, matcher::Slots<F, N>& slots) {
  for (const pb::SlotState& p : in) {
    matcher::Slot slot = matcher::Slot::kNotBillable;
    if (auto s = FromPb(p.slot(), slot); !s.ok()) return s;
    if (slots.Find(slot) != nullptr) {
      return absl::DataLossError("state codec: a slot is stored twice");
    }
    if (auto s = FromPb(p, slots[slot]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

template <class Doc, class PbVersions, class PbRepeats>
void HistoryToPb(const matcher::History<Doc>& history, PbVersions& versions, PbRepeats& repeats) {
  for (const Doc& d : history.versions) ToPb(d, *versions.Add());
  if (history.repeats) {
    for (matcher::EventTime t : *history.repeats) repeats.Add(Ms(t));
  }
}

template <class Doc, class PbVersions, class PbRepeats>
absl::Status HistoryFromPb(const PbVersions& versions, const PbRepeats& repeats,
                           matcher::History<Doc>& out) {
  for (const auto& p : versions) {
    if (auto s = FromPb(p, out.versions.emplace_back()); !s.ok()) return s;
  }
  size_t next = 0;  // the first version not before the repeat
  for (int64_t ms : repeats) {
    const matcher::EventTime t = Time(ms);
    while (next < out.versions.size() && out.versions[next].event_time < t) ++next;
    const bool starts_a_version = next < out.versions.size() && out.versions[next].event_time == t;
    if (next == 0 || starts_a_version || (out.repeats && t <= out.repeats->back())) {
      return absl::DataLossError("state codec: a document's repeated times are out of order");
    }
    (out.repeats ? *out.repeats : out.repeats.emplace()).push_back(t);
  }
  out.Normalize();  // a store written before repeats kept them as versions
  return absl::OkStatus();
}

template <class IdT, class Repeated>
matcher::SmallVector<IdT> IdsFromPb(const Repeated& in) {
  matcher::SmallVector<IdT> ids;
  for (const std::string& s : in) ids.push_back(IdT{s});
  return ids;
}

template <class Msg>
absl::Status Parse(std::string_view bytes, Msg& msg, const char* what) {
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(std::string("state codec: a stored ") + what + " does not parse (" +
                               std::to_string(bytes.size()) + " bytes)");
  }
  return absl::OkStatus();
}

void ToPb(const matcher::FuzzyLink& f, pb::FuzzyLink& p) {
  if (f.deal) p.set_deal(f.deal->value);
  p.set_decided(f.decided);
  p.set_looking_again(f.looking_again);
  if (f.linked_at != matcher::kMinTime) p.set_linked_at_ms(Ms(f.linked_at));
  if (f.timer) p.set_timer_ms(Ms(*f.timer));
}

matcher::FuzzyLink FromPb(const pb::FuzzyLink& p) {
  matcher::FuzzyLink f;
  if (p.has_deal()) f.deal = matcher::DealId{p.deal()};
  f.decided = p.decided();
  f.looking_again = p.looking_again();
  if (p.has_linked_at_ms()) f.linked_at = Time(p.linked_at_ms());
  if (p.has_timer_ms()) f.timer = Time(p.timer_ms());
  return f;
}

void ToPb(const matcher::DealFigures& f, pb::DealFigures& p) {
  p.set_currency(f.currency);
  p.set_closed_at_ms(Ms(f.closed_at));
  p.set_booked(f.booked);
  p.set_booked_minor(f.booked_minor);
  p.set_billed_minor(f.billed_minor);
  p.set_collected_minor(f.collected_minor);
  if (f.first_billed_at) p.set_first_billed_at_ms(Ms(*f.first_billed_at));
  if (f.first_collected_at) p.set_first_collected_at_ms(Ms(*f.first_collected_at));
}

matcher::DealFigures FromPb(const pb::DealFigures& p) {
  matcher::DealFigures f{.currency = p.currency(),
                         .closed_at = Time(p.closed_at_ms()),
                         .booked = p.booked(),
                         .booked_minor = p.booked_minor(),
                         .billed_minor = p.billed_minor(),
                         .collected_minor = p.collected_minor()};
  if (p.has_first_billed_at_ms()) f.first_billed_at = Time(p.first_billed_at_ms());
  if (p.has_first_collected_at_ms()) f.first_collected_at = Time(p.first_collected_at_ms());
  return f;
}

// The bytes of a message that `fill` builds on an arena whose first block is
// on the stack: a state's message and its strings cost no allocation each
// and are freed at once (states are encoded at every commit).
template <class Message, class Fill>
std::string OnArena(Fill&& fill) {
  alignas(16) char block[8192];
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof block;
  google::protobuf::Arena arena(options);
  Message& p = *google::protobuf::Arena::CreateMessage<Message>(&arena);
  fill(p);
  return p.SerializeAsString();
}

}  // namespace

std::string Encode(const matcher::DealState& state) {
  return OnArena<pb::DealState>([&](pb::DealState& p) {
    p.set_tenant(state.tenant.value);
    p.set_id(state.id.value);
    HistoryToPb(state.deal, *p.mutable_versions(), *p.mutable_repeats_ms());
    for (const matcher::OrderId& id : state.orders) p.add_orders(id.value);
    for (const matcher::InvoiceId& id : state.invoices) p.add_invoices(id.value);
    SlotsToPb(state.slots, *p.mutable_slots());
    if (state.figures) ToPb(*state.figures, *p.mutable_figures());
  });
}

std::string Encode(const matcher::OrderState& state) {
  return OnArena<pb::OrderState>([&](pb::OrderState& p) {
    p.set_tenant(state.tenant.value);
    p.set_id(state.id.value);
    HistoryToPb(state.order, *p.mutable_versions(), *p.mutable_repeats_ms());
    for (const matcher::InvoiceId& id : state.invoices) p.add_invoices(id.value);
    SlotsToPb(state.slots, *p.mutable_slots());
    ToPb(state.fuzzy, *p.mutable_fuzzy());
  });
}

std::string Encode(const matcher::InvoiceState& state) {
  return OnArena<pb::InvoiceState>([&](pb::InvoiceState& p) {
    p.set_tenant(state.tenant.value);
    p.set_id(state.id.value);
    HistoryToPb(state.invoice, *p.mutable_versions(), *p.mutable_repeats_ms());
    for (const auto& [id, history] : state.payments) {
      pb::PaymentHistory& ph = *p.add_payments();
      ph.set_payment(id.value);
      HistoryToPb(history, *ph.mutable_versions(), *ph.mutable_repeats_ms());
    }
    SlotsToPb(state.slots, *p.mutable_slots());
    ToPb(state.fuzzy, *p.mutable_fuzzy());
  });
}

std::string Encode(const OutboxRecord& record) {
  pb::OutboxRecord p;
  p.set_topic(record.topic);
  p.set_key(record.key);
  p.set_value(record.value);
  for (const auto& [name, value] : record.headers) {
    pb::OutboxRecord::Header& h = *p.add_headers();
    h.set_name(name);
    h.set_value(value);
  }
  if (record.partition) p.set_partition(*record.partition);
  return p.SerializeAsString();
}

absl::StatusOr<matcher::DealState> DecodeDealState(std::string_view bytes) {
  pb::DealState p;
  if (auto s = Parse(bytes, p, "deal state"); !s.ok()) return s;
  matcher::DealState state;
  state.tenant.value = p.tenant();
  state.id.value = p.id();
  if (auto s = HistoryFromPb(p.versions(), p.repeats_ms(), state.deal); !s.ok()) return s;
  state.orders = IdsFromPb<matcher::OrderId>(p.orders());
  state.invoices = IdsFromPb<matcher::InvoiceId>(p.invoices());
  if (auto s = SlotsFromPb(p.slots(), state.slots); !s.ok()) return s;
  if (p.has_figures()) state.figures = FromPb(p.figures());
  return state;
}

absl::StatusOr<matcher::OrderState> DecodeOrderState(std::string_view bytes) {
  pb::OrderState p;
  if (auto s = Parse(bytes, p, "order state"); !s.ok()) return s;
  matcher::OrderState state;
  state.tenant.value = p.tenant();
  state.id.value = p.id();
  if (auto s = HistoryFromPb(p.versions(), p.repeats_ms(), state.order); !s.ok()) return s;
  state.invoices = IdsFromPb<matcher::InvoiceId>(p.invoices());
  if (auto s = SlotsFromPb(p.slots(), state.slots); !s.ok()) return s;
  state.fuzzy = FromPb(p.fuzzy());
  return state;
}

absl::StatusOr<matcher::InvoiceState> DecodeInvoiceState(std::string_view bytes) {
  pb::InvoiceState p;
  if (auto s = Parse(bytes, p, "invoice state"); !s.ok()) return s;
  matcher::InvoiceState state;
  state.tenant.value = p.tenant();
  state.id.value = p.id();
  if (auto s = HistoryFromPb(p.versions(), p.repeats_ms(), state.invoice); !s.ok()) return s;
  for (const pb::PaymentHistory& ph : p.payments()) {
    auto [it, fresh] = state.payments.try_emplace(matcher::PaymentId{ph.payment()});
    if (!fresh) return absl::DataLossError("state codec: a payment is stored twice");
    if (auto s = HistoryFromPb(ph.versions(), ph.repeats_ms(), it->second); !s.ok()) return s;
  }
  if (auto s = SlotsFromPb(p.slots(), state.slots); !s.ok()) return s;
  state.fuzzy = FromPb(p.fuzzy());
  return state;
}

absl::StatusOr<OutboxRecord> DecodeOutboxRecord(std::string_view bytes) {
  pb::OutboxRecord p;
  if (auto s = Parse(bytes, p, "outbox record"); !s.ok()) return s;
  OutboxRecord r{.topic = p.topic(), .key = p.key(), .value = p.value()};
  for (const auto& h : p.headers()) r.headers.emplace_back(h.name(), h.value());
  if (p.has_partition()) r.partition = p.partition();
  return r;
}

}  // namespace closeloop::state
