// The service's Kafka clients log through spdlog, not librdkafka's stderr.
#include "app/kafka_clients.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"

namespace closeloop::app {
namespace {

bool AnyLine(spdlog::sinks::ringbuffer_sink_mt& sink, std::string_view text) {
  for (const std::string& line : sink.last_formatted()) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(KafkaClients, LibrdkafkaLinesAndErrorsGoToTheServiceLog) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
  spdlog::default_logger()->sinks().push_back(sink);
  // Nothing listens on port 1 of loopback: librdkafka logs the refused
  // connection and raises "all brokers down" on poll.
  auto producer = MakeProducer(Config{}, "127.0.0.1:1");
  ASSERT_TRUE(producer.ok()) << producer.status();
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(AnyLine(*sink, "kafka FAIL: ") && AnyLine(*sink, "kafka error ")) &&
         std::chrono::steady_clock::now() < limit) {
    (*producer)->poll(100);
  }
  EXPECT_TRUE(AnyLine(*sink, "kafka FAIL: ")) << "a librdkafka log line";
  EXPECT_TRUE(AnyLine(*sink, "Connection refused"));
  EXPECT_TRUE(AnyLine(*sink, "kafka error ")) << "a client error event";
  producer->reset();
  spdlog::default_logger()->sinks().pop_back();
}

// A secret property's value never reaches the log, wherever librdkafka puts
// it: here the secret is the broker address its connection errors name.
TEST(KafkaClients, SecretValuesAreRedactedFromLibrdkafkaLines) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
  spdlog::default_logger()->sinks().push_back(sink);
  Config config;
  config.kafka.properties["sasl.password"] = "127.0.0.1:2";
  auto producer = MakeProducer(config, "127.0.0.1:2");
  ASSERT_TRUE(producer.ok()) << producer.status();
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!AnyLine(*sink, "Connection refused") && std::chrono::steady_clock::now() < limit) {
    (*producer)->poll(100);
  }
  EXPECT_TRUE(AnyLine(*sink, "[redacted]")) << "the refused connection, its address redacted";
  EXPECT_FALSE(AnyLine(*sink, "127.0.0.1:2"));
  producer->reset();
  spdlog::default_logger()->sinks().pop_back();
}

// kafka.properties come after closeloop's own settings, so they override them.
TEST(KafkaClients, ConfiguredPropertiesOverrideCloseloopsOwn) {
  Config config;
  config.kafka.properties["client.id"] = "billing-recon";
  auto producer = MakeProducer(config, "127.0.0.1:1");
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_EQ((*producer)->name().rfind("billing-recon#", 0), 0u) << (*producer)->name();
  auto consumer = MakeConsumer(config, "127.0.0.1:1");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  EXPECT_EQ((*consumer)->name().rfind("billing-recon#", 0), 0u) << (*consumer)->name();
  (*consumer)->close();
}

// Values librdkafka takes one by one but refuses when a client is made.
TEST(KafkaClients, CheckClientPropertiesRefusesWhatNoClientCanBeMadeWith) {
  EXPECT_TRUE(CheckClientProperties(Config{}).ok());
  Config config;
  config.kafka.properties = {{"security.protocol", "SASL_SSL"},
                             {"sasl.mechanisms", "SCRAM-SHA256"},
                             {"sasl.username", "svc"},
                             {"sasl.password", "hunter2"}};
  absl::Status s = CheckClientProperties(config);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("Unsupported SASL mechanism: SCRAM-SHA256"), std::string::npos) << s;
  EXPECT_EQ(s.message().find("hunter2"), std::string::npos) << s;
  config.kafka.properties = {{"enable.idempotence", "false"}};
  s = CheckClientProperties(config);
  EXPECT_NE(s.message().find("for its transactional producer"), std::string::npos) << s;
}

// A config copied from check-config's output carries its placeholder for each
// secret, which librdkafka would send as the password.
TEST(KafkaClients, CheckClientPropertiesRefusesCheckConfigsPlaceholderForASecret) {
  Config config;
  config.kafka.properties = {{"security.protocol", "SASL_SSL"},
                             {"sasl.mechanisms", "PLAIN"},
                             {"sasl.username", "svc"},
                             {"sasl.password", std::string(kRedacted)}};
  absl::Status s = CheckClientProperties(config);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("sasl.password is [redacted], which check-config prints"),
            std::string::npos)
      << s;
  config.kafka.properties["sasl.password"] = "hunter2";
  EXPECT_TRUE(CheckClientProperties(config).ok());
}

}  // namespace
}  // namespace closeloop::app
