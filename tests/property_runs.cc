#include "tests/property_runs.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "matcher/memory_store.h"
#include "matcher/watermarks.h"

namespace closeloop::property {

using matcher::EventTime;
using matcher::ExceptionRecord;
using matcher::kDay;
using matcher::Source;

namespace {

void ApplyCommand(matcher::Engine& engine, const matcher::Command& command,
                  const matcher::WatermarkSet& wm, std::vector<ExceptionRecord>& out,
                  Rejections& rejections) {
  if (const auto r = engine.ApplyCommand(command, wm, out)) {
    rejections.push_back(command.id + ": " + std::to_string(static_cast<int>(r->why)));
  }
}

// People's commands at the barrier, on what the reference has open there:
// ACK, SNOOZE (until after the barrier), DISMISS, ACK then SNOOZE, stamped
// before or after the barrier; a replayed command, one for a resolved
// exception and one for an exception never raised.
void AddCommands(Company& c, const matcher::TenantDirectory& dir) {
  if (c.barrier == matcher::kMaxTime) return;
  const std::vector<ExceptionRecord> records = ReferenceRun(c, dir, nullptr, nullptr, true);
  std::map<std::string, const ExceptionRecord*> last;
  for (const ExceptionRecord& r : records) last[std::string(r.exception_id)] = &r;
  int n = 0;
  auto command = [&](const ExceptionRecord& r, matcher::Command::Action action) {
    matcher::Command cmd;
    cmd.id = "cmd-" + std::to_string(++n);
    cmd.tenant = r.tenant;
    cmd.exception_id = std::string(r.exception_id);
    cmd.action = action;
    cmd.snooze_until = c.barrier + (3 + n % 40) * kDay;
    cmd.note = n % 2 ? "note " + std::to_string(n) : "";
    cmd.actor = "ana";
    cmd.event_time = c.barrier + (n % 3 == 0 ? -20 : 2) * kDay;
    c.commands.push_back(cmd);
  };
  using A = matcher::Command::Action;
  int open = 0;
  const ExceptionRecord* resolved = nullptr;
  for (const auto& [id, r] : last) {
    if (r->state == matcher::ExceptionState::kResolved) {
      if (resolved == nullptr) resolved = r;
      continue;
    }
    switch (open++ % 5) {
      case 0:
        command(*r, A::kAck);
        break;
      case 1:
        command(*r, A::kSnooze);
        break;
      case 2:
        command(*r, A::kDismiss);
        break;
      case 3:
        command(*r, A::kAck);
        command(*r, A::kSnooze);
        break;
      default:
        break;
    }
  }
  if (!c.commands.empty()) c.commands.push_back(c.commands.front());  // replayed
  if (resolved != nullptr) command(*resolved, A::kAck);
  matcher::Command unknown = c.commands.empty() ? matcher::Command{} : c.commands.front();
  unknown.id = "cmd-unknown";
  unknown.tenant = {"acme"};
  unknown.exception_id = "acme:UNPAID:NO-SUCH-INVOICE:1";
  c.commands.push_back(unknown);
}

// One honest delivery chosen by `rng`.
std::vector<ExceptionRecord> PermutedRun(const Company& c, const matcher::TenantDirectory& dir,
                                         std::mt19937_64& rng, RunLog& log, FiguresFold& figures,
                                         Rejections& rejections, matcher::EngineOptions options) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  // Queues per (source, partition), each in event-time order.
  struct Partition {
    Source source;
    int index;
    std::vector<const Delivered*> queue;
    size_t next = 0;       // into the stream being built
    size_t delivered = 0;  // applied to the engine
    std::optional<EventTime> last_delivered;
  };
  std::vector<Partition> partitions;
  int first_of_source[matcher::kSourceCount];
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    const int count = uniform(1, 3);
    log.partitions[s] = count;
    wm.SetPartitionCount(static_cast<Source>(s), count);
    first_of_source[s] = static_cast<int>(partitions.size());
    for (int p = 0; p < count; ++p) partitions.push_back({static_cast<Source>(s), p, {}});
  }
  for (const Delivered& d : c.docs) {
    const int s = static_cast<int>(d.source);
    const int count = log.partitions[s];
    partitions[first_of_source[s] + static_cast<int>(KeyHash(d.key) % count)].queue.push_back(&d);
  }

