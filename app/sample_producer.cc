#include "app/sample_producer.h"

#include <google/protobuf/util/json_util.h>

#include "app/kafka_clients.h"
#include "nlohmann/json.hpp"

namespace closeloop::app {
namespace {

std::string Encoded(const v1::Event& event, int64_t i, bool json_only) {
  const google::protobuf::Message* m = PayloadOf(event);
  if (m == nullptr) return "";
  if (!json_only && i % 10 == 3) return m->SerializeAsString();  // some producers send Protobuf
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = json_only || i % 10 != 7;  // and some camelCase JSON
  (void)google::protobuf::util::MessageToJsonString(*m, &out, options);
  return out;
}

const std::string& TopicFor(const Config& config, const std::string& kind) {
  if (kind == "deals") return config.topics.deals.name;
  if (kind == "orders") return config.topics.orders.name;
  if (kind == "invoices") return config.topics.invoices.name;
  return config.topics.payments.name;
}

}  // namespace

absl::Status ProduceSampleCompany(const SampleCompany& company, const Config& config,
                                  const std::string& bootstrap, const ProduceOptions& options) {
  auto producer = MakeProducer(config, bootstrap);
  if (!producer.ok()) return producer.status();
  RdKafka::Producer& p = **producer;
  RdKafka::ErrorCode failed = RdKafka::ERR_NO_ERROR;
  auto send = [&](const std::string& topic, const std::string& key, const std::string& value) {
    for (;;) {
      const RdKafka::ErrorCode err = p.produce(
          topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
          const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
      if (err != RdKafka::ERR__QUEUE_FULL) {
        if (err != RdKafka::ERR_NO_ERROR) failed = err;
        return;
      }
      p.poll(50);
    }
  };
  int64_t i = 0;
  for (const v1::Event& e : company.events) {
    send(TopicFor(config, TopicKindOf(e)), KeyOf(e), Encoded(e, i++, options.json_only));
    if (options.pace && i % options.pace_every == 0) {
      if (absl::Status s = options.pace(i); !s.ok()) return s;
    }
  }
  if (options.include_bad_records) {
    for (const BadRecord& bad : company.bad_records) {
      send(TopicFor(config, bad.topic_kind), "bad", bad.bytes);
    }
  }
  if (failed != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("producing the sample company: " + RdKafka::err2str(failed));
  }
  if (p.flush(60000) != RdKafka::ERR_NO_ERROR || p.outq_len() > 0) {
    return absl::UnavailableError("the broker did not acknowledge the sample company within 60 s");
  }
  return absl::OkStatus();
}

std::string PlantedAsJsonLines(const SampleCompany& company) {
  std::string out;
  for (const PlantedProblem& p : company.planted) {
    out += nlohmann::json{{"tenant", p.tenant},
                          {"kind", matcher::KindName(p.kind)},
                          {"subject_id", p.subject_id},
                          {"amount_at_risk_minor", p.amount_at_risk_minor}}
               .dump();
    out += '\n';
  }
  return out;
}

}  // namespace closeloop::app
