// The Pipeline's roles around the internal events topic (app/rekey.h):
// what the ingest stage writes to it, and the check that it has one
// partition per matcher task.
#include <memory>

#include "app/kafka_clients.h"
#include "app/pipeline.h"

namespace closeloop::app {

void Pipeline::Rekey(ingest::Batch& batch, matcher::EventTime now,
                     std::vector<state::OutboxRecord>& out) {
  const std::string& topic = config_.topics.events;
  const int tasks = config_.pipeline.tasks;
  for (const v1::Event& event : batch.events) {
    ++stats_.events;
    ++stats_.consumed[{event.origin().topic(), TypeOf(event)}];
    out.push_back(RekeyedRecord(event, nullptr, topic, tasks));
  }
  for (const ingest::CommandRecord& command : batch.commands) {
    ++stats_.commands;
    ++stats_.consumed[{command.original.topic, "command"}];
    out.push_back(RekeyedRecord(command.event, &command.original, topic, tasks));
  }
  batch.commands.clear();  // the matcher tasks apply them
  // After the events they cover, in every partition: a matcher task applies
  // a watermark only once it has read what came before it.
  tracker_.Publish(now, watermarks_);
  watermark_sender_.Append(watermarks_, out);
}

absl::Status Pipeline::CheckEventsTopic() {
  const std::string& topic = config_.topics.events;
  const int tasks = config_.pipeline.tasks;
  if (config_.kafka.create_topics) {
    auto admin = MakeProducer(config_, bootstrap_);
    if (!admin.ok()) return admin.status();
    if (absl::Status s = EnsureTopics(**admin, {topic}, tasks); !s.ok()) return s;
  }
  std::string err;
  std::unique_ptr<RdKafka::Topic> handle(
      RdKafka::Topic::create(consumer_.get(), topic, nullptr, err));
  RdKafka::Metadata* raw = nullptr;
  if (!handle || consumer_->metadata(false, handle.get(), &raw, 10000) != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("metadata of " + topic + ": " + err);
  }
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  const RdKafka::TopicMetadata* t =
      metadata->topics()->empty() ? nullptr : metadata->topics()->front();
  const int partitions = t == nullptr || t->err() != RdKafka::ERR_NO_ERROR
                             ? 0
                             : static_cast<int>(t->partitions()->size());
  if (partitions != tasks) {
    return absl::FailedPreconditionError(
        "topics.events " + topic + " has " + std::to_string(partitions) +
        " partitions but pipeline.tasks is " + std::to_string(tasks) +
        ": every matcher task reads one partition, and the ingest stage routes by the partition "
        "count; create the topic with " +
        std::to_string(tasks) +
        " partitions (a new name in topics.events), or set pipeline.tasks to match");
  }
  return absl::OkStatus();
}

}  // namespace closeloop::app
