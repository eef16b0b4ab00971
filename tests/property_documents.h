// The generated companies of the property test (property_test.cc): the
// sample company with the documents it adds to it. For tests only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "app/sample_company.h"
#include "matcher/types.h"

namespace closeloop::property {

// The wall-clock time the generated companies are made at.
constexpr matcher::EventTime kNow =
    matcher::EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

// Documents added to every generated company, in each of its tenants under
// the same ids, for what the sample company does not show (or shows only in
// some seeds): recurring plans, deal amount changes, won deals lost later,
// cancelled orders, credit memos, voids and re-issues, partial, failed,
// refunded and moved payments, fuzzy links of invoices and orders with one
// and two candidates, documents older than their deal's first version, and
// every exception kind. Their ids start with "X-"; their times vary by seed.
std::vector<matcher::Document> ExtraDocuments(uint32_t seed);

// A document with what delivery needs to know about it.
struct Delivered {
  matcher::Document doc;
  matcher::Source source;
  matcher::EventTime time;
  std::string key;  // tenant and document id; decides the partition
};

// FNV-1a: unlike std::hash, the same partitions for a seed on every platform.
uint32_t KeyHash(const std::string& key);

struct Company {
  uint32_t seed = 0;
  app::SampleCompany sample;
  std::vector<Delivered> docs;  // in event-time order
  // Documents before `barrier` are delivered first; then every watermark
  // reaches just before it and the commands are applied; then the rest.
  matcher::EventTime barrier = matcher::kMaxTime;
  std::vector<matcher::Command> commands;
};

// The sample company of `seed` (15 to 30 deals per tenant), with
// ExtraDocuments, versions of documents sent again unchanged at later event
// times (as a CDC feed re-sends a row) and a barrier for commands unless
// `extras` is false.
Company MakeCompany(uint32_t seed, bool extras = true);

}  // namespace closeloop::property
