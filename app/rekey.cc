#include "app/rekey.h"

#include <google/protobuf/util/time_util.h>

#include "ingest/normalize.h"

namespace closeloop::app {
namespace {

v1::Source ToWire(matcher::Source s) { return static_cast<v1::Source>(static_cast<int>(s) + 1); }

}  // namespace

absl::Status CheckRole(const Config& config, Role role) {
  const int tasks = config.pipeline.tasks;
  if (role.kind == Role::kAll && tasks > 1) {
    return absl::InvalidArgumentError(
        "pipeline.tasks is " + std::to_string(tasks) +
        ": run one `closeloop run --role ingest` and one `closeloop run --role matcher --task K` "
        "for each K from 0 to " +
        std::to_string(tasks - 1));
  }
  if (role.kind == Role::kMatcher && (role.task < 0 || role.task >= tasks)) {
    return absl::InvalidArgumentError(
        "--task " + std::to_string(role.task) + " is not a matcher task: pipeline.tasks is " +
        std::to_string(tasks) + ", so tasks are 0 to " + std::to_string(tasks - 1));
  }
  return absl::OkStatus();
}

Config ConfigForRole(Config config, Role role) {
  if (role.kind == Role::kAll) return config;
  const std::string name =
      role.kind == Role::kIngest ? "ingest" : "task-" + std::to_string(role.task);
  config.kafka.transactional_id = config.TransactionalId() + "-" + name;
  config.state_dir += "/" + name;
  return config;
}

int32_t TaskOfTenant(std::string_view tenant, int tasks) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : tenant) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int32_t>(h % static_cast<uint64_t>(tasks));
}

// The `type` label of closeloop_events_consumed_total.
const char* TypeOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kDeal:
      return "deal";
    case v1::Event::kOrder:
      return "order";
    case v1::Event::kInvoice:
      return "invoice";
    case v1::Event::kPayment:
      return "payment";
    default:
      return "command";
  }
}

const std::string& TenantOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kDeal:
      return event.deal().tenant_id();
    case v1::Event::kOrder:
      return event.order().tenant_id();
    case v1::Event::kInvoice:
      return event.invoice().tenant_id();
    case v1::Event::kPayment:
      return event.payment().tenant_id();
    case v1::Event::kCommand:
      return event.command().tenant_id();
    default: {
      static const std::string none;  // watermarks belong to no tenant
      return none;
    }
  }
}

state::OutboxRecord RekeyedRecord(const v1::Event& event, const ingest::DeadLetter* original,
                                  const std::string& events_topic, int tasks) {
  const std::string& tenant = TenantOf(event);
  state::OutboxRecord r{
      .topic = events_topic, .key = tenant, .partition = TaskOfTenant(tenant, tasks)};
  if (original == nullptr) {
    r.value = event.SerializeAsString();
  } else {
    ingest::DeadLetter fit = *original;
    ingest::TrimOriginal(fit);
    r.value = ingest::WithOriginal(event, fit).SerializeAsString();
  }
  return r;
}

void WatermarkSender::Append(const matcher::WatermarkSet& watermarks, matcher::EventTime now,
                             bool read_records, std::vector<state::OutboxRecord>& out) {
  if (!read_records && now - last_sent_at_ < kIdleInterval) return;
  const size_t before = out.size();
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    const auto source = static_cast<matcher::Source>(s);
    const auto partitions = watermarks.Partitions(source);
    for (const auto& [partition, time] : partitions) {
      if (!Rose(source, partition, time)) continue;
      sent_[{source, partition}] = time;
      v1::Event event;
      v1::Watermark& w = *event.mutable_watermark();
      w.set_source(ToWire(source));
      w.set_source_partition(partition);
      w.set_source_partitions(static_cast<int32_t>(partitions.size()));
      *w.mutable_event_time() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
          time.time_since_epoch().count());
      const std::string bytes = event.SerializeAsString();
      for (int32_t task = 0; task < tasks_; ++task) {
        out.push_back({.topic = topic_, .value = bytes, .partition = task});
      }
    }
  }
  if (out.size() > before) last_sent_at_ = now;
}

bool WatermarkSender::Pending(const matcher::WatermarkSet& watermarks) const {
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    const auto source = static_cast<matcher::Source>(s);
    for (const auto& [partition, time] : watermarks.Partitions(source)) {
      if (Rose(source, partition, time)) return true;
    }
  }
  return false;
}

bool WatermarkSender::Rose(matcher::Source source, int partition, matcher::EventTime time) const {
  if (time == matcher::kMinTime) return false;  // nothing known yet
  auto it = sent_.find({source, partition});
  return it == sent_.end() || it->second < time;
}

void ApplyWatermark(const v1::Watermark& record, matcher::WatermarkSet& watermarks) {
  const auto source = static_cast<matcher::Source>(static_cast<int>(record.source()) - 1);
  if (static_cast<int>(watermarks.Partitions(source).size()) != record.source_partitions()) {
    watermarks.SetPartitionCount(source, record.source_partitions());
  }
  watermarks.Advance(source, record.source_partition(), ingest::ToEventTime(record.event_time()));
}

}  // namespace closeloop::app
