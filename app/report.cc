#include "app/report.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <tuple>

#include "matcher/lifecycle.h"
#include "matcher/money.h"

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::ExceptionRecord;
using nlohmann::json;

std::optional<int64_t> ParseDay(const std::string& text) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  if (std::sscanf(text.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd).time_since_epoch().count();
}

// "1000", "1000.5", "0.000001" -> millionths; nothing else.
std::optional<int64_t> ParseMicros(const std::string& text) {
  const size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || frac.size() > 6 ||
      (dot != std::string::npos && frac.empty())) {
    return std::nullopt;
  }
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || !digits(frac)) return std::nullopt;
  int64_t w = 0, f = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), w);
  const std::string padded = frac + std::string(6 - frac.size(), '0');
  std::from_chars(padded.data(), padded.data() + 6, f);
  return w * 1'000'000 + f;
}

int64_t Pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

bool AtLeast(const ExceptionRecord& r, int64_t min_micros) {
  const int digits = matcher::MinorDigits(r.currency);
  // amount x scale >= min  <=>  amount >= ceil(min / scale), without overflow.
  const int64_t scale = Pow10(6 - digits);
  return r.amount_at_risk_minor >= (min_micros + scale - 1) / scale;
}

bool Passes(const ExceptionRecord& r, const ReportFilters& f) {
  if (!f.tenant.empty() && r.tenant.value != f.tenant) return false;
  if (!f.kind.empty() && matcher::KindName(r.kind) != f.kind) return false;
  if (!f.team.empty() && r.team != f.team) return false;
  if (f.min_amount_micros && !AtLeast(r, *f.min_amount_micros)) return false;
  return true;
}

const char* SeverityName(matcher::Severity s) {
  switch (s) {
    case matcher::Severity::kP1:
      return "P1";
    case matcher::Severity::kP2:
      return "P2";
    case matcher::Severity::kP3:
      return "P3";
    case matcher::Severity::kP4:
      return "P4";
  }
  return "?";
}

json ExceptionJson(const ExceptionRecord& r, EventTime as_of) {
  const int64_t age = AgeDays(r, as_of);
  return {{"exception_id", r.exception_id},
          {"tenant", r.tenant.value},
          {"kind", matcher::KindName(r.kind)},
          {"team", r.team},
          {"state", matcher::StateName(r.state)},
          {"severity", SeverityName(r.severity)},
          {"currency", r.currency},
          {"amount_at_risk_minor", r.amount_at_risk_minor},
          {"recovered_minor", r.recovered_minor},
          {"deal_id", r.deal.value},
          {"order_id", r.order.value},
          {"invoice_id", r.invoice.value},
          {"customer_id", r.customer.value},
          {"customer_name", r.customer_name},
          {"owner", r.owner},
          {"opened_at", FormatTimestamp(r.opened_at)},
          {"age_days", age},
          {"time_weighted_loss", matcher::TimeWeightedLossAt(r, as_of)},
          {"confidence", r.confidence},
          {"reason", r.reason}};
}

// Open exceptions passing the filters, by currency (minor units of two
// currencies do not compare: IDR 1,000,000.00 is about USD 60), then by
// time-weighted loss, largest first.
std::vector<const ExceptionRecord*> Ranked(const ReportData& data, const ReportFilters& f) {
  std::vector<const ExceptionRecord*> out;
  for (const OpenRecord& r : data.open) {
    if (Passes(*r, f)) out.push_back(r.get());
  }
  auto key = [&](const ExceptionRecord* r) {
    return std::tuple(std::string_view(r->currency), -matcher::TimeWeightedLossAt(*r, data.as_of),
                      -r->amount_at_risk_minor, std::string_view(r->exception_id));
  };
  std::sort(out.begin(), out.end(), [&](auto* a, auto* b) { return key(a) < key(b); });
  return out;
}

// Whether one more exception in `currency` makes the top list
// (kTopExceptions of each currency, counted in `taken`).
bool TakeTop(std::map<std::string, size_t, std::less<>>& taken, std::string_view currency) {
  auto it = taken.try_emplace(std::string(currency), 0).first;
  return ++it->second <= kTopExceptions;
}

}  // namespace

