// The Salesforce change data capture adapter on hand-written events (the
// documented-shape fixtures are exercised in app/adapter_fixtures_test.cc).
#include <gtest/gtest.h>

#include "ingest/adapter.h"

namespace closeloop::ingest {
namespace {

class SalesforceCdc : public ::testing::Test {
 protected:
  SalesforceCdc() {
    Mapping m;
    m.fields["tenant_id"].constant = "acme";
    m.fields["deal_id"].path = "Id";
    m.fields["stage"].path = "StageName";
    m.fields["amount"].path = "Amount";
    m.fields["currency"].path = "CurrencyIsoCode";
    m.fields["po_number"].path = "PO__c";
    adapter_ = MakeAdapter(Format::kSalesforceCdc, DocType::kDeal, m, {}, cache_);
  }

  std::vector<Adapted> Event(const std::string& type, const std::string& ids,
                             const std::string& fields, const std::string& extra_header = "") {
    const std::string value = R"({"ChangeEventHeader":{"entityName":"Opportunity","changeType":")" +
                              type + R"(","recordIds":[)" + ids +
                              R"(],"commitTimestamp":1709287200000)" + extra_header + "}" +
                              (fields.empty() ? "" : "," + fields) + "}";
    std::vector<Adapted> out;
    adapter_->Adapt({.topic = "sf", .value = value}, out);
    return out;
  }

  static const v1::Deal& DealOf(const std::vector<Adapted>& out, size_t i = 0) {
    return std::get<v1::Event>(out.at(i)).deal();
  }
  static Reason ReasonOf(const std::vector<Adapted>& out) {
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Reason::kEmpty : std::get<Rejection>(out[0]).reason;
  }

