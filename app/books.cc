#include "app/books.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "matcher/money.h"
#include "nlohmann/json.hpp"

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::ExceptionKind;
using matcher::ExceptionRecord;
using matcher::ExceptionState;
using matcher::Resolution;
using matcher::Severity;
using nlohmann::json;

constexpr std::string_view kDayPrefix = "books/day/";
constexpr std::string_view kOpenPrefix = "books/open/";
constexpr std::string_view kRecoveredPrefix = "books/recovered/";
constexpr std::string_view kCountPrefix = "books/count/";

std::string DayName(int64_t day) {
  if (day == kNoCloseDay) return "none";
  return matcher::FormatDate(
      EventTime(std::chrono::duration_cast<matcher::Duration>(std::chrono::days(day))));
}

int64_t Ms(EventTime t) { return t.time_since_epoch().count(); }
EventTime FromMs(int64_t ms) { return EventTime(matcher::Duration(ms)); }

template <class E>
std::optional<E> EnumFromName(const std::string& name, E last, const char* (*name_of)(E)) {
  for (int i = 0; i <= static_cast<int>(last); ++i) {
    if (name == name_of(static_cast<E>(i))) return static_cast<E>(i);
  }
  return std::nullopt;
}

std::optional<ExceptionState> StateFromName(const std::string& name) {
  return EnumFromName(name, ExceptionState::kSnoozed, &matcher::StateName);
}
std::optional<Resolution> ResolutionFromName(const std::string& name) {
  return EnumFromName(name, Resolution::kDismissed, &matcher::ResolutionName);
}

// Throws json exceptions on a missing or mistyped field; Load turns them into
// a Status.
template <class T>
T Get(const json& j, const char* field) {
  return j.at(field).get<T>();
}

ExceptionKind KindOf(const json& j) {
  auto kind = matcher::KindFromName(Get<std::string>(j, "kind"));
  if (!kind) throw std::invalid_argument("unknown kind");
  return *kind;
}

// The team of a recovered or count record; "" in one stored before teams were.
std::string TeamOf(const json& j) { return j.contains("team") ? Get<std::string>(j, "team") : ""; }

// `s` as a JSON string: quotes, backslashes and control characters escaped,
// everything else (UTF-8 included) as it is.
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

// The stored row of an open exception, the object RecordFromJson reads. It is
// written for every exception record at every batch, so it is written
// directly: building a json object for it took 5% of the Pipeline's time.
std::string RecordJson(const ExceptionRecord& r) {
  std::string out = "{";
  auto name = [&](const char* field) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += field;
    out += "\":";
  };
  auto text = [&](const char* field, std::string_view value) {
    name(field);
    AppendJsonString(out, value);
  };
  auto number = [&](const char* field, auto value) {
    name(field);
    out += std::to_string(value);
  };
  text("exception_id", r.exception_id);
  text("tenant", r.tenant.value);
  text("kind", matcher::KindName(r.kind));
  text("state", matcher::StateName(r.state));
  text("resolution", matcher::ResolutionName(r.resolution));
  text("superseded_by", r.superseded_by);
  text("deal", r.deal.value);
  text("order", r.order.value);
  text("invoice", r.invoice.value);
  text("customer", r.customer.value);
  text("customer_name", r.customer_name);
  text("owner", r.owner);
  text("team", r.team);
  text("topic", r.topic);
  number("severity", static_cast<int>(r.severity));
  number("amount_at_risk_minor", r.amount_at_risk_minor);
  number("recovered_minor", r.recovered_minor);
  text("currency", r.currency);
  number("deadline_ms", Ms(r.deadline));
  number("opened_at_ms", Ms(r.opened_at));
  number("effective_at_ms", Ms(r.effective_at));
  number("age_days", r.age_days);
  number("time_weighted_loss", r.time_weighted_loss);
  name("confidence");
  if (std::isfinite(r.confidence)) {
    char digits[32];  // the shortest that reads back as the same double
    out.append(digits, std::to_chars(digits, digits + sizeof digits, r.confidence).ptr);
  } else {
    out += "null";  // as json wrote it (and Load refuses it, as before)
  }
  text("reason", r.reason);
  number("sequence", r.sequence);
  text("note", r.note);
  out += '}';
  return out;
}

