// The engine's core loop: drives one slot of one subject through event time,
// asking the slot's rule what should be open at each point where the answer
// can change and turning the differences into lifecycle records
// (lifecycle.cc), then setting the slot's timer at its next such point.
// Internal to the matcher; one per Engine call, sharing the call's Session.
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "matcher/lifecycle.h"
#include "matcher/rules.h"
#include "matcher/session.h"
#include "matcher/store.h"
#include "matcher/tenant.h"
#include "matcher/watermarks.h"

namespace closeloop::matcher {

class SlotDriver {
 public:
  struct Buffers;
  // `quiet_bounds` false: every rule's quiet-until bound is taken as
  // kMinTime (EngineOptions).
  SlotDriver(const TenantDirectory& tenants, Store& store, Session& session,
             const WatermarkSet& watermarks, std::vector<ExceptionRecord>& out, Buffers& buffers,
             bool quiet_bounds)
      : tenants_(tenants),
        store_(store),
        session_(session),
        watermarks_(watermarks),
        out_(out),
        buffers_(buffers),
        quiet_bounds_(quiet_bounds) {}

  // The tenant's rules. The last few tenants asked are remembered across
  // calls (Buffers): rules are asked for at every slot a call drives, and a
  // directory lookup per call and tenant cost 1.8% of the matcher's
  // instructions (bench/README.md, "Timers, slots and rules").
  const TenantRules& Rules(const TenantId& tenant) {
    auto& known = buffers_.known_rules;
    for (size_t i = 0; i < buffers_.known; ++i) {
      if (tenant.value == known[i].first) return *known[i].second;
    }
    auto& [name, rules] = known[buffers_.known < known.size() ? buffers_.known++ : 0];
    name = tenant.value;
    rules = &tenants_.For(tenant);
    return *rules;
  }

  // Where a slot's answer can change as far as its subject's documents go:
  // the rule's change points (sorted) and its quiet-until bound. Evaluating
  // and re-arming the slot change neither, nor does a command (it changes
  // only the slot's lifecycle), so a catch-up and the re-arm after it share
  // one computation; a document changes them, so each document computes them
  // anew.
  struct RulePoints {
    std::vector<EventTime> points;
    EventTime quiet = kMinTime;
    const TenantRules* rules = nullptr;  // the subject's tenant's, looked up once
  };
  // Scratch space the driver's callers keep across calls, so that the
  // vectors grow once and not at every document.
  struct Buffers {
    RulePoints rule_points;                    // PointsOf's
    std::vector<EventTime> escalation_points;  // NextPoint's
    // Rules' answers: tenants and where their rules are in the directory,
    // which does not change while the engine lives.
    std::array<std::pair<Text, const TenantRules*>, 4> known_rules;
    size_t known = 0;
  };
  // `rules` are the subject's tenant's (Rules).
  template <class State>
  const RulePoints& PointsOf(const State& state, Slot slot, const TenantRules& rules) {
    RulePoints& rp = buffers_.rule_points;
    rp.rules = &rules;
    rp.points.clear();
    rp.quiet = quiet_bounds_ ? QuietUntil(state, slot, rules) : kMinTime;
    // With nothing open or dismissed, NextPoint skips every point before the
    // quiet-until bound, and no evaluation before it can open anything: a
    // rule quiet for good needs no points.
    if (rp.quiet == kMaxTime && NothingOpenOrDismissed(state.slots.Find(slot))) return rp;
    Points(state, slot, rules, rp.points);
    std::sort(rp.points.begin(), rp.points.end());
    return rp;
  }

  // Evaluates the slot at every change point up to its sources' watermark.
  // A slot evaluated that far already has nothing to do, and its points are
  // not computed: documents mostly arrive ahead of the watermarks. Nor are
  // they for a slot whose timer is not due: Rearm set the timer at the first
  // point after evaluated_until where evaluating can change anything, and
  // every document that could have moved that point since has settled the
  // slot again, so evaluating up to the watermark would change nothing.
  template <class State>
  void CatchUpSlot(State& state, Slot slot) {
    SlotState& ss = state.slots[slot];
    const EventTime as_of = watermarks_.AsOf(DepsOf(slot));
    if (ss.evaluated_until >= as_of) return;
    if (!ss.timer || *ss.timer > as_of) {
      ss.evaluated_until = as_of;
      return;
    }
    CatchUpSlot(state, slot, PointsOf(state, slot, Rules(state.tenant)));
  }
  template <class State>
  void CatchUpSlot(State& state, Slot slot, const RulePoints& rp) {
    SlotState& ss = state.slots[slot];
    const EventTime as_of = watermarks_.AsOf(DepsOf(slot));
    while (true) {
      std::optional<EventTime> next = NextPoint(state, slot, ss.evaluated_until, rp);
      if (!next || *next > as_of) break;
      Step(state, slot, *next, *rp.rules);
      ss.evaluated_until = *next;
    }
    ss.evaluated_until = std::max(ss.evaluated_until, as_of);
  }

