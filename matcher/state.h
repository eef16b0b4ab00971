// What the matcher remembers per subject (deal, order, invoice): every version
// of its documents, the references pointing at it, and one slot per rule
// family with its open exception and progress in event time. Plain values.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "matcher/figures.h"
#include "matcher/history.h"
#include "matcher/small_vector.h"
#include "matcher/types.h"

namespace closeloop::matcher {

// A rule family: the rules that share one exception slot on one subject and
// wait for the same sources. At most one exception per slot is open at a time.
enum class Slot : uint8_t {
  kNotBillable,    // deal: NOT_BILLABLE
  kMissingOrder,   // deal: MISSING_ORDER
  kBilling,        // deal: MISSING_INVOICE | UNDER_BILLED | OVER_BILLED
  kTerms,          // invoice: TERMS_MISMATCH
  kUnpaid,         // invoice: UNPAID
  kOrphanInvoice,  // invoice: ORPHAN_INVOICE
  kOrphanOrder,    // order: ORPHAN_ORDER
  // Not exception slots: the timers that decide a fuzzy link for an invoice
  // without references (kFuzzyLink) or an order without a deal reference
  // (kOrderFuzzyLink) once every source it reads has passed it.
  kFuzzyLink,
  kOrderFuzzyLink,
};

// Each subject's exception slots are consecutive (Slots relies on it).
static_assert(static_cast<int>(Slot::kBilling) - static_cast<int>(Slot::kNotBillable) == 2);
static_assert(static_cast<int>(Slot::kOrphanInvoice) - static_cast<int>(Slot::kTerms) == 2);

enum class SubjectType { kDeal, kOrder, kInvoice };
SubjectType SubjectOf(Slot slot);
// The slot in which exceptions of `kind` live.
Slot SlotOf(ExceptionKind kind);

// A bit per Source.
using SourceSet = unsigned;
constexpr SourceSet Bit(Source s) { return 1u << static_cast<unsigned>(s); }
// The sources whose watermarks a slot waits for before it evaluates. Inline:
// asked at every slot a call touches (0.8% of the matcher's instructions as a
// call).
constexpr SourceSet DepsOf(Slot slot) {
  const SourceSet crm = Bit(Source::kCrm), erp = Bit(Source::kErp), billing = Bit(Source::kBilling),
                  payments = Bit(Source::kPayments);
  switch (slot) {
    case Slot::kNotBillable:  // orders carry invoices to the deal
    // An order without a deal reference is linked fuzzily on the deal's
    // unbilled remainder (kOrderFuzzyLink): whether a deal has its order, and
    // an order its deal, waits for billing too, or a lagging billing feed
    // would raise both before the link is decided.
    case Slot::kMissingOrder:
    case Slot::kOrphanOrder:
    case Slot::kBilling:
    case Slot::kTerms:
    case Slot::kOrphanInvoice:
    case Slot::kFuzzyLink:
    case Slot::kOrderFuzzyLink:
      return crm | erp | billing;
    case Slot::kUnpaid:  // orders say which deal's credit memos an invoice shares
      return erp | billing | payments;
  }
  return crm | erp | billing | payments;
}

// The exception currently open in a slot.
struct OpenException {
  ExceptionRecord last;                     // the last record emitted for it, without its reason
  int escalation_level = 0;                 // escalation ages passed so far
  int notified_level = 0;                   // the level the last ESCALATED record announced
  bool acknowledged = false;                // ACK: no more escalation records
  EventTime snoozed_until = kMinTime;       // SNOOZE: none before this
  std::optional<int64_t> progress_at_open;  // Verdict::progress_minor when it opened
  bool operator==(const OpenException&) const = default;
};

// What a person dismissed in a slot: that problem is not raised again while
// it persists, in the same currency and no larger than it was. More at
// risk (a later milestone or period unbilled, the deal grown) is a new
// problem, raised as a new exception.
struct Dismissal {
  ExceptionKind kind = ExceptionKind::kNotBillable;
  // At risk when dismissed, in `currency`. nullopt in a store written before
  // they were kept: any amount in any currency, as that build did.
  std::optional<int64_t> amount_minor;
  std::string currency;
  // Whether a finding is the problem dismissed, or less of it.
  bool Covers(ExceptionKind k, int64_t amount, std::string_view c) const {
    return Problem(k) == Problem(kind) &&
           (!amount_minor || (c == currency && amount <= *amount_minor));
  }
  // Whether a finding is the problem dismissed grown larger.
  bool GrewTo(ExceptionKind k, int64_t amount, std::string_view c) const {
    return Problem(k) == Problem(kind) && amount_minor && c == currency && amount > *amount_minor;
  }
  // MISSING_INVOICE is UNDER_BILLED with nothing billed yet: one problem,
  // billed short, whose amount at risk is measured alike (expected less
  // billed). A dismissed one billed in part is less of it, not a new one.
  static ExceptionKind Problem(ExceptionKind k) {
    return k == ExceptionKind::kMissingInvoice ? ExceptionKind::kUnderBilled : k;
  }
  bool operator==(const Dismissal&) const = default;
};

// What people did to a slot's exceptions (SPEC §5 commands).
struct Commands {
  std::vector<std::string> ids;  // of the commands applied: each applies once
  std::optional<Dismissal> dismissal;
  bool operator==(const Commands&) const = default;
};

struct SlotState {
  // The slot has been evaluated for every event time up to here.
  EventTime evaluated_until = kMinTime;
  // Where the slot's timer is set, if anywhere.
  std::optional<EventTime> timer;
  HeapOptional<OpenException> open;
  // Exceptions opened in this slot so far; part of the exception id.
  uint32_t generation = 0;
  // On the heap: most slots never see a command.
  HeapOptional<Commands> commands;
  const Dismissal* dismissal() const {
    return commands && commands->dismissal ? &*commands->dismissal : nullptr;
  }
  bool operator==(const SlotState&) const = default;
};

// The slots a subject has used, by rule family. A subject's own slots (`N`
// of them from `First`: a deal's three, an invoice's three, an order's one)
// live inside its state at fixed places, so touching them costs neither a
// search nor a further cache miss (bench/README.md, "Timers, slots and
// rules"). Any other slot (only a stored state can carry one) goes to the
// heap.
template <Slot First, size_t N>
class Slots {
 public:
  // The slot's state, created empty on first use.
  SlotState& operator[](Slot slot) {
    if (const size_t i = PlaceOf(slot); i < N) [[likely]] {
      used_ |= 1u << i;
      return states_[i];
    }
    return Other(slot);
  }
  // nullptr when the slot was never used.
  const SlotState* Find(Slot slot) const { return Lookup(*this, slot); }
  bool operator==(const Slots&) const = default;