  MemoryRecordCache cache_;
  std::unique_ptr<Adapter> adapter_;
};

constexpr char kFull[] =
    R"("StageName":"Prospecting","Amount":100.5,"CurrencyIsoCode":"EUR","PO__c":"PO-1")";

TEST_F(SalesforceCdc, PartialUpdatesMergeAndNulledFieldsClear) {
  EXPECT_EQ(DealOf(Event("CREATE", R"("006A")", kFull)).amount_minor(), 10050);
  auto out = Event("UPDATE", R"("006A")", R"("Amount":200)");
  EXPECT_EQ(DealOf(out).amount_minor(), 20000);
  EXPECT_EQ(DealOf(out).po_number(), "PO-1");
  EXPECT_EQ(DealOf(out).stage(), "Prospecting");
  out = Event("UPDATE", R"("006A")", R"("PO__c":null)", R"(,"nulledFields":["PO__c"])");
  EXPECT_EQ(DealOf(out).po_number(), "");
  // Avro-decoded events carry null for unchanged fields: not a change.
  out = Event("UPDATE", R"("006A")", R"("StageName":"Closed Won","Amount":null)",
              R"(,"changedFields":["StageName"])");
  EXPECT_EQ(DealOf(out).stage(), "Closed Won");
  EXPECT_EQ(DealOf(out).amount_minor(), 20000);
}

TEST_F(SalesforceCdc, OneEventAppliesToEachRecordId) {
  Event("CREATE", R"("006A")", kFull);
  Event("CREATE", R"("006B")", R"("StageName":"Qualification","Amount":7,"CurrencyIsoCode":"EUR")");
  auto out = Event("UPDATE", R"("006A","006B")", R"("StageName":"Closed Lost")");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(DealOf(out, 0).deal_id(), "006A");
  EXPECT_EQ(DealOf(out, 0).amount_minor(), 10050);
  EXPECT_EQ(DealOf(out, 1).deal_id(), "006B");
  EXPECT_EQ(DealOf(out, 1).amount_minor(), 700);
  EXPECT_EQ(DealOf(out, 1).stage(), "Closed Lost");
}

TEST_F(SalesforceCdc, DeleteWithdrawsAndUndeleteRestores) {
  Event("CREATE", R"("006A")", kFull);
  auto out = Event("DELETE", R"("006A")", "");
  EXPECT_EQ(DealOf(out).stage(), kDeletedStage);
  EXPECT_EQ(DealOf(out).amount_minor(), 10050);
  out = Event("UNDELETE", R"("006A")", kFull);
  EXPECT_EQ(DealOf(out).stage(), "Prospecting");
}

TEST_F(SalesforceCdc, AFieldGivenTwiceIsADuplicateField) {
  const auto out = Event("CREATE", R"("006A")", std::string(kFull) + R"(,"Amount":999)");
  ASSERT_EQ(ReasonOf(out), Reason::kDuplicateField);
  EXPECT_EQ(std::get<Rejection>(out[0]).field, "Amount");
  // So does a repeated header field, e.g. which records the event is for.
  EXPECT_EQ(ReasonOf(Event("CREATE", R"("006A")", kFull, R"(,"changeType":"DELETE")")),
            Reason::kDuplicateField);
}

TEST_F(SalesforceCdc, WhatCannotApplyGoesToTheDlqWithItsReason) {
  EXPECT_EQ(ReasonOf(Event("GAP_UPDATE", R"("006A")", "")), Reason::kCdcGap);
  EXPECT_EQ(ReasonOf(Event("GAP_OVERFLOW", "", "")), Reason::kCdcGapOverflow);
  EXPECT_EQ(ReasonOf(Event("DELETE", R"("006Z")", "")), Reason::kNoPreviousRecord);
  EXPECT_EQ(ReasonOf(Event("UPDATE", R"("006Z")", R"("Amount":3)")), Reason::kNoPreviousRecord);
  EXPECT_EQ(ReasonOf(Event("MERGE", R"("006A")", "")), Reason::kBadEnvelope);
  EXPECT_EQ(ReasonOf(Event("CREATE", "", kFull)), Reason::kBadEnvelope);
  EXPECT_EQ(ReasonOf(Event("CREATE", R"("006C")",
                           R"("StageName":"X","Amount":1.001,"CurrencyIsoCode":"EUR")")),
            Reason::kUnmappable);
  for (
      const char* odd :
      {R"({"Id":"006A"})", R"({"ChangeEventHeader":{"entityName":5}})",
       R"({"ChangeEventHeader":{"entityName":"Opportunity","changeType":7}})",
       R"({"ChangeEventHeader":{"entityName":"Opportunity","changeType":"CREATE","recordIds":"006A"}})",
       R"({"ChangeEventHeader":[]})"}) {
    std::vector<Adapted> out;
    adapter_->Adapt({.topic = "sf", .value = odd}, out);
    EXPECT_EQ(ReasonOf(out), Reason::kBadEnvelope) << odd;
  }
  // A partial update that maps on its own is kept even with nothing under it.
  auto whole = Event("UPDATE", R"("006D")", kFull);
  EXPECT_EQ(DealOf(whole).amount_minor(), 10050);
}

// With won_when (README's Opportunity mapping), a partial update of a record
// never seen was made a whole "Open" deal: a missing IsWon counted as not
// won, which filled in the stage. An opportunity won before closeloop's
// history began thus became an open deal on its next edit, its invoices never
// checked. The row does not say, so the update goes to the DLQ.
TEST_F(SalesforceCdc, WonWhenDecidesOnlyFromAFieldTheRowHas) {
  Mapping m;
  m.fields["tenant_id"].constant = "acme";
  m.fields["deal_id"].path = "Id";
  m.fields["stage"].path = "StageName";
  m.fields["owner"].path = "OwnerId";
  m.won_when = WonWhen{.path = "IsWon", .any_of = {"true"}, .won_stage = "Closed Won"};
  adapter_ = MakeAdapter(Format::kSalesforceCdc, DocType::kDeal, m, {}, cache_);
  EXPECT_EQ(ReasonOf(Event("UPDATE", R"("006W")", R"("OwnerId":"005B")")),
            Reason::kNoPreviousRecord);
  // Created not won, whatever case its stage is spelt in: Open.
  auto created = Event("CREATE", R"("006X")", R"("StageName":"closed won","IsWon":false)");
  EXPECT_EQ(DealOf(created).stage(), "Open");
  // Then won, then an owner change: the stored row still says won.
  EXPECT_EQ(DealOf(Event("UPDATE", R"("006X")", R"("IsWon":true)")).stage(), "Closed Won");
  EXPECT_EQ(DealOf(Event("UPDATE", R"("006X")", R"("OwnerId":"005C")")).stage(), "Closed Won");
}

// The CometD/Streaming API delivers the event inside data.payload.
TEST_F(SalesforceCdc, FindsTheEventInsideDataPayload) {
  std::vector<Adapted> out;
  adapter_->Adapt({.topic = "sf",
                   .value = R"({"data":{"schema":"x","payload":{"ChangeEventHeader":{
      "entityName":"Opportunity","changeType":"CREATE","recordIds":["006A"],
      "commitTimestamp":1709287200000},)" +
                            std::string(kFull) + "}}}"},
                  out);
  EXPECT_EQ(DealOf(out).amount_minor(), 10050);
}

