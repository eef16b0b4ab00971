// How the property test compares runs, and prints what differs.
#include "tests/property_compare.h"

#include <cstdio>
#include <sstream>

namespace closeloop::property {

using matcher::EventTime;
using matcher::ExceptionRecord;

std::string TimeText(EventTime t) {
  if (t <= matcher::kMinTime) return "min";
  if (t >= matcher::kMaxTime) return "max";
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(t - day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
                static_cast<long>(hms.subseconds().count()));
  return buf;
}

std::string Describe(const ExceptionRecord& r) {
  std::ostringstream o;
  o << "{exception_id=" << r.exception_id << " sequence=" << r.sequence
    << " tenant=" << r.tenant.value << " kind=" << matcher::KindName(r.kind)
    << " state=" << matcher::StateName(r.state)
    << " resolution=" << matcher::ResolutionName(r.resolution)
    << " superseded_by=" << r.superseded_by << " deal=" << r.deal.value
    << " order=" << r.order.value << " invoice=" << r.invoice.value
    << " customer=" << r.customer.value << " customer_name=" << r.customer_name
    << " owner=" << r.owner << " team=" << r.team << " topic=" << r.topic << " severity=P"
    << static_cast<int>(r.severity) + 1 << " amount_at_risk_minor=" << r.amount_at_risk_minor
    << " recovered_minor=" << r.recovered_minor << " currency=" << r.currency
    << " deadline=" << TimeText(r.deadline) << " opened_at=" << TimeText(r.opened_at)
    << " effective_at=" << TimeText(r.effective_at) << " age_days=" << r.age_days
    << " time_weighted_loss=" << r.time_weighted_loss << " confidence=" << r.confidence
    << " reason=\"" << r.reason << "\" note=\"" << r.note << "\"}";
  return o.str();
}

std::string FirstDifference(const std::vector<ExceptionRecord>& want,
                            const std::vector<ExceptionRecord>& got) {
  if (want == got) return "";
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  std::ostringstream o;
  o << "reference has " << want.size() << " records, this run " << got.size()
    << "; first difference at index " << i << " (sorted by exception_id, sequence)\n";
  for (size_t k = i; k < i + 3; ++k) {
    o << "  reference[" << k << "]: " << (k < want.size() ? Describe(want[k]) : "(none)") << "\n";
    o << "  this run [" << k << "]: " << (k < got.size() ? Describe(got[k]) : "(none)") << "\n";
  }
  return o.str();
}

void SortRecords(std::vector<ExceptionRecord>& records) {
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return std::tie(a.exception_id, a.sequence) < std::tie(b.exception_id, b.sequence);
  });
}

void FiguresFold::Add(std::vector<matcher::FiguresChange> changes) {
  for (matcher::FiguresChange& c : changes) {
    const auto key = std::pair(c.tenant.value, c.deal.value);
    auto it = last.find(key);
    const std::optional<matcher::DealFigures> was =
        it == last.end() ? std::nullopt : std::optional(it->second);
    if (error.empty() && c.before != was) {
      error = "a figures change of " + key.first + "/" + key.second +
              " does not start from what was last reported for it";
    }
    last[key] = std::move(c.after);
  }
}

std::string Describe(const std::pair<std::string, std::string>& key,
                     const matcher::DealFigures& f) {
  std::ostringstream o;
  o << "{" << key.first << "/" << key.second << " booked=" << f.booked
    << " booked_minor=" << f.booked_minor << " billed_minor=" << f.billed_minor
    << " collected_minor=" << f.collected_minor << " currency=" << f.currency
    << " closed_at=" << TimeText(f.closed_at)
    << " first_billed_at=" << (f.first_billed_at ? TimeText(*f.first_billed_at) : "none")
    << " first_collected_at=" << (f.first_collected_at ? TimeText(*f.first_collected_at) : "none")
    << "}";
  return o.str();
}

std::string FiguresDifference(const FiguresFold& want, const FiguresFold& got) {
  if (!got.error.empty()) return got.error;
  if (want.last == got.last) return "";
  std::ostringstream o;
  o << "final figures differ (reference " << want.last.size() << " deals, this run "
    << got.last.size() << ")\n";
  for (const auto& [key, f] : want.last) {
    auto it = got.last.find(key);
    if (it == got.last.end()) {
      o << "  reference: " << Describe(key, f) << "\n  this run:  (none)\n";
      return o.str();
    }
    if (!(it->second == f)) {
      o << "  reference: " << Describe(key, f) << "\n  this run:  " << Describe(key, it->second)
        << "\n";
      return o.str();
    }
  }
  for (const auto& [key, f] : got.last) {
    if (!want.last.contains(key)) {
      o << "  reference: (none)\n  this run:  " << Describe(key, f) << "\n";
    }
  }
  return o.str();
}

}  // namespace closeloop::property
