// A document's versions in event time (History), and how a deal sent without
// close_time is dated by them (PutDeal). Plain values.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "matcher/heap_optional.h"
#include "matcher/types.h"

namespace closeloop::matcher {

// Versions of one document, ordered by event time. A document's value at an
// event time is its latest version at or before it.
//
// A CDC feed re-sends a document whenever its row is touched, often with
// every field the matcher reads unchanged: a version equal to the one before
// it but for its event time. Such a version is kept as its time alone, in
// `repeats`, and `versions` holds the first version of each run of equal
// ones. The times are still needed: a different version arriving late
// between two of them splits the run, and the later ones count again (A at
// 1, A at 5, then B at 3: the value at 5 is A). The form is canonical, so
// the same versions give the same History in whatever order they came.
template <class Doc>
struct History {
  std::vector<Doc> versions;  // each differs from the one before but for time
  // Times at which the version of the run they fall in was sent again,
  // ascending, none equal to a version's time; nullptr when none.
  HeapOptional<std::vector<EventTime>> repeats;

  // Adds `doc`. Returns false when it changes nothing (a re-delivery). A
  // version with the same event time as an existing one replaces it.
  bool Put(const Doc& doc) {
    const EventTime t = doc.event_time;
    size_t i = RunAt(t);  // versions.size() when t is before every version
    const bool in_run = i < versions.size();
    const bool replaces_start = in_run && versions[i].event_time == t;
    if (replaces_start) {
      if (versions[i] == doc) return false;
    } else if (in_run && SameButTime(versions[i], doc)) {
      return AddRepeat(t);
    }
    if (in_run) SplitAfter(i, t);  // later repeats keep the value they were sent with
    RemoveRepeat(t);               // replaced by `doc`
    if (replaces_start) {
      versions[i] = doc;
    } else {
      i = in_run ? i + 1 : 0;
      versions.insert(versions.begin() + static_cast<std::ptrdiff_t>(i), doc);
    }
    if (i + 1 < versions.size() && SameButTime(versions[i], versions[i + 1])) MergeInto(i);
    if (i > 0 && SameButTime(versions[i - 1], versions[i])) MergeInto(i - 1);
    return true;
  }
  // Brings versions decoded from an older store, which kept every repeat as a
  // version of its own, to the canonical form.
  void Normalize() {
    for (size_t i = 0; i + 1 < versions.size();) {
      if (SameButTime(versions[i], versions[i + 1])) {
        MergeInto(i);
      } else {
        ++i;
      }
    }
  }
  // Every version sent, repeats included, in event-time order: `f(version,
  // time)`, where `version` carries the time its run began.
  template <class F>
  void ForEachSent(F&& f) const {
    auto r = repeats ? repeats->begin() : std::vector<EventTime>::const_iterator{};
    const auto r_end = repeats ? repeats->end() : r;
    for (size_t i = 0; i < versions.size(); ++i) {
      f(versions[i], versions[i].event_time);
      const EventTime next = i + 1 < versions.size() ? versions[i + 1].event_time : kMaxTime;
      for (; r != r_end && *r < next; ++r) f(versions[i], *r);
    }
  }
  const Doc* AsOf(EventTime t) const {
    const size_t i = RunAt(t);
    return i < versions.size() ? &versions[i] : nullptr;
  }
  const Doc* Latest() const { return versions.empty() ? nullptr : &versions.back(); }
  bool operator==(const History&) const = default;

