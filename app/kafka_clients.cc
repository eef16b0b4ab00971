#include "app/kafka_clients.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "spdlog/spdlog.h"

namespace closeloop::app {
namespace {

// librdkafka's log lines and client errors, in the service's own log (its
// format and level) instead of librdkafka's lines on stderr, with the values
// of secret properties (IsSecretProperty) replaced by kRedacted wherever
// they appear. Called from librdkafka's threads; spdlog's default logger is
// thread-safe.
class KafkaLog final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_LOG:
        spdlog::log(LevelOf(event.severity()), "kafka {}: {}", event.fac(), Redacted(event.str()));
        break;
      case RdKafka::Event::EVENT_ERROR:
        spdlog::log(event.fatal() ? spdlog::level::critical : spdlog::level::warn,
                    "kafka error {}: {}", RdKafka::err2str(event.err()), Redacted(event.str()));
        break;
      default:  // statistics and throttling are not asked for
        break;
    }
  }

  void AddSecret(const std::string& value) {
    if (value.empty()) return;
    std::lock_guard lock(mu_);
    if (std::find(secrets_.begin(), secrets_.end(), value) == secrets_.end()) {
      secrets_.push_back(value);
    }
  }

  // `text` with every secret added so far replaced by kRedacted.
  std::string Redacted(std::string text) {
    std::lock_guard lock(mu_);
    for (const std::string& secret : secrets_) {
      for (size_t at = text.find(secret); at != std::string::npos;
           at = text.find(secret, at + kRedacted.size())) {
        text.replace(at, secret.size(), kRedacted);
      }
    }
    return text;
  }

 private:
  static spdlog::level::level_enum LevelOf(RdKafka::Event::Severity severity) {
    switch (severity) {
      case RdKafka::Event::EVENT_SEVERITY_EMERG:
      case RdKafka::Event::EVENT_SEVERITY_ALERT:
      case RdKafka::Event::EVENT_SEVERITY_CRITICAL:
        return spdlog::level::critical;
      case RdKafka::Event::EVENT_SEVERITY_ERROR:
        return spdlog::level::err;
      case RdKafka::Event::EVENT_SEVERITY_WARNING:
        return spdlog::level::warn;
      case RdKafka::Event::EVENT_SEVERITY_NOTICE:
      case RdKafka::Event::EVENT_SEVERITY_INFO:
        return spdlog::level::info;
      default:
        return spdlog::level::debug;
    }
  }

  std::mutex mu_;
  std::vector<std::string> secrets_;
};

KafkaLog kafka_log;

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    const Config& config, const std::string& bootstrap,
    const std::map<std::string, std::string>& own) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> all = own;
  all["bootstrap.servers"] = bootstrap;
  for (const auto& [key, value] : config.kafka.properties) all[key] = value;
  std::string err;
  for (const auto& [key, value] : all) {
    if (IsSecretProperty(key)) kafka_log.AddSecret(value);
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError("kafka property " + key + ": " +
                                        (IsSecretProperty(key) ? "refused (value redacted)" : err));
    }
  }
  // spdlog's registry is built on first use; build it here, before the
  // client's threads exist, not on one of them (TSan: a race between two
  // librdkafka threads, spdlog itself not being instrumented).
  spdlog::default_logger_raw();
  if (conf->set("event_cb", &kafka_log, err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError("kafka event callback: " + err);
  }
  return conf;
}

// closeloop's own settings of each kind of client (kafka.properties follow them).
std::map<std::string, std::string> ConsumerSettings(const Config& config) {
  return {{"group.id", config.kafka.group_id},
          {"client.id", "closeloop"},
          {"enable.partition.eof", "true"},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"},
          {"isolation.level", "read_committed"},
          // Every partition is assigned at an explicit offset (kafka.start_from
          // decides where one without a stored offset starts), so this applies
          // only when the broker's retention deleted records not read yet: the
          // first record still held, never the end, which would skip those too.
          {"auto.offset.reset", "earliest"}};
}

std::map<std::string, std::string> ProducerSettings() {
  return {{"client.id", "closeloop"}, {"enable.idempotence", "true"}, {"linger.ms", "5"}};
}

std::map<std::string, std::string> TransactionalSettings(const Config& config) {
  return {{"client.id", "closeloop"},
          {"transactional.id", config.TransactionalId()},
          {"linger.ms", "5"}};
}

}  // namespace

