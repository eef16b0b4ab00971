// Pipeline::PublishSnapshot: the metrics and the HTTP snapshot (readiness,
// books) the pipeline thread hands to the HTTP server.
#include <algorithm>
#include <chrono>
#include <memory>

#include "app/consumer_lag.h"
#include "app/pipeline.h"
#include "app/report.h"

namespace closeloop::app {
namespace {

// Snapshots for HTTP are made at most this often; scrapes are much rarer.
constexpr auto kSnapshotInterval = std::chrono::milliseconds(500);
// The broker's reachability (for /readyz) is checked this often.
constexpr auto kBrokerCheckInterval = std::chrono::seconds(5);

}  // namespace

void Pipeline::PublishSnapshot(matcher::EventTime now, bool force) {
  const auto steady = std::chrono::steady_clock::now();
  // A snapshot walks every open exception: with very many, wait ten times
  // as long as the last one took, so that it never takes more than about a
  // tenth of the pipeline's time.
  if (!force && steady - last_snapshot_ < std::max<std::chrono::steady_clock::duration>(
                                              kSnapshotInterval, 10 * snapshot_cost_)) {
    return;
  }
  last_snapshot_ = steady;
  if (steady - last_broker_check_ >= kBrokerCheckInterval) {
    last_broker_check_ = steady;
    broker_reachable_ = BrokerReachable(publisher_->producer(), 1000);
  }
  PipelineProbe probe{.now = now};
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    probe.watermarks[i] = watermarks_.Of(static_cast<matcher::Source>(i));
    probe.stalled[i] = stalled_since_[i].has_value();
  }
  const ConsumerLag lag = ReadConsumerLag(
      *consumer_,
      [&](const std::string& topic, int32_t partition) { return StoredOffset(topic, partition); },
      StartsFromEnd());
  probe.consumer_lag = lag.by_topic;
  const bool store_open = store_->status().ok();
  probe.state_store_bytes = static_cast<int64_t>(store_->Stats().disk_bytes());
  std::string why;
  if (!store_open) {
    why = "state store not open";
  } else if (!broker_reachable_) {
    why = "broker not reachable";
  } else if (lag.assigned == 0) {
    why = "no input partitions assigned yet";
  } else if (lag.unknown > 0) {
    why = std::to_string(lag.unknown) + " assigned partitions without known offsets yet";
  } else if (lag.total > config_.http.ready_max_lag) {
    why = std::to_string(lag.total) + " records behind (http.ready_max_lag " +
          std::to_string(config_.http.ready_max_lag) + ")";
  }
  probe.ready = why.empty();
  metrics_.Refresh(stats_, books_, probe);
  if (snapshots_ != nullptr) {
    auto snapshot = std::make_shared<ServiceSnapshot>();
    snapshot->metrics_text = metrics_.Text();
    snapshot->ready = probe.ready;
    snapshot->not_ready_reason = std::move(why);
    snapshot->report = SnapshotOf(books_, now, config_.report.trailing_period);
    snapshots_->Publish(std::move(snapshot));
  }
  snapshot_cost_ = std::chrono::steady_clock::now() - steady;
}

}  // namespace closeloop::app