  // After a document changed the subject: a document at or before what was
  // already evaluated is late. Where the slot has published nothing yet there
  // is no history to contradict, so it is evaluated from the document's event
  // time as a replay would; otherwise the document counts from now and does
  // not rewrite what was published. Then catch up and re-arm.
  template <class State>
  void SettleSlot(State& state, Slot slot, EventTime doc_time, const TenantRules& rules) {
    SlotState& ss = state.slots[slot];
    if (doc_time <= ss.evaluated_until) {
      if (ss.generation == 0) {
        ss.evaluated_until = doc_time - Duration(1);
      } else {
        Step(state, slot, ss.evaluated_until, rules);
      }
    }
    CatchUpAndRearm(state, slot, rules);
  }

  // After the tenant's rules changed between runs (Engine::Resettle): a slot
  // that has published nothing is evaluated from the start under the rules
  // as they are now, as a rebuild of the state would; one that has is
  // evaluated where it stands (an open exception they no longer find is
  // withdrawn) and goes on under them. Then catch up and re-arm. A slot
  // whose timer is not due stands at its sources' watermark, however long
  // ago it was last evaluated (CatchUpSlot).
  template <class State>
  void Resettle(State& state, Slot slot, const TenantRules& rules) {
    SlotState& ss = state.slots[slot];
    if (ss.generation == 0) {
      ss.evaluated_until = kMinTime;
    } else {
      const EventTime as_of = watermarks_.AsOf(DepsOf(slot));
      if (!ss.timer || *ss.timer > as_of) ss.evaluated_until = std::max(ss.evaluated_until, as_of);
      Verdict verdict = Evaluate(state, slot, ss.evaluated_until, Words::kWith, rules);
      verdict.rules_changed = true;
      Lifecycle{rules, out_}.Transition(ss, state.tenant, state.id.value, verdict,
                                        ss.evaluated_until,
                                        [&verdict] { return verdict.finding->reason; });
    }
    CatchUpAndRearm(state, slot, rules);
  }

  template <class State>
  void CatchUpAndRearm(State& state, Slot slot, const TenantRules& rules) {
    const RulePoints& rp = PointsOf(state, slot, rules);
    CatchUpSlot(state, slot, rp);
    Rearm(state, slot, rp);
  }

  // With nothing open or dismissed in a slot, a point where the rule finds
  // nothing changes nothing (Lifecycle::Transition), so Rearm skips such
  // points, judged on the documents known now, and sets no timer when every
  // point is one. That is safe because a document that changes the rule's
  // answer at any point settles the slot again (the engine's targets), which
  // computes the points and looks ahead anew. Most timers would otherwise
  // fire for nothing (an order that has its deal, an invoice on the
  // deal's terms, a deal billed as booked, an invoice paid before it is due).
  // UNPAID kept its timers until its look-ahead was counted: 1.7% fewer
  // instructions (bench/README.md, "Fewer timers" and "Timers, slots and
  // rules").
  template <class State>
  void Rearm(State& state, Slot slot, const RulePoints& rp) {
    SlotState& ss = state.slots[slot];
    std::optional<EventTime> next = NextPoint(state, slot, ss.evaluated_until, rp);
    if (NothingOpenOrDismissed(&ss)) {
      while (next && !Finds(state, slot, *next, *rp.rules)) {
        next = NextPoint(state, slot, *next, rp);
      }
    }
    if (next == ss.timer) return;
    if (ss.timer) store_.RemoveTimer({slot, *ss.timer, state.tenant.value, state.id.value});
    if (next) store_.AddTimer({slot, *next, state.tenant.value, state.id.value});
    ss.timer = next;
  }