ReportData SnapshotOf(const Books& books, EventTime as_of, matcher::Duration trailing_period) {
  ReportData d{.as_of = as_of,
               .trailing_period = trailing_period,
               .days = books.days(),
               .recovered = books.recovered(),
               .counts = books.counts()};
  d.open.reserve(books.open().size());
  for (const auto& [id, r] : books.open()) d.open.push_back(r);
  return d;
}

absl::StatusOr<ReportFilters> ParseFilters(const std::map<std::string, std::string>& params) {
  ReportFilters f;
  for (const auto& [name, value] : params) {
    // An empty value would mean every tenant (or team): a script passing an
    // unset variable would see everyone's books.
    if (value.empty()) return absl::InvalidArgumentError(name + ": empty");
    if (name == "tenant") {
      f.tenant = value;
    } else if (name == "kind") {
      if (!matcher::KindFromName(value)) {
        return absl::InvalidArgumentError("kind: not an exception kind: " + value);
      }
      f.kind = value;
    } else if (name == "team") {
      f.team = value;
    } else if (name == "closed_since") {
      f.closed_since_day = ParseDay(value);
      if (!f.closed_since_day) {
        return absl::InvalidArgumentError("closed_since: not a date YYYY-MM-DD: " + value);
      }
    } else if (name == "min_amount") {
      f.min_amount_micros = ParseMicros(value);
      if (!f.min_amount_micros) {
        return absl::InvalidArgumentError(
            "min_amount: not a non-negative decimal with at most 12 digits before the point "
            "and 6 after: " +
            value);
      }
    } else {
      return absl::InvalidArgumentError("unknown parameter: " + name);
    }
  }
  return f;
}

int64_t AgeDays(const ExceptionRecord& r, EventTime as_of) {
  return std::max<int64_t>(0, matcher::DaysBetween(r.opened_at, as_of));
}

const char* AgeBucket(int64_t age_days) {
  if (age_days <= 7) return kAgeBuckets[0];
  if (age_days <= 30) return kAgeBuckets[1];
  if (age_days <= 90) return kAgeBuckets[2];
  return kAgeBuckets[3];
}

