// MISSING_INVOICE, UNDER_BILLED and OVER_BILLED: what a won deal has been
// billed against what its billing plan expects by each deadline.
#include <algorithm>
#include <limits>

#include "matcher/money.h"
#include "matcher/rules.h"

namespace closeloop::matcher {

std::vector<InvoiceId> CandidateInvoices(Session& session, const DealState& deal) {
  std::vector<InvoiceId> ids;
  ForEachCandidateInvoice(session, deal, [&](const InvoiceId& id) { ids.push_back(id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

Billed BilledAt(Session& session, const DealState& state, const Deal& deal, EventTime at) {
  Billed billed;
  ForEachBilled(session, state, deal, at, [&](const InvoiceState&, const Invoice& inv, double c) {
    billed.confidence = std::min(billed.confidence, c);
    switch (inv.kind) {
      case Invoice::Kind::kInvoice:
        billed.amount_minor += inv.amount_minor;
        ++billed.invoices;
        break;
      case Invoice::Kind::kCreditMemo:
        billed.amount_minor -= inv.amount_minor;
        break;
    }
  });
  return billed;
}

int64_t NextInstallment(const Deal& deal, const TenantRules& rules, int64_t billed_minor) {
  std::vector<BillingDeadline> plan;
  ForEachBillingDeadline(deal, rules, [&](const BillingDeadline& d) { plan.push_back(d); });
  std::stable_sort(
      plan.begin(), plan.end(),
      [](const BillingDeadline& a, const BillingDeadline& b) { return a.deadline < b.deadline; });
  int64_t due = 0;
  for (const BillingDeadline& d : plan) {
    due += d.amount_minor;
    if (due > billed_minor) return due - billed_minor;
  }
  return 0;
}

std::optional<DealFigures> FiguresOf(Session& session, const DealState& state,
                                     const TenantRules& rules) {
  const Deal* deal = state.deal.Latest();
  if (deal == nullptr) return std::nullopt;
  DealFigures f{.currency = deal->currency,
                .closed_at = deal->close_time,
                .booked = rules.IsClosedWon(deal->stage)};
  if (f.booked) f.booked_minor = deal->amount_minor;
  auto earliest = [](std::optional<EventTime>& first, std::optional<EventTime> t) {
    if (t && (!first || *t < *first)) first = t;
  };
  ForEachBilled(session, state, *deal, kMaxTime,
                [&](const InvoiceState& invoice, const Invoice& inv, double) {
                  if (inv.kind == Invoice::Kind::kCreditMemo) {
                    f.billed_minor -= inv.amount_minor;
                    return;
                  }
                  // Payments count on invoices, not on credit memos.
                  f.billed_minor += inv.amount_minor;
                  earliest(f.first_billed_at, invoice.invoice.versions.front().event_time);
                  const Collected c = CollectedAt(invoice, inv.currency, kMaxTime);
                  f.collected_minor += c.amount_minor;
                  earliest(f.first_collected_at, c.first);
                });
  return f;
}

namespace {
const Text& CustomerWords(const Deal& deal) {
  return deal.customer_name.empty() ? deal.customer.value : deal.customer_name;
}
}  // namespace

std::string NotCounted(std::string_view noun, std::string_view first_id, Money first, int64_t count,
                       std::string_view currency) {
  if (count == 1) {
    return Sentence(" ", noun, " ", first_id, " of ", first, " is not counted: it is not in ",
                    currency, ".");
  }
  return Sentence(" ", noun, " ", first_id, " and ", count - 1,
                  " more are not counted: they are not in ", currency, ".");
}

size_t SizeOf(const DealPhrase& p) {
  return 5 + p.deal.id.value.size() + 5 + CustomerWords(p.deal).size() + 9 + SizeOf(Date{}) + 5 +
         SizeOf(Money{p.deal.amount_minor, p.deal.currency});
}

void AppendTo(std::string& out, const DealPhrase& p) {
  const Deal& deal = p.deal;
  const Text& who = CustomerWords(deal);
  out += "Deal ";
  out += deal.id.value;
  if (!who.empty()) {
    out += " for ";
    out += who;
  }
  out += ", closed ";
  AppendTo(out, Date{deal.close_time});
  // A deal that states no currency states no amount (the contract allows
  // neither without the other): "for 0.00" would be an amount nobody booked.
  if (deal.currency.empty()) return;
  out += " for ";
  AppendTo(out, Money{deal.amount_minor, deal.currency});
}

Finding DealFinding(ExceptionKind kind, const Deal& deal) {
  return Finding{.kind = kind,
                 .amount_at_risk_minor = deal.amount_minor,
                 .currency = deal.currency,
                 .deal = deal.id.value,
                 .customer = deal.customer.value,
                 .customer_name = deal.customer_name,
                 .owner = deal.owner};
}

namespace {

// What the billing rule finds at `at`, in figures only: EvaluateBilling
// builds the finding from it, BillingFinds only asks whether there is one.
struct BillingCheck {
  const Deal* deal = nullptr;  // the version at `at`; nullptr: none yet
  bool won = false;
  bool lost = false;                  // in one of the tenant's lost stages
  std::optional<ExceptionKind> kind;  // nothing found: nullopt
  int64_t at_risk_minor = 0;
  int64_t expected_minor = 0;  // due by `last_deadline`
  EventTime last_deadline = kMinTime;
  Billed billed;
};

BillingCheck CheckBilling(Session& session, const DealState& state, const TenantRules& rules,
                          EventTime at) {
  BillingCheck c{.deal = state.deal.AsOf(at)};
  if (c.deal == nullptr) return c;
  c.won = rules.IsClosedWon(c.deal->stage);
  c.lost = !c.won && rules.IsLost(c.deal->stage);
  if (!c.won && !c.lost) return c;  // not decided (reopened, still open): nothing is checked
  // A lost deal books nothing and expects nothing more, but what was billed
  // on it is billed beyond what is booked: OVER_BILLED until credited.
  const int64_t booked = c.won ? c.deal->amount_minor : 0;
  if (c.won) {
    ForEachBillingDeadline(*c.deal, rules, [&](const BillingDeadline& d) {
      if (d.deadline > at) return;
      c.expected_minor += d.amount_minor;
      c.last_deadline = std::max(c.last_deadline, d.deadline);
    });
  }
  c.billed = BilledAt(session, state, *c.deal, at);
  const int64_t over = c.billed.amount_minor - booked;
  const int64_t short_by = c.expected_minor - c.billed.amount_minor;
  if (over > rules.Tolerance(booked, c.deal->currency)) {
    c.kind = ExceptionKind::kOverBilled;
    c.at_risk_minor = over;
  } else if (c.expected_minor == 0 ||
             short_by <= rules.Tolerance(c.expected_minor, c.deal->currency)) {
    // Nothing is due yet (or, lost, ever), or billing is within tolerance of
    // what is due, nothing billed included, as UNPAID counts an invoice paid
    // within tolerance of its amount, nothing paid included.
  } else if (c.billed.amount_minor <= 0) {
    c.kind = ExceptionKind::kMissingInvoice;
    c.at_risk_minor = c.expected_minor;
  } else {
    c.kind = ExceptionKind::kUnderBilled;
    c.at_risk_minor = short_by;
  }
  return c;
}

// The sentence for what CheckBilling found at `at`.
std::string BillingReason(const BillingCheck& c, EventTime at) {
  const Deal& deal = *c.deal;
  const Money billed{c.billed.amount_minor, deal.currency};
  const Money expected{c.expected_minor, deal.currency};
  const Money at_risk{c.at_risk_minor, deal.currency};
  switch (*c.kind) {
    case ExceptionKind::kOverBilled:
      if (c.lost) {
        return Sentence(DealPhrase{deal}, ", is now \"", deal.stage, "\" but has been billed ",
                        billed, "; credit or void what was billed.");
      }
      return Sentence(DealPhrase{deal}, ", has been billed ", billed, ", ", at_risk,
                      " more than booked; review and credit the excess.");
    case ExceptionKind::kMissingInvoice: {
      // A milestone may fall due before a close date still ahead: no days
      // since a close that has not come.
      const int64_t days = DaysBetween(deal.close_time, at);
      if (days < 0) {
        return Sentence(DealPhrase{deal}, ", has no invoice; ", expected,
                        " was due to be billed by ", Date{c.last_deadline}, ".");
      }
      return Sentence(DealPhrase{deal}, ", has no invoice ", days, " days later; ", expected,
                      " was due to be billed by ", Date{c.last_deadline}, ".");
    }
    default:  // kUnderBilled
      return Sentence(DealPhrase{deal}, ", has been billed ", billed, " of the ", expected,
                      " due by ", Date{c.last_deadline}, "; ", at_risk, " is not billed.");
  }
}

// For a MISSING_INVOICE or UNDER_BILLED reason: the invoices linked to the
// deal at `at` in another currency than its own, which bill nothing of it, so
// that nobody who finds one takes the exception for a false alarm ("" when
// there are none). Named by the smallest id: the same whatever the order.
std::string OtherCurrencyInvoices(Session& session, const DealState& state, const Deal& deal,
                                  EventTime at) {
  const Invoice* first = nullptr;
  int64_t count = 0;
  ForEachLinked(session, state, nullptr, at, [&](const InvoiceState&, const Invoice& inv, double) {
    if (inv.kind != Invoice::Kind::kInvoice || inv.currency == deal.currency) return;
    if (first == nullptr || inv.id < first->id) first = &inv;
    ++count;
  });
  if (first == nullptr) return "";
  return NotCounted("Invoice", first->id.value, Money{first->amount_minor, first->currency}, count,
                    deal.currency);
}

}  // namespace

Verdict EvaluateBilling(Session& session, const DealState& state, const TenantRules& rules,
                        EventTime at, Words words) {
  const BillingCheck c = CheckBilling(session, state, rules, at);
  if (c.deal == nullptr) return {};
  // A lost deal goes on below: with nothing billed, an open MISSING_INVOICE
  // resolves WITHDRAWN through its unchanged progress (Lifecycle); anything
  // billed is OVER_BILLED (superseding an UNDER_BILLED), RECOVERED once
  // credited.
  if (!c.won && !c.lost) return {.withdrawn = true};
  // Progress is billing above zero: credit memos beyond what was billed
  // put nothing at risk beyond what is due (MISSING_INVOICE), so an invoice
  // filling that hole recovers nothing
  // (credit_memo_beyond_billed_recovers_only_net_billing.scenario).
  const int64_t billed = std::max<int64_t>(0, c.billed.amount_minor);
  if (!c.kind) {
    return {.progress_minor = billed,
            .progress_currency = c.deal->currency,
            .resolved_confidence = c.billed.confidence};
  }
  const Deal& deal = *c.deal;
  Finding f = DealFinding(*c.kind, deal);
  f.amount_at_risk_minor = c.at_risk_minor;
  f.deadline = *c.kind == ExceptionKind::kOverBilled ? at : c.last_deadline;
  f.confidence = c.billed.confidence;
  if (words == Words::kWith) {
    f.reason = BillingReason(c, at);
    if (*c.kind != ExceptionKind::kOverBilled) {
      f.reason += OtherCurrencyInvoices(session, state, deal, at);
    }
  }
  return {.finding = std::move(f), .progress_minor = billed, .progress_currency = deal.currency};
}

bool BillingFinds(Session& session, const DealState& state, const TenantRules& rules,
                  EventTime at) {
  return CheckBilling(session, state, rules, at).kind.has_value();
}

namespace {

// Whether `v`, an invoice version candidate to the deal, is linked to it at
// every event time from `from` on, whatever else arrives short of a new
// version of the documents it reads: it names the deal, or an order every
// version of which names the deal and which was known by `from`. A fuzzy
// link is never sure.
bool SurelyLinked(Session& session, const DealState& state, const Invoice& v, EventTime from) {
  if (!v.deal.empty()) return v.deal == state.id;
  if (v.order.empty()) return false;
  const auto& orders = session.Order(state.tenant, v.order).order.versions;
  if (orders.empty() || orders.front().event_time > from) return false;
  return std::all_of(orders.begin(), orders.end(),
                     [&](const Order& o) { return o.deal == state.id; });
}

}  // namespace

EventTime BillingQuietUntil(Session& session, const DealState& state, const TenantRules& rules) {
  // UNDER_BILLED and MISSING_INVOICE wait for a won version's deadline, and
  // never come while what is surely billed from the first deadline on
  // covers the most a won version expects (below). OVER_BILLED needs more
  // billed than booked: not before the first invoice, and never while the
  // largest amount each invoice has stated, added up, stays within
  // tolerance of every version of the deal, of nothing for a lost version
  // (credit memos, voids, other currencies and links elsewhere only lower
  // what is billed).
  EventTime first_deadline = kMaxTime;  // of any version
  EventTime first_won_deadline = kMaxTime;
  int64_t most_expected = 0;  // by a won version, its plan's amounts above nothing added up
  int64_t least_allowed = std::numeric_limits<int64_t>::max();  // booked plus tolerance
  // The deal's currency when every version states the same; else nullptr.
  const Text* currency = state.deal.versions.empty() ? nullptr : &state.deal.versions[0].currency;
  for (const Deal& version : state.deal.versions) {
    if (version.amount_minor < 0) return kMinTime;
    if (currency != nullptr && !(version.currency == *currency)) currency = nullptr;
    const bool won = rules.IsClosedWon(version.stage);
    int64_t expected = 0;
    ForEachBillingDeadline(version, rules, [&](const BillingDeadline& d) {
      first_deadline = std::min(first_deadline, d.deadline);
      if (!won) return;
      first_won_deadline = std::min(first_won_deadline, d.deadline);
      expected += std::max<int64_t>(0, d.amount_minor);
    });
    most_expected = std::max(most_expected, expected);
    const int64_t booked = !won && rules.IsLost(version.stage) ? 0 : version.amount_minor;
    int64_t allowed = 0;
    if (__builtin_add_overflow(booked, rules.Tolerance(booked, version.currency), &allowed)) {
      allowed = std::numeric_limits<int64_t>::max();
    }
    least_allowed = std::min(least_allowed, allowed);
  }
  // A lower bound of what is billed at any time from the first deadline on:
  // each invoice sure to count then, at the least amount it has stated,
  // less each credit memo at the most it has stated (any other invoice
  // counts nothing or more).
  EventTime first_invoice = kMaxTime;
  int64_t most_billed = 0;
  int64_t surely_billed = 0;
  ForEachCandidateInvoice(session, state, [&](const InvoiceId& id) {
    const auto& versions = session.Invoice(state.tenant, id).invoice.versions;
    if (versions.empty()) return;
    first_invoice = std::min(first_invoice, versions.front().event_time);
    bool sure = currency != nullptr && versions.front().event_time <= first_deadline;
    int64_t most = 0;
    int64_t least = std::numeric_limits<int64_t>::max();
    int64_t most_credit = 0;
    for (const Invoice& v : versions) {
      if (v.kind == Invoice::Kind::kInvoice) {
        most = std::max(most, v.amount_minor);
        least = std::min(least, v.amount_minor);
      } else {
        most_credit = std::max(most_credit, v.amount_minor);
        sure = false;
      }
      sure = sure && v.status == Invoice::Status::kIssued && v.currency == *currency &&
             SurelyLinked(session, state, v, first_deadline);
    }
    most_billed += most;
    surely_billed += sure ? std::max<int64_t>(0, least) : -most_credit;
  });
  EventTime quiet = kMaxTime;
  if (surely_billed < most_expected) quiet = first_won_deadline;
  if (most_billed > least_allowed) quiet = std::min(quiet, first_invoice);
  return quiet;
}

void BillingChangePoints(Session& session, const DealState& state, const TenantRules& rules,
                         std::vector<EventTime>& points) {
  for (const Deal& version : state.deal.versions) {
    points.push_back(version.event_time);
    ForEachBillingDeadline(version, rules,
                           [&](const BillingDeadline& d) { points.push_back(d.deadline); });
  }
  for (const OrderId& id : state.orders) {
    AddDocumentPoints(session.Order(state.tenant, id), points);
  }
  ForEachCandidateInvoice(session, state, [&](const InvoiceId& id) {
    AddDocumentPoints(session.Invoice(state.tenant, id), points);
  });
}

}  // namespace closeloop::matcher
