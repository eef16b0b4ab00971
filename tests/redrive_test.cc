// closeloop redrive against the embedded Kafka where a test needs the
// cluster to misbehave: a dead letter the cluster refuses to take back is
// reported, and the run fails; a DLQ topic it does not have fails it too
// (tests/redrive_e2e_test.py covers the rest).
#include "app/redrive.h"

#include <gtest/gtest.h>

#include <sstream>

#include "app/config.h"
#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "app/topic_reader.h"
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

// A DLQ topic the cluster does not have (a mistyped --config, the wrong
// --bootstrap) is an error naming it, not "read 0 dead letters", which would
// tell the operator there was nothing to send back.
TEST(Redrive, ADlqTopicTheClusterDoesNotHaveFailsTheRunNamingIt) {
  auto kafka = app::EmbeddedKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  for (const bool dry_run : {true, false}) {
    std::ostringstream out, err;
    const int code = app::RunRedrive(
        {.bootstrap = (*kafka)->bootstrap(), .reasons = {"bad_currency"}, .dry_run = dry_run}, out,
        err);
    EXPECT_EQ(code, 1) << out.str();
    EXPECT_NE(err.str().find("topic closeloop.dlq does not exist on the cluster"),
              std::string::npos)
        << err.str();
    EXPECT_EQ(out.str(), "");
  }
  EXPECT_EQ(app::ReadTopic((*kafka)->bootstrap(), "closeloop.dlq").status().code(),
            absl::StatusCode::kNotFound)
      << "reading it did not create it";
}

// Writes a dead letter to the DLQ as a hostile or mistaken producer could:
// with whatever closeloop.* headers it likes.
void ProduceLetter(const std::string& bootstrap, const std::string& key,
                   const std::vector<std::pair<std::string, std::string>>& letter_headers) {
  const app::Config config;
  auto producer = app::MakeProducer(config, bootstrap);
  ASSERT_TRUE(producer.ok()) << producer.status();
  RdKafka::Headers* headers = RdKafka::Headers::create();
  for (const auto& [name, value] : letter_headers) headers->add(name, value);
  const std::string value = R"({"tenant_id": "acme"})";
  ASSERT_EQ((*producer)->produce(config.topics.dlq, RdKafka::Topic::PARTITION_UA,
                                 RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                 value.size(), key.data(), key.size(), 0, headers, nullptr),
            RdKafka::ERR_NO_ERROR);
  ASSERT_EQ((*producer)->flush(10000), RdKafka::ERR_NO_ERROR);
}

// A dead letter can only have come from a topic closeloop reads; one that
// names another (closeloop's own output above all), names its source twice
// or not at all is forged or damaged: it is listed, not sent, and the rest
// still go.
TEST(Redrive, SendsNothingToATopicTheServiceDoesNotRead) {
  auto kafka = app::EmbeddedKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  const std::string b = (*kafka)->bootstrap();
  for (const char* topic : {"closeloop.exceptions", "closeloop.dlq", "crm.deals", "elsewhere"}) {
    ASSERT_TRUE((*kafka)->CreateTopic(topic, 1).ok()) << topic;
  }
  const std::string reason = "bad_currency";
  ProduceLetter(b, "to-exceptions",
                {{ingest::kHeaderTopic, "closeloop.exceptions"}, {ingest::kHeaderReason, reason}});
  ProduceLetter(b, "to-dlq",
                {{ingest::kHeaderTopic, "closeloop.dlq"}, {ingest::kHeaderReason, reason}});
  ProduceLetter(b, "to-elsewhere",
                {{ingest::kHeaderTopic, "elsewhere"}, {ingest::kHeaderReason, reason}});
  ProduceLetter(b, "two-sources",
                {{ingest::kHeaderTopic, "crm.deals"},
                 {ingest::kHeaderReason, reason},
                 {ingest::kHeaderTopic, "closeloop.exceptions"}});
  ProduceLetter(b, "no-source", {{ingest::kHeaderReason, reason}});
  ProduceLetter(b, "good", {{ingest::kHeaderTopic, "crm.deals"}, {ingest::kHeaderReason, reason}});

  for (const std::vector<std::string>& topics :
       std::vector<std::vector<std::string>>{{}, {"crm.deals"}}) {
    std::ostringstream out, err;
    const int code =
        app::RunRedrive({.bootstrap = b, .reasons = {reason}, .topics = topics}, out, err);
    ASSERT_EQ(code, 0) << err.str();
    EXPECT_NE(out.str().find("sent 1 (crm.deals: 1)"), std::string::npos) << out.str();
    if (topics.empty()) {
      for (const char* topic : {"closeloop.exceptions", "closeloop.dlq", "elsewhere"}) {
        EXPECT_NE(out.str().find("names the source topic " + std::string(topic) +
                                 ", which the config does not read"),
                  std::string::npos)
            << topic << "\n"
            << out.str();
      }
      EXPECT_NE(out.str().find("names no source topic"), std::string::npos) << out.str();
    }
    EXPECT_NE(out.str().find("names 2 source topics"), std::string::npos) << out.str();
  }
  for (const char* topic : {"closeloop.exceptions", "elsewhere"}) {
    auto records = app::ReadTopic(b, topic);
    ASSERT_TRUE(records.ok()) << records.status();
    EXPECT_TRUE(records->empty()) << topic << " got " << records->size();
  }
  auto dlq = app::ReadTopic(b, "closeloop.dlq");
  ASSERT_TRUE(dlq.ok()) << dlq.status();
  EXPECT_EQ(dlq->size(), 6u) << "nothing sent back to the DLQ itself";
  auto deals = app::ReadTopic(b, "crm.deals");
  ASSERT_TRUE(deals.ok()) << deals.status();
  ASSERT_EQ(deals->size(), 2u);
  for (const app::TopicRecord& r : *deals) EXPECT_EQ(r.key, "good");
}

}  // namespace
}  // namespace closeloop
