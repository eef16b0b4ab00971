// The scenario runner: drives an Engine over a MemoryStore through the steps
// and compares what it emits with the `expect` lines, in order.
#include <cctype>
#include <cstdio>
#include <deque>
#include <map>

#include "matcher/engine.h"
#include "matcher/memory_store.h"
#include "matcher/scenario.h"

namespace closeloop::matcher::scenario {
namespace {

bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::string Quoted(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \"#") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A record with the line of the step that caused it.
struct Emitted {
  ExceptionRecord record;
  int line;
};

std::string Pending(const std::string& path, const std::deque<Emitted>& pending) {
  std::string out;
  for (const Emitted& e : pending) {
    out += "\n  " + Describe(e.record) + "\n    (emitted by " + path + ":" +
           std::to_string(e.line) + ")";
  }
  return out;
}

// The first check `record` fails, as "key: want X, got Y"; empty if none.
std::string Mismatch(const ExpectStep& e, const ExceptionRecord& record) {
  for (const Check& c : e.checks) {
    const std::string got = Field(record, c.key).value_or("?");
    const bool ok = c.substring ? got.find(c.value) != std::string::npos : got == c.value;
    if (!ok) {
      return c.key + (c.substring ? " should contain " : " should be ") + Quoted(c.value) +
             ", is " + Quoted(got);
    }
  }
  return "";
}

}  // namespace

bool ParseTime(const std::string& s, EventTime* out) {
  using namespace std::chrono;
  int y = 0, m = 0, d = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &m) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return false;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  EventTime t = sys_days(ymd);
  if (s.size() == 10) {
    *out = t;
    return true;
  }
  int hh = 0, mm = 0, ss = 0;
  if ((s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, &hh) || s.size() < 19 || s[13] != ':' ||
      !Digits(s, 14, 2, &mm) || s[16] != ':' || !Digits(s, 17, 2, &ss) || hh > 23 || mm > 59 ||
      ss > 60) {
    return false;
  }
  t += hours(hh) + minutes(mm) + seconds(ss);
  size_t p = 19;
  if (p < s.size() && s[p] == '.') {
    int64_t ms = 0, digits = 0;
    for (++p; p < s.size() && std::isdigit(static_cast<unsigned char>(s[p])); ++p, ++digits) {
      if (digits < 3) ms = ms * 10 + (s[p] - '0');
    }
    if (digits == 0) return false;
    for (; digits < 3; ++digits) ms *= 10;
    t += milliseconds(ms);
  }
  if (p + 1 == s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    *out = t;
    return true;
  }
  int oh = 0, om = 0;
  if (p + 6 != s.size() || (s[p] != '+' && s[p] != '-') || !Digits(s, p + 1, 2, &oh) ||
      s[p + 3] != ':' || !Digits(s, p + 4, 2, &om)) {
    return false;
  }
  const auto offset = hours(oh) + minutes(om);
  *out = s[p] == '+' ? t - offset : t + offset;
  return true;
}

std::string FormatTime(EventTime t) {
  using namespace std::chrono;
  if (t <= kMinTime) return "min";
  if (t >= kMaxTime) return "max";
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  std::string out = buf;
  if (t == day) return out;
  const hh_mm_ss<Duration> tod{t - day};
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()));
  out += buf;
  if (tod.subseconds().count() != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(tod.subseconds().count()));
    out += buf;
  }
  return out + "Z";
}

std::optional<std::string> Field(const ExceptionRecord& r, const std::string& key) {
  if (key == "kind") return KindName(r.kind);
  if (key == "id") return r.exception_id;
  if (key == "state") return StateName(r.state);
  if (key == "resolution") return ResolutionName(r.resolution);
  if (key == "amount") return std::to_string(r.amount_at_risk_minor);
  if (key == "recovered") return std::to_string(r.recovered_minor);
  if (key == "at") return FormatTime(r.effective_at);
  if (key == "deadline") return FormatTime(r.deadline);
  if (key == "opened") return FormatTime(r.opened_at);
  if (key == "age") return std::to_string(r.age_days);
  if (key == "loss") return std::to_string(r.time_weighted_loss);
  if (key == "severity") return "P" + std::to_string(static_cast<int>(r.severity) + 1);
  if (key == "team") return r.team;
  if (key == "topic") return r.topic;
  if (key == "sequence") return std::to_string(r.sequence);
  if (key == "confidence") {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", r.confidence);
    return std::string(buf);
  }
  if (key == "by") return r.superseded_by;
  if (key == "reason") return r.reason;
  if (key == "tenant") return r.tenant.value;
  if (key == "deal") return r.deal.value;
  if (key == "order") return r.order.value;
  if (key == "invoice") return r.invoice.value;
  if (key == "customer") return r.customer.value;
  if (key == "name") return r.customer_name;
  if (key == "owner") return r.owner;
  if (key == "currency") return r.currency;
  if (key == "note") return r.note;
  return std::nullopt;
}

std::optional<std::string> FiguresField(const DealFigures& f, const std::string& key) {
  auto time = [](const std::optional<EventTime>& t) { return t ? FormatTime(*t) : "none"; };
  if (key == "booked") return f.booked ? "true" : "false";
  if (key == "booked_amount") return std::to_string(f.booked_minor);
  if (key == "billed") return std::to_string(f.billed_minor);
  if (key == "collected") return std::to_string(f.collected_minor);
  if (key == "currency") return f.currency;
  if (key == "closed") return FormatTime(f.closed_at);
  if (key == "first_billed") return time(f.first_billed_at);
  if (key == "first_collected") return time(f.first_collected_at);
  return std::nullopt;
}

