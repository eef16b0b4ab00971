// The source adapter part of the config (SPEC §3 "Source adapters"):
// topics.<role>.mapping and topics.<role>.won_when, read into an
// ingest::Mapping and written back by check-config. Kept apart from
// config.cc so the adapters' settings stay in one place. Pure.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <variant>

#include "app/config.h"
#include "ingest/mapping.h"

namespace closeloop::app {

// Reads `mapping` (a map: canonical field -> source path, or
// {path | value, values, scale, time_unit}) and `won_when` (a map: field,
// equals | in, won_stage; an undefined or null node: none) of the input
// topic at dotted `path` (e.g. "topics.deals") carrying `type`, and checks
// the result (ingest::CheckMapping). Errors name the file, line, column and
// field, e.g. "topics.deals.mapping.amount.scale".
std::variant<ingest::Mapping, ConfigError> ReadMapping(const std::string& file,
                                                       const std::string& path,
                                                       ingest::DocType type,
                                                       const YAML::Node& mapping,
                                                       const YAML::Node& won_when);

// What is wrong with the deals topic's won_when.won_stage, or "" when nothing
// is: a tenant whose closed_won_stages lack it would never check a deal won
// on that topic, without a word. Checked for every tenant the topic can
// carry: the one a constant tenant_id names, those its tenant_id values map
// to, or else the defaults and every tenant configured.
std::string WonStageProblem(const Config& c);

// Writes `mapping` as the value of the current key (the `mapping` entry)
// and, when set, a `won_when` entry after it.
void EmitMapping(YAML::Emitter& out, const ingest::Mapping& mapping);

}  // namespace closeloop::app