json BuildReport(const ReportData& data, const ReportFilters& filters) {
  const int64_t period_start = filters.closed_since_day ? *filters.closed_since_day
                                                        : DayOf(data.as_of - data.trailing_period);
  struct Money {
    int64_t booked = 0, billed = 0, collected = 0, deals = 0, period_booked = 0,
            period_collected = 0;
  };
  std::map<std::pair<std::string, std::string>, Money> books;  // tenant, currency
  for (const auto& [key, t] : data.days) {
    if (!filters.tenant.empty() && key.tenant != filters.tenant) continue;
    const bool in_period = key.day != kNoCloseDay && key.day >= period_start;
    if (filters.closed_since_day && !in_period) continue;
    Money& m = books[{key.tenant, key.currency}];
    m.booked += t.booked_minor;
    m.billed += t.billed_minor;
    m.collected += t.collected_minor;
    m.deals += t.deals;
    if (in_period) {
      m.period_booked += t.booked_minor;
      m.period_collected += t.collected_minor;
    }
  }
  json books_json = json::array();
  for (const auto& [key, m] : books) {
    json rate = nullptr;
    bool below = false;
    if (m.period_booked > 0) {
      const double r =
          static_cast<double>(m.period_collected) / static_cast<double>(m.period_booked);
      rate = r;
      below = r < kRealizationTarget;
    }
    books_json.push_back({{"tenant", key.first},
                          {"currency", key.second},
                          {"deals", m.deals},
                          {"booked_minor", m.booked},
                          {"billed_minor", m.billed},
                          {"collected_minor", m.collected},
                          {"period_booked_minor", m.period_booked},
                          {"period_collected_minor", m.period_collected},
                          {"realization_rate", rate},
                          {"below_target", below}});
  }

  struct Open {
    int64_t count = 0, amount = 0;
    std::map<std::string, int64_t> buckets;
  };
  // tenant, kind, team, currency
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Open> open;
  for (const OpenRecord& p : data.open) {
    const ExceptionRecord& r = *p;
    if (!Passes(r, filters)) continue;
    Open& o = open[{r.tenant.value, matcher::KindName(r.kind), r.team, r.currency}];
    ++o.count;
    o.amount += r.amount_at_risk_minor;
    ++o.buckets[AgeBucket(AgeDays(r, data.as_of))];
  }
  json open_json = json::array();
  for (const auto& [key, o] : open) {
    json buckets = json::object();
    for (const char* b : kAgeBuckets) buckets[b] = o.buckets.contains(b) ? o.buckets.at(b) : 0;
    open_json.push_back({{"tenant", std::get<0>(key)},
                         {"kind", std::get<1>(key)},
                         {"team", std::get<2>(key)},
                         {"currency", std::get<3>(key)},
                         {"count", o.count},
                         {"amount_at_risk_minor", o.amount},
                         {"age_buckets", buckets}});
  }

  // Recovered money and counts of the exceptions passing the filters, the
  // teams (unless one is asked for) added up.
  auto passes = [&](const std::string& tenant, matcher::ExceptionKind kind,
                    const std::string& team) {
    return (filters.tenant.empty() || tenant == filters.tenant) &&
           (filters.kind.empty() || matcher::KindName(kind) == filters.kind) &&
           (filters.team.empty() || team == filters.team);
  };
  std::map<std::tuple<std::string, matcher::ExceptionKind, std::string>, int64_t> recovered_sums;
  for (const auto& [key, minor] : data.recovered) {
    if (passes(key.tenant, key.kind, key.team)) {
      recovered_sums[{key.tenant, key.kind, key.currency}] += minor;
    }
  }
  json recovered = json::array();
  for (const auto& [key, minor] : recovered_sums) {
    recovered.push_back({{"tenant", std::get<0>(key)},
                         {"kind", matcher::KindName(std::get<1>(key))},
                         {"currency", std::get<2>(key)},
                         {"recovered_minor", minor}});
  }
  std::map<std::pair<std::string, matcher::ExceptionKind>, ExceptionCounts> count_sums;
  for (const auto& [key, c] : data.counts) {
    if (!passes(key.tenant, key.kind, key.team)) continue;
    ExceptionCounts& sum = count_sums[{key.tenant, key.kind}];
    sum.opened += c.opened;
    for (const auto& [resolution, n] : c.resolved) sum.resolved[resolution] += n;
  }
  json counts = json::array();
  for (const auto& [key, c] : count_sums) {
    json resolved = json::object();
    for (const auto& [resolution, n] : c.resolved)
      resolved[matcher::ResolutionName(resolution)] = n;
    counts.push_back({{"tenant", key.first},
                      {"kind", matcher::KindName(key.second)},
                      {"opened", c.opened},
                      {"resolved", resolved}});
  }

  json top = json::array();
  std::map<std::string, size_t, std::less<>> taken;
  for (const ExceptionRecord* r : Ranked(data, filters)) {
    if (TakeTop(taken, r->currency)) top.push_back(ExceptionJson(*r, data.as_of));
  }
  return {{"as_of", FormatTimestamp(data.as_of)},
          {"period",
           {{"since", matcher::FormatDate(EventTime(std::chrono::duration_cast<matcher::Duration>(
                          std::chrono::days(period_start))))},
            {"by", filters.closed_since_day ? "closed_since" : "trailing_period"}}},
          {"realization_target", kRealizationTarget},
          {"books", books_json},
          {"open_exceptions", open_json},
          {"recovered", recovered},
          {"exception_counts", counts},
          {"top_exceptions", top}};
}