  // The delivery stream of the records before `until`: a random partition
  // gives a run of its next records; long runs model a backfill of one system
  // before another, short ones a live interleaving. Now and then an
  // already-delivered record comes again.
  struct Delivery {
    const Delivered* doc;
    Partition* partition;
    bool again;
  };
  constexpr int kMaxRuns[] = {1, 3, 20, 1000};
  log.max_run = kMaxRuns[uniform(0, 3)];
  const int duplicate_percent = uniform(0, 5);
  auto make_stream = [&](EventTime until) {
    std::vector<Delivery> stream;
    auto more = [&](const Partition& p) {
      return p.next < p.queue.size() && p.queue[p.next]->time < until;
    };
    while (true) {
      std::vector<Partition*> open;
      for (Partition& p : partitions) {
        if (more(p)) open.push_back(&p);
      }
      if (open.empty()) break;
      Partition* p = open[uniform(0, static_cast<int>(open.size()) - 1)];
      for (int n = uniform(1, log.max_run); n > 0 && more(*p); --n) {
        stream.push_back({p->queue[p->next++], p, false});
        if (uniform(0, 99) < duplicate_percent) {
          Delivery again = stream[uniform(0, static_cast<int>(stream.size()) - 1)];
          again.again = true;
          stream.push_back(again);
          ++log.duplicates;
        }
      }
    }
    log.deliveries += stream.size();
    return stream;
  };

  // Batches of 1..50 records; after some batches the watermarks of some
  // partitions move on: to just before the last event time delivered from
  // them (as the pipeline's tracker) or, now and then, to just before the
  // next record they hold (a caught-up partition following the clock); never
  // past a record not yet delivered, nor past the barrier before the
  // commands. Each watermark step fires its due timers in pieces of at most
  // log.max_timers, as the pipeline does, reading nothing in between; the
  // watermarks may move on between pieces, as the pipeline's do.
  constexpr size_t kMaxTimers[] = {1, 3, 50, SIZE_MAX};
  log.max_timers = kMaxTimers[uniform(0, 3)];
  log.lookahead_percent = uniform(0, 3) * 15;
  matcher::MemoryStore store;
  matcher::Engine engine(dir, store, options);
  std::vector<ExceptionRecord> out;
  EventTime cap = c.barrier - matcher::Duration(1);
  auto step_watermarks = [&] {
    for (Partition& p : partitions) {
      if (uniform(0, 3) == 0) continue;
      const EventTime honest =
          p.delivered < p.queue.size() ? p.queue[p.delivered]->time - matcher::Duration(1) : kNow;
      std::optional<EventTime> to;
      if (uniform(0, 99) < log.lookahead_percent) {
        to = honest;
      } else if (p.last_delivered) {
        to = *p.last_delivered - matcher::Duration(1);
      }
      if (to) wm.Advance(p.source, p.index, std::min({*to, honest, cap}));
    }
  };
  auto advance = [&] {
    while (true) {
      ++log.advance_calls;
      if (engine.Advance(wm, out, log.max_timers)) break;
      if (uniform(0, 1) == 0) step_watermarks();
    }
    // Done means that nothing is due at these watermarks (the pipeline's
    // --until-idle stops on it).
    for (int s = 0; s <= static_cast<int>(matcher::Slot::kOrderFuzzyLink); ++s) {
      const auto slot = static_cast<matcher::Slot>(s);
      const std::vector<matcher::Timer> due = store.DueTimers(slot, wm.AsOf(matcher::DepsOf(slot)));
      if (!due.empty() && log.left_due.empty()) {
        log.left_due = "slot " + std::to_string(s) + " of " + due[0].tenant.value + "/" + due[0].id;
      }
    }
  };
  const int watermark_percent = uniform(10, 100);
  auto deliver = [&](const std::vector<Delivery>& stream) {
    for (size_t i = 0; i < stream.size();) {
      const size_t size = std::min<size_t>(uniform(1, 50), stream.size() - i);
      for (size_t k = i; k < i + size; ++k) {
        const Delivery& d = stream[k];
        engine.Apply(d.doc->doc, wm, out);
        if (!d.again) ++d.partition->delivered;
        d.partition->last_delivered =
            std::max(d.partition->last_delivered.value_or(d.doc->time), d.doc->time);
      }
      i += size;
      ++log.batches;
      if (uniform(0, 99) < watermark_percent) {
        step_watermarks();
        advance();
        ++log.watermark_steps;
      }
      figures.Add(engine.TakeFiguresChanges());  // taken between batches, as the pipeline would
    }
  };
  deliver(make_stream(c.barrier));
  if (c.barrier != matcher::kMaxTime) {
    // Every record before the barrier is in: the watermarks reach just before
    // it, and the commands come, in batches, those of one exception in
    // order, those of different exceptions interleaved at random.
    wm.AdvanceAll(cap);
    advance();
    std::map<std::string, std::vector<const matcher::Command*>> queues;
    for (const matcher::Command& command : c.commands) {
      queues[command.exception_id].push_back(&command);
    }
    std::vector<std::pair<std::vector<const matcher::Command*>, size_t>> open;
    for (auto& [id, q] : queues) open.emplace_back(std::move(q), 0);
    while (!open.empty()) {
      for (int n = uniform(1, 10); n > 0 && !open.empty(); --n) {
        const size_t k = uniform(0, static_cast<int>(open.size()) - 1);
        auto& [q, next] = open[k];
        ApplyCommand(engine, *q[next++], wm, out, rejections);
        if (next == q.size()) open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
      }
      ++log.command_batches;
      advance();
    }
    figures.Add(engine.TakeFiguresChanges());
    cap = kNow;
    deliver(make_stream(matcher::kMaxTime));
  }
  wm.AdvanceAll(kNow);
  advance();
  figures.Add(engine.TakeFiguresChanges());
  std::sort(rejections.begin(), rejections.end());
  SortRecords(out);
  return out;
}

}  // namespace