// A field is cleared when nulledFields names it, even with no value in the
// event, or when changedFields names it and its value is null.
TEST_F(SalesforceCdc, NamedFieldsAreClearedWithOrWithoutANullValue) {
  Event("CREATE", R"("006A")", kFull);
  auto out = Event("UPDATE", R"("006A")", R"("PO__c":null)", R"(,"changedFields":["PO__c"])");
  EXPECT_EQ(DealOf(out).po_number(), "");
  Event("CREATE", R"("006B")", kFull);
  out = Event("UPDATE", R"("006B")", "", R"(,"nulledFields":["PO__c"])");
  EXPECT_EQ(DealOf(out).po_number(), "");
  EXPECT_EQ(DealOf(out).amount_minor(), 10050);
}

// Compound fields (Name) merge one level down: a null part is unchanged
// unless changedFields or nulledFields name it ("Name.FirstName").
TEST_F(SalesforceCdc, CompoundFieldsMergePartByPart) {
  Mapping m;
  m.fields["tenant_id"].constant = "acme";
  m.fields["deal_id"].path = "Id";
  m.fields["stage"].path = "StageName";
  m.fields["owner"].path = "Name.FirstName";
  m.fields["customer_name"].path = "Name.LastName";
  adapter_ = MakeAdapter(Format::kSalesforceCdc, DocType::kDeal, m, {}, cache_);
  Event("CREATE", R"("006A")",
        R"("StageName":"New","Name":{"FirstName":"Ada","LastName":"Byron"})");
  auto out = Event("UPDATE", R"("006A")", R"("Name":{"FirstName":null,"LastName":"King"})");
  EXPECT_EQ(DealOf(out).owner(), "Ada");
  EXPECT_EQ(DealOf(out).customer_name(), "King");
  out = Event("UPDATE", R"("006A")", R"("Name":{"FirstName":null})",
              R"(,"changedFields":["Name.FirstName"])");
  EXPECT_EQ(DealOf(out).owner(), "");
  EXPECT_EQ(DealOf(out).customer_name(), "King");
}

TEST_F(SalesforceCdc, AHeaderWithoutEntityNameOrWithEmptyRecordIdsIsABadEnvelope) {
  EXPECT_EQ(ReasonOf(Event("CREATE", R"("")", kFull)), Reason::kBadEnvelope);
  std::vector<Adapted> out;
  adapter_->Adapt({.topic = "sf",
                   .value = R"({"ChangeEventHeader":{"entityName":"","changeType":"CREATE",
      "recordIds":["006A"]},)" +
                            std::string(kFull) + "}"},
                  out);
  EXPECT_EQ(ReasonOf(out), Reason::kBadEnvelope);
}

