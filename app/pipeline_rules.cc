// Pipeline: tenant rules changed between runs. Each tenant's rules are kept
// in the store as FormatRules shows them; at start, the subjects of a tenant
// whose rules differ (or were never kept: a store from before) are evaluated
// again under the rules as they are now (Engine::Resettle), in bounded
// pieces before input is read, like a drain of due timers.
#include <set>

#include "app/pipeline.h"
#include "ingest/utf8.h"
#include "spdlog/spdlog.h"

namespace closeloop::app {
namespace {

// Meta record "default_rules": the defaults' rules (FormatRules) the subjects
// of every tenant without a record of its own were last evaluated under.
constexpr std::string_view kDefaultRules = "default_rules";
// Meta records "tenant_rules/<tenant>": a tenant's own, written for every
// configured tenant and for one whose subjects were evaluated again.
constexpr std::string_view kTenantRules = "tenant_rules/";
// A tenant's record while its subjects are being evaluated again: never
// FormatRules text.
constexpr std::string_view kStoppedMidway = "";

// A tenant id as the log names it: a record's text, which may hold a line
// break (a forged log line after it) or a terminal's escape sequences.
std::string ForLog(const std::string& tenant) { return ingest::Excerpt(tenant, 256); }

}  // namespace

absl::Status Pipeline::PlanResettle() {
  std::set<std::string> stored;
  for (const matcher::TenantId& tenant : store_->Tenants()) stored.insert(tenant.value);
  if (!store_->status().ok()) return store_->status();
  auto defaults = store_->GetMeta(kDefaultRules);
  if (!defaults.ok()) return defaults.status();
  std::set<std::string> names = stored;
  for (const auto& [name, rules] : tenants_.tenants) names.insert(name);
  for (const std::string& name : names) {
    const matcher::TenantId tenant{name};
    std::string rules = FormatRules(tenants_.For(tenant));
    const std::string key = std::string(kTenantRules) + name;
    auto kept = store_->GetMeta(key);
    if (!kept.ok()) return kept.status();
    const bool own = kept->has_value();
    if (!own) *kept = *defaults;
    if (*kept == rules) {
      // A configured tenant's subjects do not follow the defaults, whose
      // record changes with them: it keeps a record of its own.
      if (!own && tenants_.tenants.contains(name)) store_->PutMeta(key, rules);
      continue;
    }
    if (!stored.contains(name)) {
      store_->PutMeta(key, rules);  // nothing to evaluate; committed with the first batch
      continue;
    }
    spdlog::info(
        "tenant {}: {}; its deals, orders and invoices in the store are evaluated again under "
        "the rules as they are now before input is read",
        ForLog(name),
        !kept->has_value()         ? "rules never recorded"
        : **kept == kStoppedMidway ? "the last run stopped before its subjects were all evaluated"
                                   : "rules changed since the last run");
    resettles_.push_back({tenant, std::move(rules), {}});
  }
  if (resettles_.empty()) store_->PutMeta(kDefaultRules, FormatRules(tenants_.defaults));
  return absl::OkStatus();
}

void Pipeline::Resettle(std::vector<matcher::ExceptionRecord>& records) {
  if (resettles_.empty()) return;
  TenantResettle& r = resettles_.front();
  const std::string key = std::string(kTenantRules) + r.tenant.value;
  if (!r.begun) {
    // Until the tenant is done, its record names no rules: a run stopped
    // midway leaves subjects evaluated under these rules and others not, and
    // the next start evaluates them all again, whatever its rules.
    store_->PutMeta(key, kStoppedMidway);
    r.begun = true;
  }
  const size_t before = records.size();
  const bool done = engine_->Resettle(r.tenant, watermarks_, records, r.cursor,
                                      static_cast<size_t>(config_.pipeline.batch_max_timers));
  r.records += static_cast<int64_t>(records.size() - before);
  if (!done) return;
  // Kept with the batch that finishes the tenant: a run stopped before
  // evaluates it again from the start, which changes nothing done already.
  store_->PutMeta(key, r.rules);
  spdlog::info(
      "tenant {}: evaluated under its rules as they are now; {} exception records at the stored "
      "watermarks (deadlines the new rules set follow as the watermarks advance)",
      ForLog(r.tenant.value), r.records);
  resettles_.pop_front();
  // Only now: a tenant not yet done has no record of its own, and the
  // defaults' record says what its subjects were evaluated under.
  if (resettles_.empty()) store_->PutMeta(kDefaultRules, FormatRules(tenants_.defaults));
}

}  // namespace closeloop::app
