#include "alerts/publisher.h"

namespace closeloop::alerts {

Publisher::Publisher(RdKafka::Producer& producer, std::string topic, Encoding encoding)
    : producer_(producer), topic_(std::move(topic)), encoding_(encoding) {}

absl::Status Publisher::Send(const std::string& topic, const std::string& key,
                             const std::string& value) {
  for (int attempt = 0;; ++attempt) {
    const RdKafka::ErrorCode err = producer_.produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return absl::OkStatus();
    if (err != RdKafka::ERR__QUEUE_FULL || attempt == 100) {
      return absl::UnavailableError("publish to " + topic + ": " + RdKafka::err2str(err));
    }
    producer_.poll(100);  // let deliveries drain the queue
  }
}

absl::Status Publisher::Publish(const std::vector<matcher::ExceptionRecord>& records,
                                matcher::EventTime detected_at) {
  for (const matcher::ExceptionRecord& r : records) {
    const std::string value = Encode(ToProto(r, detected_at), encoding_);
    if (absl::Status s = Send(topic_, r.exception_id, value); !s.ok()) return s;
    if (!r.topic.empty() && r.topic != topic_) {
      if (absl::Status s = Send(r.topic, r.exception_id, value); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Publisher::Publish(const v1::ExceptionRecord& record) {
  return Send(topic_, record.exception_id(), Encode(record, encoding_));
}

}  // namespace closeloop::alerts