absl::Status CheckClientProperties(const Config& config) {
  // check-config prints secrets as kRedacted, and its output loads again (a
  // round trip): a config copied from it would send the placeholder as the
  // password, and the broker's refusal would not say why.
  for (const auto& [key, value] : config.kafka.properties) {
    if (IsSecretProperty(key) && value == kRedacted) {
      return absl::InvalidArgumentError(key + " is " + std::string(kRedacted) +
                                        ", which check-config prints in place of a secret; "
                                        "put the secret itself here");
    }
  }
  struct Kind {
    const char* name;
    bool consumer;
    std::map<std::string, std::string> own;
  };
  for (const Kind& kind : {Kind{"consumer", true, ConsumerSettings(config)},
                           Kind{"producer", false, ProducerSettings()},
                           Kind{"transactional producer", false, TransactionalSettings(config)}}) {
    // No bootstrap servers: the client connects to nothing.
    auto conf = MakeConf(config, "", kind.own);
    if (!conf.ok()) return conf.status();
    std::string err;
    // Quiet: a client without brokers says so, and this one is only a check.
    (*conf)->set("log_level", "0", err);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    std::unique_ptr<RdKafka::Producer> producer;
    if (kind.consumer) {
      consumer.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    } else {
      producer.reset(RdKafka::Producer::create(conf->get(), err));
    }
    if (consumer) consumer->close();
    if (consumer || producer) continue;
    // Some messages quote a value: never a secret's (MakeConf added them).
    return absl::InvalidArgumentError(std::string("librdkafka refuses them for its ") + kind.name +
                                      ": " + kafka_log.Redacted(err));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> MakeConsumer(const Config& config,
                                                                     const std::string& bootstrap) {
  auto conf = MakeConf(config, bootstrap, ConsumerSettings(config));
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!consumer) return absl::InvalidArgumentError("kafka consumer: " + err);
  return consumer;
}

absl::StatusOr<std::unique_ptr<RdKafka::Producer>> MakeProducer(
    const Config& config, const std::string& bootstrap, RdKafka::DeliveryReportCb* reports) {
  auto conf = MakeConf(config, bootstrap, ProducerSettings());
  if (!conf.ok()) return conf.status();
  std::string err;
  if (reports != nullptr && (*conf)->set("dr_cb", reports, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError("kafka producer: " + err);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), err));
  if (!producer) return absl::InvalidArgumentError("kafka producer: " + err);
  return producer;
}

absl::StatusOr<std::unique_ptr<RdKafka::Producer>> MakeTransactionalProducer(
    const Config& config, const std::string& bootstrap, RdKafka::DeliveryReportCb* reports) {
  auto conf = MakeConf(config, bootstrap, TransactionalSettings(config));
  if (!conf.ok()) return conf.status();
  std::string err;
  if (reports != nullptr && (*conf)->set("dr_cb", reports, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError("kafka producer: " + err);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf->get(), err));
  if (!producer) return absl::InvalidArgumentError("kafka producer: " + err);
  return producer;
}

absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> MakeReadbackConsumer(
    const Config& config, const std::string& bootstrap) {
  auto conf = MakeConf(config, bootstrap,
                       {{"group.id", config.kafka.group_id + "-readback"},
                        {"client.id", "closeloop-readback"},
                        {"enable.partition.eof", "true"},
                        {"enable.auto.commit", "false"},
                        {"isolation.level", "read_committed"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!consumer) return absl::InvalidArgumentError("kafka consumer: " + err);
  return consumer;
}

absl::Status EnsureTopics(RdKafka::Producer& producer, const std::vector<std::string>& topics,
                          int partitions, const std::atomic<bool>& stop) {
  // Ask only for what is missing: a cluster without CreateTopics (the
  // embedded Kafka) lets such a request time out. A cluster that does not
  // answer (a broker down at start) is waited for, as the outbox's
  // transaction coordinator is next, rather than taken for one where every
  // topic is missing and cannot be created.
  std::set<std::string> missing(topics.begin(), topics.end());
  for (bool waiting = false;;) {
    RdKafka::Metadata* all = nullptr;
    const RdKafka::ErrorCode err = producer.metadata(true, nullptr, &all, 2000);
    std::unique_ptr<RdKafka::Metadata> owned(all);
    if (err == RdKafka::ERR_NO_ERROR) {
      for (const RdKafka::TopicMetadata* tm : *all->topics()) {
        if (tm->err() == RdKafka::ERR_NO_ERROR && !tm->partitions()->empty()) {
          missing.erase(tm->topic());
        }
      }
      break;
    }
    if (!waiting) {
      spdlog::warn("waiting for the Kafka cluster to list its topics: {}", RdKafka::err2str(err));
      waiting = true;
    }
    for (int i = 0; i < 10 && !stop.load(); ++i) producer.poll(100);
    if (stop.load()) return absl::CancelledError("stopped while waiting for the Kafka cluster");
  }
  if (missing.empty()) return absl::OkStatus();
  rd_kafka_t* rk = producer.c_ptr();
  std::vector<rd_kafka_NewTopic_t*> requests;
  char err[256];
  for (const std::string& t : missing) {
    requests.push_back(rd_kafka_NewTopic_new(t.c_str(), partitions, -1, err, sizeof err));
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, 10000, err, sizeof err);
  rd_kafka_CreateTopics(rk, requests.data(), requests.size(), options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
  if (event != nullptr) {
    if (const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event)) {
      size_t n = 0;
      const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
      for (size_t i = 0; i < n; ++i) {
        const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          spdlog::info("create topic {}: {}", rd_kafka_topic_result_name(results[i]),
                       rd_kafka_err2str(e));
        }
      }
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());

  // Whatever CreateTopics said, the topics must now be known to the cluster;
  // a producer's metadata request also auto-creates where that is allowed.
  for (const std::string& t : missing) {
    std::string errstr;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(&producer, t, nullptr, errstr));
    bool found = false;
    for (int attempt = 0; attempt < 20 && !found && !stop.load(); ++attempt) {
      RdKafka::Metadata* md = nullptr;
      if (producer.metadata(false, topic.get(), &md, 2000) == RdKafka::ERR_NO_ERROR) {
        for (const RdKafka::TopicMetadata* tm : *md->topics()) {
          found |=
              tm->topic() == t && tm->err() == RdKafka::ERR_NO_ERROR && !tm->partitions()->empty();
        }
      }
      delete md;
      if (!found) producer.poll(250);
    }
    if (stop.load()) return absl::CancelledError("stopped while creating topic " + t);
    if (!found)
      return absl::UnavailableError("topic " + t + " does not exist and could not be created");
  }
  return absl::OkStatus();
}

}  // namespace closeloop::app
