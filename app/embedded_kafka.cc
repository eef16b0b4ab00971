#include "app/embedded_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

namespace closeloop::app {
namespace {

// Kafka protocol ApiKeys.
int16_t ApiKeyOf(EmbeddedKafka::Request request) {
  using R = EmbeddedKafka::Request;
  switch (request) {
    case R::kProduce:
      return 0;
    case R::kFetch:
      return 1;
    case R::kListOffsets:
      return 2;
    case R::kMetadata:
      return 3;
    case R::kOffsetFetch:
      return 9;
    case R::kFindCoordinator:
      return 10;
    case R::kJoinGroup:
      return 11;
    case R::kHeartbeat:
      return 12;
    case R::kSyncGroup:
      return 14;
    case R::kInitProducerId:
      return 22;
    case R::kAddPartitionsToTxn:
      return 24;
    case R::kEndTxn:
      return 26;
  }
  return -1;
}

rd_kafka_resp_err_t CodeOf(EmbeddedKafka::Error error) {
  using E = EmbeddedKafka::Error;
  switch (error) {
    case E::kDisconnect:
      return RD_KAFKA_RESP_ERR__TRANSPORT;
    case E::kNotLeader:
      return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    case E::kRequestTimedOut:
      return RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
    case E::kCoordinatorNotAvailable:
      return RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE;
    case E::kNotCoordinator:
      return RD_KAFKA_RESP_ERR_NOT_COORDINATOR;
    case E::kCoordinatorLoading:
      return RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    case E::kMessageTooLarge:
      return RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
    case E::kRecordListTooLarge:
      return RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
    case E::kInvalidRecord:
      return RD_KAFKA_RESP_ERR_INVALID_RECORD;
    case E::kProducerFenced:
      return RD_KAFKA_RESP_ERR_PRODUCER_FENCED;
  }
  return RD_KAFKA_RESP_ERR_UNKNOWN;
}

}  // namespace

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
  if (reader_ != nullptr) rd_kafka_destroy(reader_);
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

absl::StatusOr<std::vector<EmbeddedKafka::LogStart>> EmbeddedKafka::LogStartOffsets(
    int timeout_ms) {
  char err[512];
  if (reader_ == nullptr) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), err, sizeof err) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(std::string("embedded kafka: ") + err);
    }
    reader_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (reader_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(std::string("embedded kafka: ") + err);
    }
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_resp_err_t e = rd_kafka_metadata(reader_, 1, nullptr, &metadata, timeout_ms);
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(std::string("embedded kafka: metadata: ") + rd_kafka_err2str(e));
  }
  std::vector<LogStart> out;
  absl::Status status;
  for (int t = 0; t < metadata->topic_cnt && status.ok(); ++t) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
    for (int p = 0; p < topic.partition_cnt; ++p) {
      LogStart start{.topic = topic.topic, .partition = topic.partitions[p].id};
      if (rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
              reader_, topic.topic, start.partition, &start.offset, &start.end, timeout_ms);
          e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status =
            absl::UnavailableError("embedded kafka: offsets of " + start.topic + " [" +
                                   std::to_string(start.partition) + "]: " + rd_kafka_err2str(e));
        break;
      }
      out.push_back(std::move(start));
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (!status.ok()) return status;
  return out;
}

void EmbeddedKafka::SetBrokerDown(int broker_id, bool down) {
  if (down) {
    rd_kafka_mock_broker_set_down(cluster_, broker_id);
  } else {
    rd_kafka_mock_broker_set_up(cluster_, broker_id);
  }
}

void EmbeddedKafka::SetLatency(int broker_id, int rtt_ms) {
  rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms);
}

void EmbeddedKafka::PushRequestErrors(Request request, int count, Error error) {
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count), CodeOf(error));
  rd_kafka_mock_push_request_errors_array(cluster_, ApiKeyOf(request), errors.size(),
                                          errors.data());
}

}  // namespace closeloop::app