ExceptionRecord RecordFromJson(const json& j) {
  ExceptionRecord r;
  r.exception_id = Get<std::string>(j, "exception_id");
  r.tenant.value = Get<std::string>(j, "tenant");
  r.kind = KindOf(j);
  auto state = StateFromName(Get<std::string>(j, "state"));
  auto resolution = ResolutionFromName(Get<std::string>(j, "resolution"));
  const int severity = Get<int>(j, "severity");
  if (!state || !resolution || severity < 0 || severity > static_cast<int>(Severity::kP4)) {
    throw std::invalid_argument("bad state, resolution or severity");
  }
  r.state = *state;
  r.resolution = *resolution;
  r.severity = static_cast<Severity>(severity);
  r.superseded_by = Get<std::string>(j, "superseded_by");
  r.deal.value = Get<std::string>(j, "deal");
  r.order.value = Get<std::string>(j, "order");
  r.invoice.value = Get<std::string>(j, "invoice");
  r.customer.value = Get<std::string>(j, "customer");
  r.customer_name = Get<std::string>(j, "customer_name");
  r.owner = Get<std::string>(j, "owner");
  r.team = Get<std::string>(j, "team");
  r.topic = Get<std::string>(j, "topic");
  r.amount_at_risk_minor = Get<int64_t>(j, "amount_at_risk_minor");
  r.recovered_minor = Get<int64_t>(j, "recovered_minor");
  r.currency = Get<std::string>(j, "currency");
  r.deadline = FromMs(Get<int64_t>(j, "deadline_ms"));
  r.opened_at = FromMs(Get<int64_t>(j, "opened_at_ms"));
  r.effective_at = FromMs(Get<int64_t>(j, "effective_at_ms"));
  r.age_days = Get<int64_t>(j, "age_days");
  r.time_weighted_loss = Get<int64_t>(j, "time_weighted_loss");
  r.confidence = Get<double>(j, "confidence");
  r.reason = Get<std::string>(j, "reason");
  r.sequence = Get<uint64_t>(j, "sequence");
  r.note = Get<std::string>(j, "note");
  return r;
}

