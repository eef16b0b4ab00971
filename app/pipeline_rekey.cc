// The Pipeline's roles around the internal events topic (app/rekey.h):
// what the ingest stage writes to it, the check that it has one partition
// per matcher task, and that a store keeps the split it was built under.
#include <filesystem>
#include <memory>

#include "app/kafka_clients.h"
#include "app/pipeline.h"

namespace closeloop::app {
namespace {

// Meta record "layout": the split the store was built under (CheckLayout).
constexpr std::string_view kLayout = "layout";
// Why a store refuses another split, and what to do.
constexpr std::string_view kStartingOver =
    ": a tenant's state is in the store of the task its id routes to, so another split sends "
    "its documents where nothing is known of it (false exceptions from both sides). Keep the "
    "split, or start over with a new state_dir and new output topics";

}  // namespace

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
  watermark_sender_.Append(watermarks_, now, batch.records > 0, out);
}

absl::Status Pipeline::CheckEventsTopic(const std::atomic<bool>& stop) {
  const std::string& topic = config_.topics.events;
  const int tasks = config_.pipeline.tasks;
  if (config_.kafka.create_topics) {
    auto admin = MakeProducer(config_, bootstrap_);
    if (!admin.ok()) return admin.status();
    if (absl::Status s = EnsureTopics(**admin, {topic}, tasks, stop); !s.ok()) return s;
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
        std::to_string(tasks) + " partitions, or set pipeline.tasks to match");
  }
  return absl::OkStatus();
}

absl::Status Pipeline::CheckNoStoreAbove() const {
  // A split's stores are state_dir/ingest and state_dir/task-K (the role's
  // config_.state_dir); the single process's is state_dir itself.
  std::filesystem::path dir = std::filesystem::path(config_.state_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // a trailing '/'
  const std::filesystem::path above = dir.parent_path();
  std::error_code ec;
  if (above.empty() || !std::filesystem::exists(above / "CURRENT", ec)) return absl::OkStatus();
  if (role_.kind != Role::kAll) {
    return absl::FailedPreconditionError(
        "state_dir " + above.string() +
        " holds the store of a single process (pipeline.tasks 1), not of a split into tasks" +
        std::string(kStartingOver));
  }
  return absl::FailedPreconditionError(
      "state_dir " + dir.string() + ": the directory above it, " + above.string() +
      ", holds a closeloop store (a RocksDB CURRENT file). Starting here would leave that store "
      "behind and read every input again (the shipped configs moved state_dir from "
      "/var/lib/closeloop to /var/lib/closeloop/store): move the store's files into " +
      dir.string() + ", or set state_dir to " + above.string());
}

absl::Status Pipeline::CheckLayout() {
  const std::string layout = role_.kind == Role::kAll
                                 ? "pipeline.tasks 1"
                                 : "pipeline.tasks " + std::to_string(config_.pipeline.tasks) +
                                       " and topics.events " + config_.topics.events;
  auto stored = store_->GetMeta(kLayout);
  if (!stored.ok()) return stored.status();
  if (!*stored) {
    store_->PutMeta(kLayout, layout);  // committed with the first batch
  } else if (**stored != layout) {
    return absl::FailedPreconditionError(
        "the state store in " + config_.state_dir + " was built with " + **stored +
        ", and the config now says " + layout + std::string(kStartingOver));
  }
  return absl::OkStatus();
}

}  // namespace closeloop::app
