#include "alerts/router.h"

namespace closeloop::alerts {

Router::Router(std::string topic, Encoding encoding)
    : topic_(std::move(topic)), encoding_(encoding) {}

void Router::Append(const std::vector<matcher::ExceptionRecord>& records,
                    matcher::EventTime detected_at, std::vector<state::OutboxRecord>& out) const {
  for (const matcher::ExceptionRecord& r : records) {
    out.push_back({.topic = topic_,
                   .key = r.exception_id,
                   .value = encoding_ == Encoding::kJson
                                ? EncodeJson(r, detected_at)
                                : Encode(ToProto(r, detected_at), encoding_)});
    if (!r.topic.empty() && r.topic != topic_) {
      state::OutboxRecord copy = out.back();
      copy.topic = r.topic;
      out.push_back(std::move(copy));
    }
  }
}

void Router::Append(const v1::ExceptionRecord& record,
                    std::vector<state::OutboxRecord>& out) const {
  out.push_back(
      {.topic = topic_, .key = record.exception_id(), .value = Encode(record, encoding_)});
}

}  // namespace closeloop::alerts