// A CREATE carries the whole record: nothing of an earlier one under the
// same id survives it.
TEST_F(SalesforceCdc, CreateStartsAfresh) {
  Event("CREATE", R"("006A")", kFull);
  auto out =
      Event("CREATE", R"("006A")", R"("StageName":"New","Amount":1,"CurrencyIsoCode":"EUR")");
  EXPECT_EQ(DealOf(out).po_number(), "");
  EXPECT_EQ(DealOf(out).stage(), "New");
}

// A partial update of an unseen record that goes to the DLQ leaves nothing
// behind for a later update to merge onto.
TEST_F(SalesforceCdc, ARefusedPartialUpdateIsNotRemembered) {
  EXPECT_EQ(ReasonOf(Event("UPDATE", R"("006Z")", R"("Amount":3)")), Reason::kNoPreviousRecord);
  auto out = Event("UPDATE", R"("006Z")", R"("StageName":"New","CurrencyIsoCode":"EUR")");
  EXPECT_FALSE(DealOf(out).has_amount_minor());
}

// A commitTimestamp past int64 is no time: the Kafka timestamp counts, as
// for one that is not a whole number, instead of a wrapped one in 1969.
TEST_F(SalesforceCdc, ACommitTimestampPastInt64IsNotWrapped) {
  std::vector<Adapted> out;
  adapter_->Adapt({.topic = "sf",
                   .value = R"({"ChangeEventHeader":{"entityName":"Opportunity",
      "changeType":"CREATE","recordIds":["006A"],"commitTimestamp":18446744073709550616},)" +
                            std::string(kFull) + "}",
                   .kafka_timestamp_ms = 1709287200000},
                  out);
  EXPECT_EQ(DealOf(out).event_time().seconds(), 1709287200);
}

// A custom field type conversion that loses data nulls the field on every
// record of the object and sends one UPDATE whose recordIds is the object's
// key prefix and a wildcard ("801*"), with no record fields. It names no
// record: an order mapping took "801*" for a new order's id (an order needs
// no more than its id), and a deal went to the DLQ as a partial update of an
// unknown record. Like a gap, the records must be re-read.
TEST_F(SalesforceCdc, AWildcardRecordIdIsAGapNotARecord) {
  EXPECT_EQ(ReasonOf(Event("UPDATE", R"("006*")", "", R"(,"changedFields":["PO__c"])")),
            Reason::kCdcGap);
  Mapping m;
  m.fields["tenant_id"].constant = "acme";
  m.fields["order_id"].path = "Id";
  m.fields["deal_id"].path = "OpportunityId";
  adapter_ = MakeAdapter(Format::kSalesforceCdc, DocType::kOrder, m, {}, cache_);
  std::vector<Adapted> out;
  adapter_->Adapt({.topic = "sf", .value = R"({"ChangeEventHeader":{"entityName":"Order",
      "changeType":"UPDATE","recordIds":["801*"],"commitTimestamp":1709287200000,
      "changedFields":["Legacy_Date__c"]}})"},
                  out);
  ASSERT_EQ(ReasonOf(out), Reason::kCdcGap);
  EXPECT_NE(std::get<Rejection>(out[0]).message.find("801*"), std::string::npos)
      << std::get<Rejection>(out[0]).message;
  EXPECT_EQ(cache_.size(), 0u);
}

TEST(Adapters, DebeziumAndSalesforceCdcAreAdapterFormats) {
  EXPECT_TRUE(IsAdapterFormat(Format::kDebezium));
  EXPECT_TRUE(IsAdapterFormat(Format::kSalesforceCdc));
  EXPECT_FALSE(IsAdapterFormat(Format::kJson));
  EXPECT_FALSE(IsAdapterFormat(Format::kAuto));
}

}  // namespace
}  // namespace closeloop::ingest
