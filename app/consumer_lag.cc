#include "app/consumer_lag.h"

#include <memory>
#include <vector>

namespace closeloop::app {

ConsumerLag ReadConsumerLag(RdKafka::KafkaConsumer& consumer, const ingest::OffsetLookup& stored,
                            bool from_latest) {
  ConsumerLag lag;
  std::vector<RdKafka::TopicPartition*> parts;
  if (consumer.assignment(parts) != RdKafka::ERR_NO_ERROR) return lag;
  consumer.position(parts);
  for (RdKafka::TopicPartition* tp : parts) {
    ++lag.assigned;
    int64_t low = RdKafka::Topic::OFFSET_INVALID, high = RdKafka::Topic::OFFSET_INVALID;
    if (consumer.get_watermark_offsets(tp->topic(), tp->partition(), &low, &high) !=
            RdKafka::ERR_NO_ERROR ||
        high < 0) {
      ++lag.unknown;
      continue;
    }
    // Nothing consumed from the partition yet: it starts where the store
    // says, else at its end or its beginning.
    int64_t position = tp->offset();
    if (position < 0)
      position = stored(tp->topic(), tp->partition()).value_or(from_latest ? high : low);
    const int64_t behind = high > position ? high - position : 0;
    lag.by_topic[tp->topic()] += behind;
    lag.total += behind;
  }
  RdKafka::TopicPartition::destroy(parts);
  return lag;
}

bool BrokerReachable(RdKafka::Handle& client, int timeout_ms) {
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode err = client.metadata(false, nullptr, &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> md(raw);
  return err == RdKafka::ERR_NO_ERROR;
}

}  // namespace closeloop::app