 private:
  // The slot's rule, by subject type: its verdict at `at`, its change points
  // and its quiet-until bound (rules.h).
  // `rules` are the subject's tenant's.
  Verdict Evaluate(const DealState& state, Slot slot, EventTime at, Words words,
                   const TenantRules& rules);
  Verdict Evaluate(const InvoiceState& state, Slot slot, EventTime at, Words words,
                   const TenantRules& rules);
  Verdict Evaluate(const OrderState& state, Slot slot, EventTime at, Words words,
                   const TenantRules& rules);
  void Points(const DealState& state, Slot slot, const TenantRules& rules,
              std::vector<EventTime>& points);
  void Points(const InvoiceState& state, Slot slot, const TenantRules& rules,
              std::vector<EventTime>& points);
  void Points(const OrderState& state, Slot slot, const TenantRules& rules,
              std::vector<EventTime>& points);
  EventTime QuietUntil(const DealState& state, Slot slot, const TenantRules& rules);
  EventTime QuietUntil(const InvoiceState& state, Slot slot, const TenantRules& rules);
  EventTime QuietUntil(const OrderState& state, Slot slot, const TenantRules& rules);

  // Whether the rule finds anything at `at`, without composing its words; the
  // billing rule, the one most often asked, without building a finding.
  bool Finds(const DealState& state, Slot slot, EventTime at, const TenantRules& rules);
  bool Finds(const auto& state, Slot slot, EventTime at, const TenantRules& rules) {
    return Evaluate(state, slot, at, Words::kWithout, rules).finding.has_value();
  }

  // Whether the slot (nullptr: never used) has nothing open or dismissed:
  // then a point where the rule finds nothing changes nothing
  // (Lifecycle::Transition), and points before the quiet-until bound none.
  static bool NothingOpenOrDismissed(const SlotState* ss) {
    return ss == nullptr || (!ss->open && ss->dismissal() == nullptr);
  }

  // The first event time after `after` at which the slot's answer can change:
  // a point of the rule or, with an exception open, an escalation age. With
  // nothing open or dismissed in the slot, points before the rule's
  // quiet-until bound are skipped: evaluating there changes nothing.
  template <class State>
  std::optional<EventTime> NextPoint(const State& state, Slot slot, EventTime after,
                                     const RulePoints& rp) {
    std::optional<EventTime> next;
    const SlotState* ss = state.slots.Find(slot);
    if (ss != nullptr && ss->open) {
      std::vector<EventTime>& escalation = buffers_.escalation_points;
      escalation.clear();
      EscalationPoints(*ss->open, *rp.rules, escalation);
      for (EventTime p : escalation) {
        if (p > after && (!next || p < *next)) next = p;
      }
    } else if (NothingOpenOrDismissed(ss) && rp.quiet > after) {
      after = rp.quiet - Duration(1);
    }
    const auto it = std::upper_bound(rp.points.begin(), rp.points.end(), after);
    if (it != rp.points.end() && (!next || *it < *next)) next = *it;
    return next;
  }

  template <class State>
  void Step(State& state, Slot slot, EventTime at, const TenantRules& rules) {
    Lifecycle lifecycle{rules, out_};
    SlotState& ss = state.slots[slot];
    if (lifecycle.RecordsAnyFinding(ss, at)) {
      // A timer fires where the rule finds something (Rearm): mostly here.
      Verdict verdict = Evaluate(state, slot, at, Words::kWith, rules);
      lifecycle.Transition(ss, state.tenant, state.id.value, verdict, at,
                           [&verdict] { return std::move(verdict.finding->reason); });
      return;
    }
    // Otherwise the reason is composed again, with words, only for a record.
    // The lambda holds one pointer, so std::function keeps it without
    // allocating.
    struct {
      SlotDriver* driver;
      const State* subject;
      Slot slot;
      EventTime at;
      const TenantRules* rules;
    } step{this, &state, slot, at, &rules};
    lifecycle.Transition(ss, state.tenant, state.id.value,
                         Evaluate(state, slot, at, Words::kWithout, rules), at, [&step] {
                           const Verdict v = step.driver->Evaluate(
                               *step.subject, step.slot, step.at, Words::kWith, *step.rules);
                           return v.finding->reason;
                         });
  }

  const TenantDirectory& tenants_;
  Store& store_;
  Session& session_;
  const WatermarkSet& watermarks_;
  std::vector<ExceptionRecord>& out_;
  Buffers& buffers_;
  const bool quiet_bounds_;
};

}  // namespace closeloop::matcher