 private:
  static size_t PlaceOf(Slot slot) {
    return static_cast<size_t>(slot) - static_cast<size_t>(First);  // wraps below First
  }
  // A slot not of the subject's own (only a stored state can carry one): out
  // of line, so that operator[] inlines.
  [[gnu::noinline]] SlotState& Other(Slot slot) {
    if (SlotState* found = Lookup(*this, slot)) return *found;
    if (!more_) more_.emplace();
    return more_->emplace_back(slot, SlotState{}).second;
  }
  // Find for a const or a mutable Slots.
  template <class Self>
  static auto* Lookup(Self& self, Slot slot) {
    using Found = decltype(&self.states_[0]);
    if (const size_t i = PlaceOf(slot); i < N) {
      return self.used_ & (1u << i) ? &self.states_[i] : static_cast<Found>(nullptr);
    }
    if (self.more_) {
      for (auto& [s, state] : *self.more_) {
        if (s == slot) return &state;
      }
    }
    return static_cast<Found>(nullptr);
  }

  std::array<SlotState, N> states_{};  // unused ones stay empty
  uint8_t used_ = 0;                   // a bit per place
  HeapOptional<std::vector<std::pair<Slot, SlotState>>> more_;
};

// A map kept as a vector sorted by key, with std::map's interface as far as
// the matcher uses it. An invoice has one or two payments: a tree node per
// payment cost an allocation and a cache line of its own. Inserting moves
// the later entries, which is cheap at that size; references last until the
// next insert.
template <class K, class V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  // The entry under `key`, inserted with an empty value when absent; the flag
  // says whether it was inserted.
  std::pair<iterator, bool> try_emplace(const K& key) {
    auto it = std::lower_bound(items_.begin(), items_.end(), key,
                               [](const value_type& e, const K& k) { return e.first < k; });
    if (it != items_.end() && it->first == key) return {it, false};
    return {items_.insert(it, value_type{key, V{}}), true};
  }
  V& operator[](const K& key) { return try_emplace(key).first->second; }
  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool operator==(const FlatMap&) const = default;

