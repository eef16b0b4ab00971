// The Debezium adapter on hand-written records (the connector-shaped
// fixtures are exercised in app/adapter_fixtures_test.cc).
#include <gtest/gtest.h>

#include "ingest/adapter.h"
#include "ingest/map_record.h"
#include "ingest/source_values.h"

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

// The row keeps its key but its mapped id column is corrected: the order it
// was is cancelled with the update (it would stay open for good otherwise),
// and a later delete of the row cancels the order it is now.
TEST_F(Debezium, AnUpdateThatRenamesTheDocumentCancelsTheOldOne) {
  Adapt(
      R"({"pk":5})",
      R"({"after":{"id":"SO-1","amount":"10.00","cur":"USD"},"op":"c","source":{"ts_ms":1709287200000}})");
  auto out = Adapt(
      R"({"pk":5})",
      R"({"after":{"id":"SO-1-FIX","amount":"10.00","cur":"USD"},"op":"u","source":{"ts_ms":1709290000000}})");
  ASSERT_EQ(out.size(), 2u);
  const v1::Order& old = std::get<v1::Event>(out[0]).order();
  EXPECT_EQ(old.order_id(), "SO-1");
  EXPECT_EQ(old.status(), v1::Order::CANCELLED);
  EXPECT_EQ(old.event_time().seconds(), 1709290000);
  const v1::Order& renamed = std::get<v1::Event>(out[1]).order();
  EXPECT_EQ(renamed.order_id(), "SO-1-FIX");
  EXPECT_NE(renamed.status(), v1::Order::CANCELLED);
  // An update that keeps the id is no rename.
  out = Adapt(
      R"({"pk":5})",
      R"({"after":{"id":"SO-1-FIX","amount":"12.00","cur":"USD"},"op":"u","source":{"ts_ms":1709290100000}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().amount_minor(), 1200);
  out = Adapt(R"({"pk":5})", R"({"op":"d","source":{"ts_ms":1709290200000}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().order_id(), "SO-1-FIX");
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().status(), v1::Order::CANCELLED);
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

// SPEC §3: op "u" upserts as "c" and "r" do; without source.ts_ms the
// envelope's own ts_ms is the event time.
TEST_F(Debezium, UpdateUpsertsWithTheEnvelopeTimeWhenTheSourceHasNone) {
  Adapt(R"({"id":5})", kCreate);
  auto out = Adapt(R"({"id":5})", R"({"before":{"id":5,"amount":"10.00","cur":"USD"},
      "after":{"id":5,"amount":"12.00","cur":"USD"},"op":"u","source":{},"ts_ms":1709287300100})");
  ASSERT_EQ(out.size(), 1u);
  const v1::Order& o = std::get<v1::Event>(out[0]).order();
  EXPECT_EQ(o.amount_minor(), 1200);
  EXPECT_NE(o.status(), v1::Order::CANCELLED);
  EXPECT_EQ(o.event_time().seconds(), 1709287300);
  EXPECT_EQ(o.event_time().nanos(), 100000000);
}

// A null payload inside the Connect wrapper, and an empty value, are
// tombstones: they withdraw the row like a null value does.
TEST_F(Debezium, WrappedNullPayloadAndEmptyValueAreTombstones) {
  Adapt(R"({"id":5})", kCreate);
  auto out = Adapt(R"({"id":5})", R"({"schema":{"type":"struct"},"payload":null})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().status(), v1::Order::CANCELLED);
  Adapt(R"({"id":6})", R"({"op":"c","after":{"id":6,"amount":"1.00","cur":"USD"}})");
  out = Adapt(R"({"id":6})", "", /*tombstone=*/false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().status(), v1::Order::CANCELLED);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().order_id(), "6");
}

// Keys that are not JSON identify their rows as they are: a tombstone for
// one never withdraws another.
TEST_F(Debezium, KeysThatAreNotJsonStillTellRowsApart) {
  Adapt("order-5", kCreate);
  EXPECT_EQ(ReasonOf(Adapt("order-6", "", true)), Reason::kNoPreviousRecord);
  auto out = Adapt("order-5", "", true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().order_id(), "5");
}

// Without a record key, a delete finds its row by the document its before
// image maps to, tenant included (SPEC §3: ids are scoped by tenant), and
// withdraws what was stored for it.
TEST(DebeziumWithoutKeys, ADeleteFindsTheRowOfItsOwnTenant) {
  Mapping m;
  m.fields["tenant_id"].path = "t";
  m.fields["order_id"].path = "id";
  m.fields["amount"].path = "amount";
  m.fields["currency"].path = "cur";
  MemoryRecordCache cache;
  auto adapter = MakeAdapter(Format::kDebezium, DocType::kOrder, m, {}, cache);
  auto adapt = [&](const char* value) {
    std::vector<Adapted> out;
    adapter->Adapt({.topic = "orders", .value = value, .kafka_timestamp_ms = 1'700'000'000'000},
                   out);
    return out;
  };
  adapt(R"({"op":"c","after":{"t":"a","id":5,"amount":"1.00","cur":"USD"}})");
  adapt(R"({"op":"c","after":{"t":"b","id":5,"amount":"2.00","cur":"USD"}})");
  auto out = adapt(R"({"op":"d","before":{"t":"a","id":5}})");
  ASSERT_EQ(out.size(), 1u);
  const v1::Order& o = std::get<v1::Event>(out[0]).order();
  EXPECT_EQ(o.tenant_id(), "a");
  EXPECT_EQ(o.status(), v1::Order::CANCELLED);
  EXPECT_EQ(o.amount_minor(), 100);
}

// A deleted invoice is void and a deleted payment failed (withdrawn, SPEC
// §3); a before image too incomplete to make the document is
// no_previous_record, not the contract's complaint about what it lacks.
TEST(DebeziumDeletes, VoidInvoicesFailPaymentsAndNeedAWholeDocument) {
  MemoryRecordCache cache;
  Mapping invoices;
  invoices.fields["tenant_id"].constant = "acme";
  invoices.fields["invoice_id"].path = "id";
  invoices.fields["amount"].path = "amount";
  invoices.fields["currency"].path = "cur";
  invoices.fields["issue_time"].path = "issued";
  auto invoice_adapter = MakeAdapter(Format::kDebezium, DocType::kInvoice, invoices, {}, cache);
  Mapping payments = invoices;
  payments.fields.erase("invoice_id");
  payments.fields.erase("issue_time");
  payments.fields["payment_id"].path = "id";
  payments.fields["invoice_id"].path = "inv";
  auto payment_adapter = MakeAdapter(Format::kDebezium, DocType::kPayment, payments, {}, cache);
  auto adapt = [](Adapter& adapter, const char* key, const char* value) {
    std::vector<Adapted> out;
    adapter.Adapt({.topic = "t", .key = key, .value = value, .kafka_timestamp_ms = 1}, out);
    EXPECT_EQ(out.size(), 1u);
    return out.at(0);
  };
  auto invoice = adapt(*invoice_adapter, "1", R"({"op":"d","before":{"id":1,"amount":"5.00",
      "cur":"EUR","issued":"2024-03-01"},"source":{"ts_ms":1709287200000}})");
  EXPECT_EQ(std::get<v1::Event>(invoice).invoice().status(), v1::Invoice::VOID);
  auto payment = adapt(*payment_adapter, "2", R"({"op":"d","before":{"id":2,"inv":1,
      "amount":"5.00","cur":"EUR"},"source":{"ts_ms":1709287200000}})");
  EXPECT_EQ(std::get<v1::Event>(payment).payment().status(), v1::Payment::FAILED);
  auto partial = adapt(*invoice_adapter, "3", R"({"op":"d","before":{"id":3}})");
  EXPECT_EQ(std::get<Rejection>(partial).reason, Reason::kNoPreviousRecord);
}