// `key`: the deal's tenant and id.
std::string Describe(const std::pair<std::string, std::string>& key, const DealFigures& f) {
  std::string out = "figures " + key.first + " " + key.second;
  for (const char* key : {"booked", "booked_amount", "billed", "collected", "currency", "closed",
                          "first_billed", "first_collected"}) {
    out += std::string(" ") + key + "=" + Quoted(*FiguresField(f, key));
  }
  return out;
}

std::string Describe(const ExceptionRecord& r) {
  std::string out = std::string(KindName(r.kind)) + " " + r.exception_id + " " + StateName(r.state);
  if (r.resolution != Resolution::kNone) out += std::string(" ") + ResolutionName(r.resolution);
  static const char* const kKeys[] = {
      "amount",   "recovered",  "at",       "deadline", "opened", "age",   "severity", "team",
      "sequence", "confidence", "by",       "tenant",   "deal",   "order", "invoice",  "customer",
      "name",     "owner",      "currency", "loss",     "topic",  "note",  "reason"};
  for (const char* key : kKeys) {
    const std::string v = *Field(r, key);
    if (!v.empty() || std::string(key) == "reason") {
      out += std::string(" ") + key + "=" + Quoted(v);
    }
  }
  return out;
}

std::string RunScenario(const Scenario& s, EngineOptions options) {
  MemoryStore store;
  WatermarkSet watermarks;
  for (int src = 0; src < kSourceCount; ++src) {
    watermarks.SetPartitionCount(static_cast<Source>(src), 1);
  }
  Engine engine(s.tenants, store, options);
  // The figures last reported per deal: each change's `before` must be them.
  std::map<std::pair<std::string, std::string>, DealFigures> figures;
  std::deque<Emitted> pending;
  bool after_expect = false;  // the previous step was an expect line
  auto where = [&](const Step& step) { return s.path + ":" + std::to_string(step.line) + ": "; };
  for (const Step& step : s.steps) {
    if (const auto* f = std::get_if<FiguresStep>(&step.what)) {
      auto it = figures.find({f->tenant.value, f->deal.value});
      if (f->none || it == figures.end()) {
        if (f->none && it == figures.end()) continue;
        return where(step) +
               (f->none ? "expected no figures, but they are: " + Describe(it->first, it->second)
                        : "no figures were reported for the deal");
      }
      for (const Check& c : f->checks) {
        const std::string got = FiguresField(it->second, c.key).value_or("?");
        if (got != c.value) {
          return where(step) + c.key + " should be " + Quoted(c.value) + ", is " + Quoted(got) +
                 "\n  expected: " + step.text + "\n  got:      " + Describe(it->first, it->second);
        }
      }
      continue;
    }
    if (const auto* e = std::get_if<ExpectStep>(&step.what)) {
      after_expect = true;
      if (e->nothing) {
        if (!pending.empty()) {
          return where(step) +
                 "expected nothing, but records are pending:" + Pending(s.path, pending);
        }
        continue;
      }
      if (pending.empty()) {
        return where(step) + "no record left for `" + step.text + "`";
      }
      const Emitted got = pending.front();
      pending.pop_front();
      if (const std::string why = Mismatch(*e, got.record); !why.empty()) {
        return where(step) + why + "\n  expected: " + step.text +
               "\n  got:      " + Describe(got.record) + "\n    (emitted by " + s.path + ":" +
               std::to_string(got.line) + ")" +
               (pending.empty() ? "" : "\n  still pending:" + Pending(s.path, pending));
      }
      continue;
    }
    if (after_expect && !pending.empty()) {
      return where(step) + "records no expect line matched:" + Pending(s.path, pending);
    }
    after_expect = false;
    std::vector<ExceptionRecord> out;
    if (const auto* w = std::get_if<WatermarkStep>(&step.what)) {
      for (int src = 0; src < kSourceCount; ++src) {
        if (w->sources & (1u << src)) watermarks.Advance(static_cast<Source>(src), 0, w->time);
      }
      engine.Advance(watermarks, out);
    } else if (const auto* c = std::get_if<CommandStep>(&step.what)) {
      const std::optional<CommandRejection> rejection =
          engine.ApplyCommand(c->command, watermarks, out);
      if ((rejection ? std::optional(rejection->why) : std::nullopt) != c->refused) {
        return where(step) + (rejection ? "the command was refused: " + rejection->message
                                        : std::string("the command was applied"));
      }
    } else {
      engine.Apply(std::get<Document>(step.what), watermarks, out);
    }
    for (ExceptionRecord& r : out) {
      if (!s.ignored.contains(r.kind)) pending.push_back({std::move(r), step.line});
    }
    for (FiguresChange& c : engine.TakeFiguresChanges()) {
      const auto key = std::pair(c.tenant.value, c.deal.value);
      auto it = figures.find(key);
      const std::optional<DealFigures> last =
          it == figures.end() ? std::nullopt : std::optional(it->second);
      if (c.before != last) {
        return where(step) + "a figures change does not start from what was last reported:" +
               "\n  before: " + (c.before ? Describe(key, *c.before) : "none") +
               "\n  last:   " + (last ? Describe(key, *last) : "none");
      }
      figures[key] = std::move(c.after);
    }
  }
  if (!pending.empty()) {
    return s.path +
           ": records no expect line matched at the end of the file:" + Pending(s.path, pending);
  }
  return "";
}

}  // namespace closeloop::matcher::scenario