 private:
  std::vector<value_type> items_;  // sorted by key, keys unique
};

// A fuzzy link (SPEC §5 "Linking") of a document without a usable reference:
// looked for at the document's first event time and, if that finds no deal,
// once more at its orphan deadline, each when the sources it reads have
// passed it; decided at the look that links it or at the second.
struct FuzzyLink {
  std::optional<DealId> deal;  // the deal it was linked to, if any
  bool decided = false;        // decided (linked or not); never again
  // The first look found no deal: `timer` is the second and last, at the
  // document's orphan deadline (a deal marked won after it was billed).
  bool looking_again = false;
  // The link holds for evaluations from this event time on: kMinTime for one
  // made at the first look, the second look's time for one made then, so
  // that what was evaluated before it stays as it was in every interleaving.
  EventTime linked_at = kMinTime;
  std::optional<EventTime> timer;  // where its decision timer is set
  bool operator==(const FuzzyLink&) const = default;
};

struct DealState {
  TenantId tenant;
  DealId id;
  History<Deal> deal;
  SmallVector<OrderId> orders;      // orders that ever referenced this deal, in id order
  SmallVector<InvoiceId> invoices;  // invoices that ever referenced it directly, in id order
  Slots<Slot::kNotBillable, 3> slots;
  // The books figures last reported for the deal (Engine::TakeFiguresChanges);
  // nullopt until first reported.
  std::optional<DealFigures> figures;
  bool operator==(const DealState&) const = default;
};

struct OrderState {
  TenantId tenant;
  OrderId id;
  History<Order> order;
  SmallVector<InvoiceId> invoices;  // invoices that ever referenced this order, in id order
  Slots<Slot::kOrphanOrder, 1> slots;
  // The deal linked by fuzzy matching when the order names none.
  FuzzyLink fuzzy;
  bool operator==(const OrderState&) const = default;
};

struct InvoiceState {
  TenantId tenant;
  InvoiceId id;
  History<Invoice> invoice;
  FlatMap<PaymentId, History<Payment>> payments;
  Slots<Slot::kTerms, 3> slots;
  // The deal linked by fuzzy matching when the invoice has no reference.
  FuzzyLink fuzzy;
  bool operator==(const InvoiceState&) const = default;
};

// True for a state that holds nothing beyond its key, as a Store creates it.
// A state with a version of its own document is not (the common case, decided
// without building an empty state to compare with).
inline bool HasDocument(const DealState& s) { return !s.deal.versions.empty(); }
inline bool HasDocument(const OrderState& s) { return !s.order.versions.empty(); }
inline bool HasDocument(const InvoiceState& s) { return !s.invoice.versions.empty(); }
template <class State>
bool IsEmpty(const State& state) {
  if (HasDocument(state)) return false;
  State fresh;
  fresh.tenant = state.tenant;
  fresh.id = state.id;
  return state == fresh;
}

// After `payment` was put in `named`, the history of the invoice it names,
// when its previous version named `other_id` (history `other`): each invoice
// the payment named keeps a version per version of the payment, its own or
// a kMoved copy where a version named another invoice. Then each counts the
// payment exactly while its latest version names it, whatever order the
// versions came in.
inline void MirrorMove(const Payment& payment, History<Payment>& named, const InvoiceId& other_id,
                       History<Payment>& other) {
  auto moved = [](const Payment& version, const InvoiceId& kept_by) {
    Payment copy = version;
    copy.invoice = kept_by;
    copy.status = Payment::Status::kMoved;
    return copy;
  };
  other.Put(moved(payment, other_id));
  other.ForEachSent([&](const Payment& version, EventTime t) {
    if (version.status == Payment::Status::kMoved) return;
    Payment copy = moved(version, payment.invoice);
    copy.event_time = t;
    named.Put(copy);
  });
}

// Adds `id` to a sorted list of ids if absent.
template <class IdT>
void InsertSorted(SmallVector<IdT>& ids, const IdT& id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || !(*it == id)) ids.insert(it, id);
}

}  // namespace closeloop::matcher
