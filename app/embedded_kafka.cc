#include "app/embedded_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace closeloop::app {

absl::StatusOr<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Start(int brokers) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(std::string("embedded kafka: ") + err);
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(rk);
    return absl::InternalError("embedded kafka: could not start the mock cluster");
  }
  std::unique_ptr<EmbeddedKafka> kafka(new EmbeddedKafka());
  kafka->handle_ = rk;
  kafka->cluster_ = cluster;
  kafka->bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster);
  return kafka;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status EmbeddedKafka::CreateTopic(const std::string& topic, int partitions) {
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return absl::InternalError("embedded kafka: create topic " + topic + ": " +
                               rd_kafka_err2str(err));
  }
  return absl::OkStatus();
}

void EmbeddedKafka::SetBrokerDown(int broker_id, bool down) {
  if (down) {
    rd_kafka_mock_broker_set_down(cluster_, broker_id);
  } else {
    rd_kafka_mock_broker_set_up(cluster_, broker_id);
  }
}

}  // namespace closeloop::app