 private:
  // Compared in place, `a` given `b`'s time for the comparison: a copy would
  // copy its texts and billing plan, at every Put on an existing document
  // and for every pair of versions each time a state is decoded (Normalize).
  static bool SameButTime(Doc& a, const Doc& b) {
    const EventTime own = a.event_time;
    a.event_time = b.event_time;
    const bool same = a == b;
    a.event_time = own;
    return same;
  }
  // The index of the version whose run holds `t`, versions.size() if none.
  size_t RunAt(EventTime t) const {
    auto it = std::upper_bound(versions.begin(), versions.end(), t,
                               [](EventTime t, const Doc& d) { return t < d.event_time; });
    return it == versions.begin() ? versions.size()
                                  : static_cast<size_t>(it - versions.begin()) - 1;
  }
  bool AddRepeat(EventTime t) {
    std::vector<EventTime>& r = repeats ? *repeats : repeats.emplace();
    auto it = std::lower_bound(r.begin(), r.end(), t);
    if (it != r.end() && *it == t) return false;
    r.insert(it, t);
    return true;
  }
  void RemoveRepeat(EventTime t) {
    if (!repeats) return;
    auto it = std::lower_bound(repeats->begin(), repeats->end(), t);
    if (it != repeats->end() && *it == t) repeats->erase(it);
    if (repeats->empty()) repeats.reset();
  }
  // The first repeat of run `i` after `t` becomes a version of its own,
  // which the run's later repeats then follow.
  void SplitAfter(size_t i, EventTime t) {
    if (!repeats) return;
    const EventTime next = i + 1 < versions.size() ? versions[i + 1].event_time : kMaxTime;
    auto it = std::upper_bound(repeats->begin(), repeats->end(), t);
    if (it == repeats->end() || *it >= next) return;
    Doc copy = versions[i];
    copy.event_time = *it;
    repeats->erase(it);
    if (repeats->empty()) repeats.reset();
    versions.insert(versions.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(copy));
  }
  // Version `i + 1`, equal to version `i` but for time, becomes a repeat of it.
  void MergeInto(size_t i) {
    const EventTime t = versions[i + 1].event_time;
    versions.erase(versions.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    AddRepeat(t);
  }
};

// The close time of `v`, sent without one, after version `before` (nullptr:
// none): `before`'s when `v` continues its stage (`continues(before's
// stage, v's stage)`), else `v`'s own event time.
template <class Continues>
EventTime InferredCloseTime(const Deal* before, const Deal& v, const Continues& continues) {
  return before != nullptr && continues(std::string_view(before->stage), std::string_view(v.stage))
             ? before->close_time
             : v.event_time;
}

// Dates the versions after `after` the CRM sent without close_time, in
// event-time order, by the version before each (InferredCloseTime). Returns
// whether any changed; a re-dated version may then repeat the one before,
// and is merged into it.
template <class Continues>
bool RedateDeal(History<Deal>& history, EventTime after, const Continues& continues) {
  bool redated = false;
  for (size_t i = 1; i < history.versions.size(); ++i) {
    Deal& v = history.versions[i];
    if (v.event_time <= after || !v.close_time_inferred) continue;
    const EventTime close = InferredCloseTime(&history.versions[i - 1], v, continues);
    redated |= close != v.close_time;
    v.close_time = close;
  }
  if (redated) history.Normalize();
  return redated;
}

// Adds a deal version as History::Put does, dating a version the CRM sent
// without close_time by the stage it is in, as RedateDeal does. A won deal
// re-sent undated (a CDC feed re-sends a row whenever any column changes) so
// keeps the time it was first won, and its re-sends stay repeats. A late
// version re-dates the undated ones after it. `continues(a, b)`: whether a
// deal going from stage a to stage b stays in the stage it entered (the
// engine counts a tenant's closed-won stages as one: ContinuesStage); by
// default, whether they are equal.
template <class Continues = std::equal_to<>>
bool PutDeal(History<Deal>& history, Deal deal, const Continues& continues = {}) {
  const EventTime t = deal.event_time;
  if (deal.close_time_inferred) {
    deal.close_time = InferredCloseTime(history.AsOf(t - Duration{1}), deal, continues);
  }
  if (!history.Put(deal)) return false;
  RedateDeal(history, t, continues);
  return true;
}

}  // namespace closeloop::matcher
