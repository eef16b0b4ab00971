#include "app/topic_reader.h"

#include <memory>
#include <set>

namespace closeloop::app {

absl::Status ForEachRecord(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                           const std::function<void(TopicRecord)>& each) {
  // Every topic's metadata, not the one topic's: a request naming a topic
  // the cluster does not have creates it where auto-creation is on (as on
  // the embedded Kafka), and reading would then report an empty topic.
  RdKafka::Metadata* md = nullptr;
  if (consumer.metadata(true, nullptr, &md, 10000) != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("metadata of " + topic);
  }
  std::vector<RdKafka::TopicPartition*> parts;
  for (const RdKafka::TopicMetadata* tm : *md->topics()) {
    if (tm->topic() != topic) continue;
    for (const RdKafka::PartitionMetadata* pm : *tm->partitions()) {
      parts.push_back(
          RdKafka::TopicPartition::create(topic, pm->id(), RdKafka::Topic::OFFSET_BEGINNING));
    }
  }
  delete md;
  // Saying "read 0" of a topic that does not exist would hide a mistyped
  // name or a cluster other than the one meant.
  if (parts.empty()) {
    return absl::NotFoundError("topic " + topic + " does not exist on the cluster");
  }
  consumer.assign(parts);
  std::set<int32_t> pending;
  for (auto* p : parts) pending.insert(p->partition());
  RdKafka::TopicPartition::destroy(parts);

  int idle_polls = 0;
  while (!pending.empty() && idle_polls < 300) {
    std::unique_ptr<RdKafka::Message> m(consumer.consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      pending.erase(m->partition());
    } else if (m->err() == RdKafka::ERR_NO_ERROR) {
      idle_polls = 0;
      if (!pending.contains(m->partition())) continue;  // written after its end was reached
      TopicRecord r{.partition = m->partition(), .offset = m->offset()};
      if (m->key()) r.key = *m->key();
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      if (RdKafka::Headers* h = m->headers()) {
        for (const auto& header : h->get_all()) {
          r.headers.emplace_back(header.key(), std::string(static_cast<const char*>(header.value()),
                                                           header.value_size()));
        }
      }
      each(std::move(r));
    } else {
      ++idle_polls;
    }
  }
  if (!pending.empty()) return absl::DeadlineExceededError("could not reach the end of " + topic);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TopicRecord>> ReadTopic(const std::string& bootstrap,
                                                   const std::string& topic) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", "closeloop-reader", err);
  conf->set("enable.partition.eof", "true", err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(err);
  std::vector<TopicRecord> out;
  const absl::Status read =
      ForEachRecord(*consumer, topic, [&](TopicRecord r) { out.push_back(std::move(r)); });
  consumer->close();
  if (!read.ok()) return read;
  return out;
}

}  // namespace closeloop::app
