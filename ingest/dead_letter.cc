#include "ingest/dead_letter.h"

#include <memory>

namespace closeloop::ingest {

absl::Status SendDeadLetter(RdKafka::Producer& producer, const std::string& topic,
                            const DeadLetter& letter) {
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  for (const auto& [key, value] : letter.headers) headers->add(key, value);
  headers->add(kHeaderTopic, letter.topic);
  headers->add(kHeaderPartition, std::to_string(letter.partition));
  headers->add(kHeaderOffset, std::to_string(letter.offset));
  headers->add(kHeaderReason, ReasonName(letter.rejection.reason));
  if (!letter.rejection.field.empty()) headers->add(kHeaderField, letter.rejection.field);
  headers->add(kHeaderError, letter.rejection.message);
  const RdKafka::ErrorCode err =
      producer.produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                       const_cast<char*>(letter.value.data()), letter.value.size(),
                       letter.key.empty() ? nullptr : letter.key.data(), letter.key.size(), 0,
                       headers.get(), nullptr);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("dead letter to " + topic + ": " + RdKafka::err2str(err));
  }
  headers.release();  // the producer owns the headers once produce succeeded
  return absl::OkStatus();
}

}  // namespace closeloop::ingest