// ExtractNewRecordState: __ts_ms is the event time when there is no
// __source_ts_ms; a row may have columns named schema and payload.
TEST_F(Debezium, FlattenedRowsUseTheirProcessingTimeAndMayNameColumnsSchema) {
  auto out = Adapt(R"({"id":8})", R"({"id":8,"amount":2.5,"cur":"USD","__ts_ms":1709287999000})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().event_time().seconds(), 1709287999);
  out = Adapt(R"({"id":9})",
              R"({"id":9,"amount":"1.00","cur":"USD","schema":"public","payload":"x"})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().amount_minor(), 100);
}

// With schemas enabled, a DECIMAL column arrives as base64 bytes and its
// scale is in the schema, of the envelope's row or of the flattened row.
TEST_F(Debezium, DecimalBytesTakeTheScaleOfTheRowSchema) {
  constexpr char kColumns[] =
      R"([{"field":"id","type":"int32"},{"field":"amount","type":"bytes",
          "name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},
          {"field":"cur","type":"string"}])";
  auto out = Adapt(R"({"id":5})", std::string(R"({"schema":{"type":"struct","fields":[
      {"field":"before","type":"struct","fields":)") +
                                      kColumns + R"(},{"field":"after","type":"struct","fields":)" +
                                      kColumns + R"(}]},"payload":{"op":"c","before":null,
      "after":{"id":5,"amount":"Aknw","cur":"USD"},"source":{"ts_ms":1709287200000}}})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().amount_minor(), 150000);
  out = Adapt(R"({"id":6})", std::string(R"({"schema":{"type":"struct","fields":)") + kColumns +
                                 R"(},"payload":{"id":6,"amount":"Aknw","cur":"USD"}})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().amount_minor(), 150000);
}