namespace {

// Adds `row`'s integers into `into`'s, member by member, objects (age
// buckets, resolutions) included; a member `into` lacks is taken as is.
void AddInto(json& into, const json& row) {
  for (const auto& [name, value] : row.items()) {
    if (!into.contains(name)) {
      into[name] = value;
    } else if (value.is_number_integer()) {
      into[name] = into[name].get<int64_t>() + value.get<int64_t>();
    } else if (value.is_object()) {
      AddInto(into[name], value);
    }
  }
}

// The rows of `section` of every report, those agreeing on `keys` added up,
// in the order of their keys (BuildReport's).
json SumRows(const std::vector<json>& reports, const char* section,
             std::initializer_list<const char*> keys) {
  std::map<std::vector<std::string>, json> rows;
  for (const json& report : reports) {
    for (const json& row : report.at(section)) {
      std::vector<std::string> key;
      for (const char* k : keys) key.push_back(row.at(k).get<std::string>());
      auto [it, fresh] = rows.try_emplace(std::move(key), row);
      if (!fresh) AddInto(it->second, row);
    }
  }
  json out = json::array();
  for (auto& [key, row] : rows) out.push_back(std::move(row));
  return out;
}

json MergeOrThrow(const std::vector<json>& reports) {
  const json& first = reports.front();
  json merged = first;
  for (const json& r : reports) {
    if (r.at("period") != first.at("period")) {
      throw std::invalid_argument("the services report different periods: " +
                                  first.at("period").dump() + " and " + r.at("period").dump());
    }
    if (r.at("as_of").get<std::string>() < merged["as_of"].get<std::string>()) {
      merged["as_of"] = r.at("as_of");
    }
  }
  const double target = first.at("realization_target").get<double>();
  merged["books"] = SumRows(reports, "books", {"tenant", "currency"});
  for (json& row : merged["books"]) {
    const int64_t booked = row.at("period_booked_minor").get<int64_t>();
    const int64_t collected = row.at("period_collected_minor").get<int64_t>();
    row["realization_rate"] = nullptr;
    row["below_target"] = false;
    if (booked > 0) {
      const double rate = static_cast<double>(collected) / static_cast<double>(booked);
      row["realization_rate"] = rate;
      row["below_target"] = rate < target;
    }
  }
  merged["open_exceptions"] =
      SumRows(reports, "open_exceptions", {"tenant", "kind", "team", "currency"});
  merged["recovered"] = SumRows(reports, "recovered", {"tenant", "kind", "currency"});
  merged["exception_counts"] = SumRows(reports, "exception_counts", {"tenant", "kind"});
  // Ranked as BuildReport ranks: currency, loss, then amount, then id.
  std::vector<json> all;
  for (const json& r : reports) {
    for (const json& e : r.at("top_exceptions")) all.push_back(e);
  }
  auto key = [](const json& e) {
    return std::tuple(
        e.at("currency").get<std::string>(), -e.at("time_weighted_loss").get<int64_t>(),
        -e.at("amount_at_risk_minor").get<int64_t>(), e.at("exception_id").get<std::string>());
  };
  std::sort(all.begin(), all.end(), [&](const json& a, const json& b) { return key(a) < key(b); });
  json top = json::array();
  std::map<std::string, size_t, std::less<>> taken;
  for (json& e : all) {
    if (TakeTop(taken, e.at("currency").get<std::string>())) top.push_back(std::move(e));
  }
  merged["top_exceptions"] = top;
  return merged;
}

}  // namespace

absl::StatusOr<json> MergeReports(const std::vector<json>& reports) {
  if (reports.empty()) return absl::InvalidArgumentError("no report to merge");
  if (reports.size() == 1) return reports.front();
  try {
    return MergeOrThrow(reports);
  } catch (const std::exception& e) {
    // nlohmann's type and missing-key errors, and different periods.
    return absl::InvalidArgumentError(std::string("cannot merge the reports: ") + e.what());
  }
}

absl::StatusOr<size_t> TakeLimit(std::map<std::string, std::string>& params) {
  auto it = params.find("limit");
  if (it == params.end()) return kExceptionsLimit;
  const std::string value = std::move(it->second);
  params.erase(it);
  size_t limit = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
      limit > kExceptionsMaxLimit) {
    return absl::InvalidArgumentError("limit: not a whole number from 1 to " +
                                      std::to_string(kExceptionsMaxLimit) + ": " + value);
  }
  return limit;
}

json BuildExceptions(const ReportData& data, const ReportFilters& filters, size_t limit) {
  const std::vector<const ExceptionRecord*> ranked = Ranked(data, filters);
  json list = json::array();
  for (size_t i = 0; i < std::min(limit, ranked.size()); ++i) {
    list.push_back(ExceptionJson(*ranked[i], data.as_of));
  }
  return {{"as_of", FormatTimestamp(data.as_of)}, {"total", ranked.size()}, {"exceptions", list}};
}

std::string FormatTimestamp(EventTime t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(t - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02dZ", matcher::FormatDate(t).c_str(),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string MajorUnits(int64_t minor, const std::string& currency) {
  const int digits = matcher::MinorDigits(currency);
  const bool negative = minor < 0;
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  const uint64_t scale = static_cast<uint64_t>(Pow10(digits));
  std::string out = (negative ? "-" : "") + std::to_string(magnitude / scale);
  if (digits > 0) {
    const std::string frac = std::to_string(magnitude % scale);
    out += '.' + std::string(digits - frac.size(), '0') + frac;
  }
  return out;
}

}  // namespace closeloop::app
