// Produces a generated sample company onto the input topics, as the CRM, ERP,
// billing and payment systems would have: mostly snake_case JSON, some
// camelCase JSON and some binary Protobuf, keyed by tenant and document id,
// plus the planted bad records. Used by the demo, `closeloop sample`, tests
// and benchmarks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "app/config.h"
#include "app/sample_company.h"

namespace closeloop::app {

struct ProduceOptions {
  // Only canonical JSON (no camelCase, no Protobuf), e.g. for benchmarks that
  // compare decoders separately.
  bool json_only = false;
  bool include_bad_records = true;
  // Called after every `pace_every` records with the number sent so far; a
  // producer feeding a running consumer waits in it. An error stops
  // producing and is returned.
  std::function<absl::Status(int64_t sent)> pace;
  int64_t pace_every = 1000;
};

// Produces every event to the topic of its kind named by `config.topics`, and
// waits until the broker has acknowledged all of them.
absl::Status ProduceSampleCompany(const SampleCompany& company, const Config& config,
                                  const std::string& bootstrap, const ProduceOptions& options = {});

// The planted problems as JSON lines: tenant, kind, subject_id, amount_at_risk_minor.
std::string PlantedAsJsonLines(const SampleCompany& company);

}  // namespace closeloop::app