std::vector<ExceptionRecord> ReferenceRun(const Company& c, const matcher::TenantDirectory& dir,
                                          FiguresFold* figures, Rejections* rejections,
                                          bool to_barrier, matcher::EngineOptions options) {
  matcher::MemoryStore store;
  matcher::Engine engine(dir, store, options);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) wm.SetPartitionCount(static_cast<Source>(s), 1);
  std::vector<ExceptionRecord> out;
  Rejections refused;
  bool commanded = c.barrier == matcher::kMaxTime;
  auto barrier = [&] {
    commanded = true;
    wm.AdvanceAll(c.barrier - matcher::Duration(1));
    engine.Advance(wm, out);
    if (to_barrier) return;
    for (const matcher::Command& command : c.commands) {
      ApplyCommand(engine, command, wm, out, refused);
    }
  };
  for (size_t i = 0; i < c.docs.size(); ++i) {
    if (!commanded && c.docs[i].time >= c.barrier) {
      barrier();
      if (to_barrier) break;
    }
    engine.Apply(c.docs[i].doc, wm, out);
    EventTime next = i + 1 < c.docs.size() ? c.docs[i + 1].time - matcher::Duration(1) : kNow;
    if (!commanded) next = std::min(next, c.barrier - matcher::Duration(1));
    wm.AdvanceAll(next);
    engine.Advance(wm, out);
  }
  if (!commanded) barrier();
  if (!to_barrier) {
    wm.AdvanceAll(kNow);
    engine.Advance(wm, out);
  }
  if (figures != nullptr) figures->Add(engine.TakeFiguresChanges());
  if (rejections != nullptr) *rejections = std::move(refused);
  SortRecords(out);
  return out;
}

Company MakeFullCompany(uint32_t seed) {
  Company c = MakeCompany(seed);
  AddCommands(c, app::SampleTenants(c.sample));
  return c;
}

