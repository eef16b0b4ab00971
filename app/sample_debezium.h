// The sample company (sample_company.h) as a Debezium PostgreSQL connector
// would publish it: one change event per input event, in the Kafka Connect
// {schema, payload} wrapper, each document type a table keyed by (tenant, id),
// with the encodings a real capture mixes: NUMERIC amounts as DECIMAL bytes
// (deals, payments), string (orders) and double (invoices); times as
// MicroTimestamp, ZonedTimestamp and Timestamp; billing plans as JSON text.
// With DebeziumTopicsYaml() as the topics section, the adapters turn these
// records back into exactly the sample's documents. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "app/sample_company.h"

namespace closeloop::app {

struct DebeziumRecord {
  std::string topic_kind;  // "deals", "orders", "invoices" or "payments"
  std::string key;         // JSON: {schema, payload: {tenant, id}}
  std::string value;       // JSON: {schema, payload: {before, after, source, op, ts_ms}}
};

// The sample's events (not its bad records) as Debezium change events, in
// the order of company.events: "c" for a row's first version, "u" with the
// previous version as before for later ones.
std::vector<DebeziumRecord> RenderDebezium(const SampleCompany& company);

// A `topics:` config section with the four input topics as format debezium
// and the mapping from the rendered columns to the canonical fields; topic
// names are "sample.<kind>".
std::string DebeziumTopicsYaml();

}  // namespace closeloop::app
