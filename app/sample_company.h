// A generated sample company: two tenants, a few hundred deals with their
// orders, invoices and payments, most healthy and some with planted leakage
// whose exact amounts are known. Used by the demo, tests and benchmarks.
// Deterministic for a given seed and `now`. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "closeloop/v1/exception.pb.h"
#include "closeloop/v1/internal.pb.h"
#include "matcher/tenant.h"
#include "matcher/types.h"

namespace closeloop::app {

struct SampleOptions {
  uint32_t seed = 42;
  // The wall-clock "today" of the company; history lies before it.
  matcher::EventTime now;
  // Deals per tenant. Default: 150
  int deals_per_tenant = 150;
  // Bad records mixed into the input topics (garbage, negative amounts, ...).
  int bad_records = 6;
};

// A problem the generator planted: the exception it must raise and the amount
// at risk it must carry once the whole history has been processed.
struct PlantedProblem {
  std::string tenant;
  matcher::ExceptionKind kind;
  std::string subject_id;  // deal id, or invoice id for UNPAID
  int64_t amount_at_risk_minor = 0;
};

// A record that must land on the DLQ with `reason` (ingest::ReasonName).
struct BadRecord {
  std::string topic_kind;  // "deals", "orders", "invoices" or "payments"
  std::string bytes;
  std::string reason;
};

struct SampleCompany {
  std::vector<v1::Event> events;  // sorted by event time
  std::vector<PlantedProblem> planted;
  std::vector<BadRecord> bad_records;
  // Config of the two tenants (YAML `defaults:` and `tenants:` sections).
  std::string tenants_yaml;
};

SampleCompany GenerateSampleCompany(const SampleOptions& options);

// The rules of the sample's tenants, parsed from its tenants_yaml.
matcher::TenantDirectory SampleTenants(const SampleCompany& company);

// The id of what an exception record is about, as PlantedProblem::subject_id
// names it: the invoice for UNPAID, TERMS_MISMATCH and ORPHAN_INVOICE, the
// order for ORPHAN_ORDER, else the deal.
const std::string& SubjectOf(const v1::ExceptionRecord& record);
// The document an event carries (Deal, Order, Invoice or Payment), or null.
const google::protobuf::Message* PayloadOf(const v1::Event& event);
// The input topic kind ("deals", ...) of an event's payload.
std::string TopicKindOf(const v1::Event& event);
// Kafka key of an input record: tenant and document id.
std::string KeyOf(const v1::Event& event);

}  // namespace closeloop::app