// DECIMAL bytes are as long as the unscaled value needs: an amount column of
// NUMERIC(32,16) (Dynamics 365 Finance's money columns) holds 1500.00 as
// 1.5e19, nine bytes. Only eight were read, so every such amount from 922.34
// up went to the DLQ as "not base64 DECIMAL bytes".
TEST_F(Debezium, DecimalBytesOfHighScaleColumnsAreReadWhole) {
  // 1500.00 and -1500.00 at scale 16; 1234567.05 at scale 18 (ten bytes).
  for (const auto& [bytes, scale, minor] :
       std::initializer_list<std::tuple<const char*, const char*, int64_t>>{
           {"ANAqtIbO3AAA", "16", 150000},
           {"/y/VS3kxJAAA", "16", -150000},
           {"AQVuA43ubwyBAAA=", "18", 123456705}}) {
    SCOPED_TRACE(bytes);
    const auto out = Adapt(R"({"id":5})", std::string(R"({"schema":{"type":"struct","fields":[
        {"field":"id","type":"int32"},{"field":"amount","type":"bytes",
        "name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":")") +
                                              scale + R"(","connect.decimal.precision":"38"}},
        {"field":"cur","type":"string"}]},"payload":{"id":5,"amount":")" +
                                              bytes + R"(","cur":"USD"}})");
    if (minor < 0) {
      EXPECT_EQ(ReasonOf(out), Reason::kNegativeAmount);
      continue;
    }
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<v1::Event>(out[0])) << std::get<Rejection>(out[0]).message;
    EXPECT_EQ(std::get<v1::Event>(out[0]).order().amount_minor(), minor);
  }
  EXPECT_EQ(DecimalBytesToText("/y/VS3kxJAAA", 16), "-1500.0000000000000000");
  // 10^38 - 1, the largest DECIMAL(38): read, then too large for minor units.
  EXPECT_EQ(DecimalBytesToText("SztMqFqGxHoJiiI//////w==", 0), std::string(38, '9'));
}

// A ts_ms past int64 is no time, like one that is not a whole number: the
// next time there is counts. It was wrapped to -1000 ms and made the
// order's event_time 1969-12-31T23:59:59Z.
TEST_F(Debezium, ATimestampPastInt64IsNotWrappedIntoTheSixties) {
  auto out = Adapt(R"({"id":5})", R"({"op":"c","after":{"id":5,"amount":"1.00","cur":"USD"},
      "source":{"ts_ms":18446744073709550616},"ts_ms":1709287200000})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().event_time().seconds(), 1709287200);
}

// Snapshot reads of Debezium connectors before 1.9.6 and 2.0 (DBZ-5591)
// carry source.ts_ms 0 (flattened: __source_ts_ms 0): no time, not the epoch.
// Taken as it was, every snapshot row became a document of 1970-01-01, older
// than any version already known (a re-snapshot's current state lost to
// them). The time the connector read the row (ts_ms, __ts_ms) counts instead.
TEST_F(Debezium, ASourceTimeOfZeroIsNoTime) {
  auto out = Adapt(R"({"id":6})", R"({"before":null,"after":{"id":6,"amount":"3.00","cur":"USD"},
      "op":"r","source":{"connector":"mysql","snapshot":"true","ts_ms":0},
      "ts_ms":1709287200100})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().event_time().seconds(), 1709287200);
  out = Adapt(R"({"id":7})", R"({"id":7,"amount":"3.00","cur":"USD","__deleted":"false",
      "__source_ts_ms":0,"__ts_ms":1709287300000})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().event_time().seconds(), 1709287300);
  // With no other time in the record, the Kafka timestamp.
  out = Adapt(R"({"id":8})", R"({"op":"r","after":{"id":8,"amount":"3.00","cur":"USD"},
      "source":{"ts_ms":0}})");
  EXPECT_EQ(std::get<v1::Event>(out.at(0)).order().event_time().seconds(), 1'700'000'000);
}

// ExtractNewRecordState writes a row's own columns at the top level, and a
// table may have a column named op (an operation code, an operator). Such a
// row was read as an envelope without "after" and went to the DLQ as
// bad_envelope; an envelope always has before, after or source beside op.
TEST_F(Debezium, AFlattenedRowMayHaveAColumnNamedOp) {
  auto out = Adapt(R"({"id":8})", R"({"id":8,"amount":"2.50","cur":"USD","op":"CARD",
      "__deleted":"false","__source_ts_ms":1709287200000})");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<v1::Event>(out[0])) << std::get<Rejection>(out[0]).message;
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().amount_minor(), 250);
  out = Adapt(R"({"id":8})", R"({"id":8,"amount":"2.50","cur":"USD","op":"CARD",
      "__deleted":"true","__source_ts_ms":1709287300000})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<v1::Event>(out[0]).order().status(), v1::Order::CANCELLED);
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
