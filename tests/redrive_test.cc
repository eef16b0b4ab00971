// closeloop redrive against the embedded Kafka where a test needs the
// cluster to misbehave: a dead letter the cluster refuses to take back is
// reported, and the run fails (tests/redrive_e2e_test.py covers the rest).
#include "app/redrive.h"

#include <gtest/gtest.h>

#include <sstream>

#include "app/config.h"
#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "ingest/dead_letter.h"

namespace closeloop {
namespace {

TEST(Redrive, ARecordTheClusterRefusesFailsTheRun) {
  auto kafka = app::EmbeddedKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  const app::Config config;
  {
    auto producer = app::MakeProducer(config, (*kafka)->bootstrap());
    ASSERT_TRUE(producer.ok()) << producer.status();
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add(ingest::kHeaderTopic, "closeloop.commands");
    headers->add(ingest::kHeaderReason, "unknown_exception");
    std::string value = R"({"command_id": "c-1"})";
    ASSERT_EQ((*producer)->produce(config.topics.dlq, RdKafka::Topic::PARTITION_UA,
                                   RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(), "k",
                                   1, 0, headers, nullptr),
              RdKafka::ERR_NO_ERROR);
    ASSERT_EQ((*producer)->flush(10000), RdKafka::ERR_NO_ERROR);
  }
  (*kafka)->PushRequestErrors(app::EmbeddedKafka::Request::kProduce, 10,
                              app::EmbeddedKafka::Error::kMessageTooLarge);
  std::ostringstream out, err;
  const int code = app::RunRedrive(
      {.bootstrap = (*kafka)->bootstrap(), .reasons = {"unknown_exception"}}, out, err);
  EXPECT_EQ(code, 1) << out.str();
  EXPECT_NE(err.str().find("the cluster refused 1 of the dead letters sent"), std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("the DLQ still holds them"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace closeloop
