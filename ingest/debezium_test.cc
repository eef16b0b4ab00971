// The Debezium adapter on hand-written records (the connector-shaped
// fixtures are exercised in app/adapter_fixtures_test.cc).
#include <gtest/gtest.h>

#include "ingest/adapter.h"
#include "ingest/map_record.h"

namespace closeloop::ingest {
namespace {

class Debezium : public ::testing::Test {
 protected:
  Debezium() {
    Mapping m;
    m.fields["tenant_id"].constant = "acme";
    m.fields["order_id"].path = "id";
    m.fields["amount"].path = "amount";
    m.fields["currency"].path = "cur";
    adapter_ = MakeAdapter(Format::kDebezium, DocType::kOrder, m, {}, cache_);
  }

  std::vector<Adapted> Adapt(std::optional<std::string> key, std::string value,
                             bool tombstone = false) {
    std::vector<Adapted> out;
    adapter_->Adapt({.topic = "orders",
                     .key = key ? std::optional<std::string_view>(*key) : std::nullopt,
                     .value = value,
                     .tombstone = tombstone,
                     .kafka_timestamp_ms = 1'700'000'000'000},
                    out);
    return out;
  }

  static Reason ReasonOf(const std::vector<Adapted>& out) {
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Reason::kEmpty : std::get<Rejection>(out[0]).reason;
  }

  MemoryRecordCache cache_;
  std::unique_ptr<Adapter> adapter_;
};

constexpr char kCreate[] =
    R"({"before":null,"after":{"id":5,"amount":"10.00","cur":"USD"},"op":"c",
        "source":{"connector":"mysql","ts_ms":1709287200000},"ts_ms":1709287200100})";

TEST_F(Debezium, UpsertsWithTheSourceTimeAsEventTime) {
  auto out = Adapt(R"({"id":5})", kCreate);
  ASSERT_EQ(out.size(), 1u);
  const v1::Order& o = std::get<v1::Event>(out[0]).order();
  EXPECT_EQ(o.order_id(), "5");
  EXPECT_EQ(o.amount_minor(), 1000);
  EXPECT_EQ(o.event_time().seconds(), 1709287200);
  EXPECT_EQ(cache_.size(), 1u);
}

TEST_F(Debezium, DeleteOfAKnownRowCancelsItsOrderEvenWithoutBeforeImage) {
  Adapt(R"({"id":5})", kCreate);
  // The key may come in another spelling (the Connect wrapper) and still match.
  auto out = Adapt(R"({"schema":{"type":"struct"},"payload":{"id":5}})",
                   R"({"before":null,"after":null,"op":"d","source":{"ts_ms":1709290000000}})");
  ASSERT_EQ(out.size(), 1u);
  const v1::Order& o = std::get<v1::Event>(out[0]).order();
  EXPECT_EQ(o.status(), v1::Order::CANCELLED);
  EXPECT_EQ(o.amount_minor(), 1000);
  EXPECT_EQ(o.event_time().seconds(), 1709290000);
  EXPECT_TRUE(Adapt(R"({"id":5})", "", true).empty());  // its tombstone: already applied
}

TEST_F(Debezium, DeleteOfAnUnseenRowWithOnlyItsKeyCancelsThatOrder) {
  // An order needs no more than its id to be cancelled.
  auto out =
      Adapt(R"({"id":9})", R"({"op":"d","before":{"id":9},"source":{"ts_ms":1709290000000}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().status(), v1::Order::CANCELLED);
}

TEST_F(Debezium, DeleteWithAFullBeforeImageNeedsNoHistory) {
  auto out = Adapt(R"({"id":6})",
                   R"({"before":{"id":6,"amount":"3.50","cur":"EUR"},"after":null,"op":"d",
                       "source":{"ts_ms":1709290000000}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().status(), v1::Order::CANCELLED);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().amount_minor(), 350);
}

