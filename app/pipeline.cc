#include "app/pipeline.h"

#include <set>

#include "alerts/operational.h"
#include "app/kafka_clients.h"
#include "ingest/dead_letter.h"
#include "ingest/normalize.h"
#include "spdlog/spdlog.h"

namespace closeloop::app {
namespace {

ingest::Reason ReasonOf(matcher::CommandRejection::Why why) {
  switch (why) {
    case matcher::CommandRejection::Why::kUnknownException:
      return ingest::Reason::kUnknownException;
    case matcher::CommandRejection::Why::kExceptionNotOpen:
      return ingest::Reason::kExceptionNotOpen;
    case matcher::CommandRejection::Why::kReplayedCommand:
      return ingest::Reason::kReplayedCommand;
  }
  return ingest::Reason::kInvalidValue;
}

matcher::TenantDirectory TenantsOf(const Config& config) {
  return {config.defaults, config.tenants};
}

ingest::WatermarkTracker::Options TrackerOptions(const Config& config) {
  return {.idle_after = config.time.idle_after,
          .max_future_skew = config.time.max_future_skew,
          .silence_limit = config.time.source_silence_limit};
}

}  // namespace

Pipeline::Pipeline(const Config& config, std::string bootstrap)
    : config_(config),
      bootstrap_(std::move(bootstrap)),
      tenants_(TenantsOf(config)),
      engine_(tenants_, store_),
      started_at_(ingest::WallNow()),
      tracker_(TrackerOptions(config), started_at_) {}

Pipeline::~Pipeline() {
  if (consumer_) consumer_->close();
}

absl::Status Pipeline::Start() {
  auto producer = MakeProducer(config_, bootstrap_);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  const TopicsConfig& t = config_.topics;
  if (config_.kafka.create_topics) {
    const std::vector<std::string> standard = t.Names();
    std::set<std::string> topics(standard.begin(), standard.end());
    // Per-team copies go to the topics routing names.
    for (const auto& [name, rules] : tenants_.tenants) {
      for (const auto& [kind, route] : rules.routing) {
        if (!route.topic.empty()) topics.insert(route.topic);
      }
    }
    for (const auto& [kind, route] : tenants_.defaults.routing) {
      if (!route.topic.empty()) topics.insert(route.topic);
    }
    absl::Status s =
        EnsureTopics(*producer_, {topics.begin(), topics.end()}, config_.kafka.topic_partitions);
    if (!s.ok()) return s;
  }
  auto consumer = MakeConsumer(config_, bootstrap_);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  using ingest::DocType;
  using matcher::Source;
  std::vector<ingest::TopicBinding> bindings = {
      {t.deals.name, DocType::kDeal, t.deals.format, Source::kCrm},
      {t.orders.name, DocType::kOrder, t.orders.format, Source::kErp},
      {t.invoices.name, DocType::kInvoice, t.invoices.format, Source::kBilling},
      {t.payments.name, DocType::kPayment, t.payments.format, Source::kPayments},
      {t.commands, DocType::kCommand, ingest::Format::kAuto, std::nullopt}};
  // Source adapters (SPEC §3): debezium and salesforce-cdc topics.
  for (const InputTopic* topic : {&t.deals, &t.orders, &t.invoices, &t.payments}) {
    if (!ingest::IsAdapterFormat(topic->format) || !topic->mapping) continue;
    for (ingest::TopicBinding& b : bindings) {
      if (b.name != topic->name) continue;
      adapters_.push_back(ingest::MakeAdapter(topic->format, b.type, *topic->mapping,
                                              config_.limits, record_cache_));
      b.adapter = adapters_.back().get();
    }
  }
  input_ =
      std::make_unique<ingest::Input>(*consumer_, std::move(bindings), config_.limits, tracker_);
  publisher_ = std::make_unique<alerts::Publisher>(
      *producer_, t.exceptions,
      t.exceptions_format == "protobuf" ? alerts::Encoding::kProtobuf : alerts::Encoding::kJson);
  return input_->Subscribe();
}

absl::Status Pipeline::RunBatch() {
  ingest::Batch batch;
  if (absl::Status s =
          input_->Poll(config_.pipeline.batch_max_records, config_.pipeline.batch_max_wait, batch);
      !s.ok()) {
    return s;
  }
  stats_.records += batch.records;
  std::vector<matcher::ExceptionRecord> records;
  for (const v1::Event& event : batch.events) {
    ++stats_.events;
    engine_.Apply(ingest::ToDocument(event), watermarks_, records);
  }
  const matcher::EventTime now = ingest::WallNow();
  tracker_.Publish(now, watermarks_);
  engine_.Advance(watermarks_, records);
  // People act on what was published: commands apply after the batch's documents.
  for (ingest::CommandRecord& command : batch.commands) {
    ++stats_.commands;
    auto rejection =
        engine_.ApplyCommand(ingest::ToCommand(command.event.command()), watermarks_, records);
    if (!rejection) continue;
    command.original.rejection = {ReasonOf(rejection->why), "exception_id", rejection->message};
    batch.dead_letters.push_back(std::move(command.original));
  }
  for (const ingest::DeadLetter& letter : batch.dead_letters) {
    ++stats_.dead_letters[ingest::ReasonName(letter.rejection.reason)];
    spdlog::debug("dead letter {}[{}]@{}: {}", letter.topic, letter.partition, letter.offset,
                  letter.rejection.message);
    if (absl::Status s = ingest::SendDeadLetter(*producer_, config_.topics.dlq, letter); !s.ok()) {
      return s;
    }
  }
  stats_.exception_records += static_cast<int64_t>(records.size());
  if (absl::Status s = publisher_->Publish(records, now); !s.ok()) return s;
  if (absl::Status s = ReportStalls(now); !s.ok()) return s;
  if (producer_->outq_len() > 0) {
    // Nothing is reported done before the broker has it. A broker outage
    // keeps us here, retrying, until it returns.
    while (producer_->flush(1000) == RdKafka::ERR__TIMED_OUT) {
      spdlog::warn("waiting for the broker to accept {} records", producer_->outq_len());
    }
  }
  return absl::OkStatus();
}

absl::Status Pipeline::ReportStalls(matcher::EventTime now) {
  const TopicsConfig& t = config_.topics;
  const std::array<std::pair<const char*, const std::string*>, matcher::kSourceCount> names = {
      {{"crm", &t.deals.name},
       {"erp", &t.orders.name},
       {"billing", &t.invoices.name},
       {"payments", &t.payments.name}}};
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    const auto source = static_cast<matcher::Source>(i);
    const bool stalled = tracker_.Stalled(source, now);
    if (stalled == stalled_since_[i].has_value()) continue;
    if (stalled) {
      stalled_since_[i] = tracker_.LastActivity(source);
      ++stats_.stalls;
    }
    spdlog::warn("source {} {}", names[i].first, stalled ? "stalled" : "resumed");
    const auto record = alerts::SourceStalledRecord(names[i].first, *names[i].second,
                                                    *stalled_since_[i], now, !stalled);
    if (absl::Status s = publisher_->Publish(record); !s.ok()) return s;
    if (!stalled) stalled_since_[i].reset();
  }
  return absl::OkStatus();
}

absl::Status Pipeline::Run(const std::atomic<bool>& stop, bool until_idle) {
  while (!stop.load()) {
    if (absl::Status s = RunBatch(); !s.ok()) return s;
    if (until_idle && tracker_.AllCaughtUp()) {
      bool done = true;
      for (int s = 0; s < matcher::kSourceCount; ++s) {
        done &= watermarks_.Of(static_cast<matcher::Source>(s)) >= started_at_;
      }
      if (done) break;
    }
  }
  return absl::OkStatus();
}

}  // namespace closeloop::app