std::string RunLog::ToString() const {
  std::ostringstream o;
  o << "partitions (crm, erp, billing, payments) = (" << partitions[0] << ", " << partitions[1]
    << ", " << partitions[2] << ", " << partitions[3] << "), max run per pick " << max_run << ", "
    << deliveries << " deliveries of which " << duplicates << " duplicates, " << batches
    << " batches, " << watermark_steps << " watermark steps (" << lookahead_percent
    << "% ahead of delivery), at most "
    << (max_timers == SIZE_MAX ? std::string("any number of") : std::to_string(max_timers))
    << " timers in each of " << advance_calls << " Advance calls, commands in " << command_batches
    << " batches";
  return o.str();
}

Outcome Reference(const Company& c, const matcher::TenantDirectory& dir,
                  matcher::EngineOptions options) {
  Outcome o;
  o.records = ReferenceRun(c, dir, &o.figures, &o.rejections, false, options);
  std::sort(o.rejections.begin(), o.rejections.end());
  return o;
}

Outcome Permuted(const Company& c, const matcher::TenantDirectory& dir, int perm, RunLog& log,
                 matcher::EngineOptions options) {
  std::mt19937_64 rng(uint64_t{c.seed} * 1'000'003u + static_cast<uint64_t>(perm));
  Outcome o;
  o.records = PermutedRun(c, dir, rng, log, o.figures, o.rejections, options);
  return o;
}

Outcome LateDeliveries(const Company& c, const matcher::TenantDirectory& dir, int perm,
                       bool extra_steps, size_t& late) {
  std::mt19937_64 rng(uint64_t{c.seed} * 7'000'003u + static_cast<uint64_t>(perm));
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  // The delivery order: each document at its place in event time, or that
  // plus its delay.
  const int late_percent = uniform(1, 5);
  std::vector<std::pair<size_t, size_t>> order;  // (place delivered, document)
  std::vector<bool> on_time(c.docs.size(), true);
  late = 0;
  for (size_t i = 0; i < c.docs.size(); ++i) {
    size_t place = i;
    if (uniform(0, 99) < late_percent) {
      place += static_cast<size_t>(uniform(1, 300));
      on_time[i] = false;
      ++late;
    }
    order.emplace_back(place, i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  matcher::MemoryStore store;
  matcher::Engine engine(dir, store);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) wm.SetPartitionCount(static_cast<Source>(s), 1);
  Outcome o;
  std::vector<ExceptionRecord>& out = o.records;
  EventTime at = matcher::kMinTime;  // where the watermarks stand
  auto step_to = [&](EventTime to) {
    wm.AdvanceAll(to);
    engine.Advance(wm, out);
    at = to;
  };
  size_t next_on_time = 0;  // the first document on time not yet delivered
  std::vector<bool> delivered(c.docs.size(), false);
  for (size_t k = 0; k < order.size();) {
    for (const size_t end = std::min(order.size(), k + static_cast<size_t>(uniform(1, 60)));
         k < end; ++k) {
      const size_t i = order[k].second;
      engine.Apply(c.docs[i].doc, wm, out);
      delivered[i] = true;
    }
    while (next_on_time < c.docs.size() && (delivered[next_on_time] || !on_time[next_on_time])) {
      ++next_on_time;
    }
    const EventTime to =
        next_on_time < c.docs.size() ? c.docs[next_on_time].time - matcher::Duration(1) : kNow;
    // The points in between are drawn in both runs, so that the batches
    // after them are the same.
    const int pieces = uniform(1, 4);
    std::vector<EventTime> between;
    for (int n = 1; n < pieces && at != matcher::kMinTime && at < to; ++n) {
      between.push_back(at + (to - at) * n / pieces);
    }
    if (extra_steps) {
      for (const EventTime t : between) step_to(t);
    }
    if (to > at) step_to(to);
    o.figures.Add(engine.TakeFiguresChanges());
  }
  step_to(kNow);
  o.figures.Add(engine.TakeFiguresChanges());
  SortRecords(out);
  return o;
}

std::string Difference(const Outcome& want, const Outcome& got) {
  if (std::string diff = FirstDifference(want.records, got.records); !diff.empty()) return diff;
  if (std::string diff = FiguresDifference(want.figures, got.figures); !diff.empty()) return diff;
  return got.rejections == want.rejections ? "" : "other commands refused";
}

}  // namespace closeloop::property