double Seconds(matcher::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int64_t DayOf(EventTime t) {
  return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}

std::string DayRecordKey(const DayKey& key) {
  return std::string(kDayPrefix) + key.tenant + "/" + key.currency + "/" + DayName(key.day);
}
std::string OpenRecordKey(const std::string& exception_id) {
  return std::string(kOpenPrefix) + exception_id;
}
// Records written before teams were kept have no team in their key.
std::string RecoveredRecordKey(const RecoveredKey& key) {
  return std::string(kRecoveredPrefix) + key.tenant + "/" + matcher::KindName(key.kind) + "/" +
         key.currency + (key.team.empty() ? "" : "/" + key.team);
}
std::string CountRecordKey(const CountKey& key) {
  return std::string(kCountPrefix) + key.tenant + "/" + matcher::KindName(key.kind) +
         (key.team.empty() ? "" : "/" + key.team);
}

void Books::AddFigures(const matcher::TenantId& tenant, const matcher::DealFigures& f, int sign) {
  // A deal that is neither booked nor billed (an open opportunity) is in no book.
  if (!f.booked && f.billed_minor == 0 && f.collected_minor == 0) return;
  const DayKey key{tenant.value, f.currency, f.booked ? DayOf(f.closed_at) : kNoCloseDay};
  DayTotals& t = days_[key];
  t.booked_minor += sign * f.booked_minor;
  t.billed_minor += sign * f.billed_minor;
  t.collected_minor += sign * f.collected_minor;
  t.deals += sign;
  if (t == DayTotals{}) days_.erase(key);
  dirty_days_.insert(key);
}

void Books::Apply(const matcher::FiguresChange& change) {
  if (change.before) AddFigures(change.tenant, *change.before, -1);
  AddFigures(change.tenant, change.after, +1);
  const matcher::DealFigures& a = change.after;
  const bool had_invoice = change.before && change.before->first_billed_at;
  const bool had_payment = change.before && change.before->first_collected_at;
  if (a.booked && a.first_billed_at && !had_invoice) {
    latencies_.close_to_invoice_seconds.push_back(
        std::max(0.0, Seconds(*a.first_billed_at - a.closed_at)));
  }
  if (a.first_billed_at && a.first_collected_at && !had_payment) {
    latencies_.invoice_to_payment_seconds.push_back(
        std::max(0.0, Seconds(*a.first_collected_at - *a.first_billed_at)));
  }
}

void Books::Apply(const ExceptionRecord& record) {
  auto it = open_.find(record.exception_id);
  const int64_t before = it == open_.end() ? 0 : it->second->recovered_minor;
  if (record.recovered_minor != before) {
    const RecoveredKey key{record.tenant.value, record.kind, record.currency, record.team};
    int64_t& total = recovered_[key];
    total += record.recovered_minor - before;
    if (total > 0 && total > recovered_highest_[key]) recovered_highest_[key] = total;
    if (total == 0) recovered_.erase(key);
    dirty_recovered_.insert(key);
  }
  const CountKey count_key{record.tenant.value, record.kind, record.team};
  if (record.state == ExceptionState::kOpen) {
    ++counts_[count_key].opened;
    dirty_counts_.insert(count_key);
  } else if (record.state == ExceptionState::kResolved) {
    ++counts_[count_key].resolved[record.resolution];
    dirty_counts_.insert(count_key);
  }
  if (record.state == ExceptionState::kResolved) {
    if (it != open_.end()) open_.erase(it);
  } else {
    auto kept = std::make_shared<ExceptionRecord>(record);
    // A command's echo says what a person did, not what is wrong: the open
    // exception keeps the reason of the record before (the echo's state and
    // note say the rest).
    if ((record.state == ExceptionState::kAcknowledged ||
         record.state == ExceptionState::kSnoozed) &&
        it != open_.end()) {
      kept->reason = it->second->reason;
    }
    open_[record.exception_id] = std::move(kept);
  }
  dirty_open_.insert(record.exception_id);
}

Latencies Books::TakeLatencies() { return std::exchange(latencies_, {}); }

void Books::DrainChanges(std::vector<BooksChange>& out) {
  std::vector<BooksChange> changes;
  for (const DayKey& key : dirty_days_) {
    auto it = days_.find(key);
    std::optional<std::string> bytes;
    if (it != days_.end()) {
      bytes = json{{"tenant", key.tenant},
                   {"currency", key.currency},
                   {"day", key.day == kNoCloseDay ? json(nullptr) : json(key.day)},
                   {"booked_minor", it->second.booked_minor},
                   {"billed_minor", it->second.billed_minor},
                   {"collected_minor", it->second.collected_minor},
                   {"deals", it->second.deals}}
                  .dump();
    }
    changes.emplace_back(DayRecordKey(key), std::move(bytes));
  }
  for (const std::string& id : dirty_open_) {
    auto it = open_.find(id);
    changes.emplace_back(OpenRecordKey(id),
                         it == open_.end() ? std::nullopt : std::optional(RecordJson(*it->second)));
  }
  for (const RecoveredKey& key : dirty_recovered_) {
    auto it = recovered_.find(key);
    auto highest = recovered_highest_.find(key);
    std::optional<std::string> bytes;
    if (it != recovered_.end() || highest != recovered_highest_.end()) {
      bytes = json{{"tenant", key.tenant},
                   {"kind", matcher::KindName(key.kind)},
                   {"currency", key.currency},
                   {"team", key.team},
                   {"recovered_minor", it == recovered_.end() ? 0 : it->second},
                   {"highest_minor", highest == recovered_highest_.end() ? 0 : highest->second}}
                  .dump();
    }
    changes.emplace_back(RecoveredRecordKey(key), std::move(bytes));
  }
  for (const CountKey& key : dirty_counts_) {
    auto it = counts_.find(key);
    std::optional<std::string> bytes;
    if (it != counts_.end()) {
      json resolved = json::object();
      for (const auto& [resolution, n] : it->second.resolved) {
        resolved[matcher::ResolutionName(resolution)] = n;
      }
      bytes = json{{"tenant", key.tenant},
                   {"kind", matcher::KindName(key.kind)},
                   {"team", key.team},
                   {"opened", it->second.opened},
                   {"resolved", resolved}}
                  .dump();
    }
    changes.emplace_back(CountRecordKey(key), std::move(bytes));
  }
  std::sort(changes.begin(), changes.end(),
            [](const BooksChange& a, const BooksChange& b) { return a.first < b.first; });
  for (BooksChange& c : changes) out.push_back(std::move(c));
  dirty_days_.clear();
  dirty_open_.clear();
  dirty_recovered_.clear();
  dirty_counts_.clear();
}

absl::Status Books::Load(std::string_view key, std::string_view bytes) {
  auto refuse = [&](const std::string& why) {
    return absl::InvalidArgumentError("books record " + std::string(key) + ": " + why);
  };
  try {
    const json j = json::parse(bytes);
    if (key.starts_with(kDayPrefix)) {
      const DayKey k{Get<std::string>(j, "tenant"), Get<std::string>(j, "currency"),
                     j.at("day").is_null() ? kNoCloseDay : Get<int64_t>(j, "day")};
      if (DayRecordKey(k) != key) return refuse("key does not match its record");
      days_[k] = {Get<int64_t>(j, "booked_minor"), Get<int64_t>(j, "billed_minor"),
                  Get<int64_t>(j, "collected_minor"), Get<int64_t>(j, "deals")};
    } else if (key.starts_with(kOpenPrefix)) {
      ExceptionRecord r = RecordFromJson(j);
      if (OpenRecordKey(r.exception_id) != key) return refuse("key does not match its record");
      const std::string id = r.exception_id;
      open_[id] = std::make_shared<const ExceptionRecord>(std::move(r));
    } else if (key.starts_with(kRecoveredPrefix)) {
      const RecoveredKey k{Get<std::string>(j, "tenant"), KindOf(j),
                           Get<std::string>(j, "currency"), TeamOf(j)};
      if (RecoveredRecordKey(k) != key) return refuse("key does not match its record");
      const auto total = Get<int64_t>(j, "recovered_minor");
      // A store written before the highest was kept: its total is the best known.
      const int64_t highest =
          j.contains("highest_minor") ? Get<int64_t>(j, "highest_minor") : total;
      if (total != 0) recovered_[k] = total;
      if (highest > 0) recovered_highest_[k] = highest;
    } else if (key.starts_with(kCountPrefix)) {
      const CountKey k{Get<std::string>(j, "tenant"), KindOf(j), TeamOf(j)};
      if (CountRecordKey(k) != key) return refuse("key does not match its record");
      ExceptionCounts c;
      c.opened = Get<int64_t>(j, "opened");
      for (const auto& [name, n] : j.at("resolved").items()) {
        auto resolution = ResolutionFromName(name);
        if (!resolution) return refuse("unknown resolution " + name);
        c.resolved[*resolution] = n.get<int64_t>();
      }
      counts_[k] = std::move(c);
    } else {
      return refuse("not a books key");
    }
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  return absl::OkStatus();
}

}  // namespace closeloop::app