TEST_F(Debezium, UnknownRowsAndBadEnvelopesGoToTheDlq) {
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", "", true)), Reason::kNoPreviousRecord);
  EXPECT_EQ(ReasonOf(Adapt(std::nullopt, "", true)), Reason::kEmpty);
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", R"({"op":"t","source":{}})")), Reason::kBadEnvelope);
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", R"({"op":"x","after":{}})")), Reason::kBadEnvelope);
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", R"({"op":"c","after":null})")), Reason::kBadEnvelope);
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", "{not json")), Reason::kMalformedJson);
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", "[1,2]")), Reason::kBadEnvelope);
  EXPECT_EQ(ReasonOf(Adapt(R"({"id":7})", R"({"op":"c","after":{"id":7,"amount":[1]}})")),
            Reason::kUnmappable);
  EXPECT_EQ(
      ReasonOf(Adapt(R"({"id":7})", R"({"op":"c","after":{"id":7,"amount":"-1","cur":"USD"}})")),
      Reason::kNegativeAmount);
  // Unexpected JSON types anywhere are bad records, not crashes.
  EXPECT_EQ(ReasonOf(Adapt(
                R"({"id":7})",
                R"({"schema":{"fields":[{"field":5}]},"payload":{"op":"c","after":{"id":7}}})")),
            Reason::kBadEnvelope);
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(Debezium, AColumnGivenTwiceIsADuplicateFieldAndChangesNothing) {
  // Which amount is meant depends on the reader: refused, not the last one kept.
  const auto out = Adapt(R"({"id":7})", R"({"op":"c","after":{"id":7,"amount":"10.00",
      "cur":"USD","amount":"99.00"},"source":{"ts_ms":1709287200000}})");
  ASSERT_EQ(ReasonOf(out), Reason::kDuplicateField);
  const Rejection& r = std::get<Rejection>(out[0]);
  EXPECT_EQ(r.field, "amount");
  EXPECT_EQ(r.message,
            "the Debezium record names field amount twice in one object; readers may keep "
            "different values, so the record is refused");
  EXPECT_EQ(cache_.size(), 0u);
  // The same key in two objects is no repeat.
  EXPECT_TRUE(std::holds_alternative<v1::Event>(
      Adapt(R"({"id":7})", R"({"op":"c","before":{"id":7,"amount":"1.00","cur":"USD"},
          "after":{"id":7,"amount":"10.00","cur":"USD"},"source":{"ts_ms":1}})")
          .at(0)));
}

TEST_F(Debezium, FlattenedRowsUpsertAndDelete) {
  auto out = Adapt(R"({"id":8})", R"({"id":8,"amount":2.5,"cur":"USD","__deleted":"false",
                                      "__source_ts_ms":1709287200000})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().amount_minor(), 250);
  out = Adapt(R"({"id":8})", R"({"id":8,"amount":2.5,"cur":"USD","__deleted":"true",
                                 "__source_ts_ms":1709287300000})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().status(), v1::Order::CANCELLED);
}

// A snapshot read (op "r") is an upsert like a create (SPEC §3: c/u/r).
TEST_F(Debezium, SnapshotReadUpserts) {
  auto out = Adapt(R"({"id":6})", R"({"before":null,"after":{"id":6,"amount":"3.00","cur":"USD"},
                                      "op":"r","source":{"ts_ms":1709287200000}})");
  ASSERT_EQ(out.size(), 1u);
  const v1::Order& o = std::get<v1::Event>(out[0]).order();
  EXPECT_EQ(o.order_id(), "6");
  EXPECT_EQ(o.amount_minor(), 300);
  EXPECT_NE(o.status(), v1::Order::CANCELLED);
}

// ExtractNewRecordState marks a delete with __deleted as a string or a
// boolean, or with __op "d"; the source time wins over the time it was
// processed (__ts_ms), as source.ts_ms does in the envelope.
TEST_F(Debezium, FlattenedDeletesInEveryFormAndTheSourceTime) {
  auto out = Adapt(R"({"id":8})", R"({"id":8,"amount":2.5,"cur":"USD",
                                      "__ts_ms":1709287999000,"__source_ts_ms":1709287200000})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().event_time().seconds(), 1709287200);
  out = Adapt(R"({"id":8})", R"({"id":8,"amount":2.5,"cur":"USD","__deleted":true})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().status(), v1::Order::CANCELLED);
  out = Adapt(R"({"id":9})", R"({"id":9,"amount":1,"cur":"USD"})");
  EXPECT_NE(std::get<v1::Event>(out.at(0)).order().status(), v1::Order::CANCELLED);
  out = Adapt(R"({"id":9})", R"({"id":9,"amount":1,"cur":"USD","__op":"d"})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().status(), v1::Order::CANCELLED);
}

TEST_F(Debezium, AValueOfAnUnexpectedJsonTypeIsABadEnvelopeNotACrash) {
  // A schema field whose name is a number: reading it as text throws inside the adapter.
  const auto out = Adapt(std::nullopt, R"({"schema": {"fields": [{"field": 5}]},
      "payload": {"op": "c", "after": {"id": 7, "amount": "12.00", "cur": "EUR"}}})");
  ASSERT_EQ(ReasonOf(out), Reason::kBadEnvelope);
  EXPECT_EQ(
      std::get<Rejection>(out[0]).message.rfind("the Debezium record has an unexpected shape: ", 0),
      0u)
      << std::get<Rejection>(out[0]).message;
}

TEST(AdaptRefusingBadShapes, KeepsWhatCameBeforeTheThrowAndAddsTheReason) {
  std::vector<Adapted> out;
  AdaptRefusingBadShapes("the change event", out, [&] {
    out.push_back(Rejection{Reason::kUnmappable, "x", "first record id"});
    (void)nlohmann::json(5).get<std::string>();  // throws type_error
  });
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<Rejection>(out[0]).reason, Reason::kUnmappable);
  EXPECT_EQ(std::get<Rejection>(out[1]).reason, Reason::kBadEnvelope);
  EXPECT_EQ(
      std::get<Rejection>(out[1]).message.rfind("the change event has an unexpected shape: ", 0),
      0u);
  out.clear();
  AdaptRefusingBadShapes("the change event", out, [] {});
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace closeloop::ingest
