// Reading a tenant's rules (SPEC §4): the fields of the `defaults` section
// and of each tenant, over what it inherits. The config reader (config.cc)
// builds on it. Private to closeloop_config. Thread-compatible.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "app/config.h"
#include "app/config_walk.h"

namespace closeloop::app::config_walk {

// Each topic closeloop reads or writes, by its field under `topics`.
std::vector<std::pair<std::string, std::string>> TopicRoles(const TopicsConfig& t);

class RulesReader : public Walker {
 public:
  using Walker::Walker;

 protected:
  // Applies the fields given in `section` over `r` (the defaults, or a
  // tenant's copy of them). `topics` are the config's: no route may copy
  // exception records to one of them.
  void ReadRules(const Field& section, matcher::TenantRules& r, const TopicsConfig& topics) const;

 private:
  StringList Stages(const Field& f, bool allow_none) const;
  void ReadTolerance(const Field& section, matcher::TenantRules& r) const;
  StringList RequiredFields(const Field& f) const;
  // Increasing ages.
  std::vector<matcher::Duration> EscalationAges(const Field& f) const;
  // Three amounts, decreasing from P1's.
  std::vector<int64_t> SeverityAmounts(const Field& f) const;
  // Each currency given here replaces the inherited entry; a field an entry
  // leaves out is the tenant's general one.
  void ReadByCurrency(const Field& section, matcher::TenantRules& r) const;
  // Each kind given here merges over the inherited route: unmentioned kinds
  // and fields keep theirs.
  void ReadRouting(const Field& section, std::map<std::string, matcher::Route>& routing,
                   const TopicsConfig& topics) const;
};

}  // namespace closeloop::app::config_walk
