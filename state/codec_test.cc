#include "state/codec.h"

#include <gtest/gtest.h>

#include "closeloop/v1/state.pb.h"
#include "state/store_testing.h"

namespace closeloop::state {
namespace {

using testing::FullDealState;
using testing::FullInvoiceState;
using testing::FullOrderState;

TEST(Codec, DealStateRoundTripsEveryField) {
  const matcher::DealState s = FullDealState("acme", "d-1");
  auto back = DecodeDealState(Encode(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(Codec, OrderStateRoundTripsEveryField) {
  const matcher::OrderState s = FullOrderState("acme", "o-1");
  auto back = DecodeOrderState(Encode(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(Codec, InvoiceStateRoundTripsEveryField) {
  const matcher::InvoiceState s = FullInvoiceState("acme", "i-1");
  auto back = DecodeInvoiceState(Encode(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(Codec, EmptyStatesRoundTrip) {
  const matcher::DealState deal{.tenant = {"t"}, .id = {"d"}};
  EXPECT_EQ(*DecodeDealState(Encode(deal)), deal);
  const matcher::InvoiceState invoice{.tenant = {"t"}, .id = {"i"}};
  EXPECT_EQ(*DecodeInvoiceState(Encode(invoice)), invoice);
}

TEST(Codec, ExtremeTimesRoundTrip) {
  matcher::DealState s{.tenant = {"t"}, .id = {"d"}};
  s.slots[matcher::Slot::kBilling].evaluated_until = matcher::kMinTime;
  s.slots[matcher::Slot::kBilling].timer = matcher::kMaxTime;
  EXPECT_EQ(*DecodeDealState(Encode(s)), s);
}

// Slots come back in matcher::Slot order whatever order they were first used
// in; each holds what it held.
TEST(Codec, SlotsComeBackInSlotOrder) {
  matcher::InvoiceState s{.tenant = {"t"}, .id = {"i"}};
  s.slots[matcher::Slot::kUnpaid].generation = 2;
  s.slots[matcher::Slot::kTerms].generation = 1;
  auto back = DecodeInvoiceState(Encode(s));
  ASSERT_TRUE(back.ok());
  ASSERT_NE(back->slots.Find(matcher::Slot::kUnpaid), nullptr);
  ASSERT_NE(back->slots.Find(matcher::Slot::kTerms), nullptr);
  EXPECT_EQ(back->slots.Find(matcher::Slot::kUnpaid)->generation, 2u);
  EXPECT_EQ(back->slots.Find(matcher::Slot::kTerms)->generation, 1u);
  EXPECT_EQ(back->slots.Find(matcher::Slot::kOrphanInvoice), nullptr);
}

TEST(Codec, OutboxRecordRoundTrips) {
  const OutboxRecord r{.topic = "closeloop.exceptions",
                       .key = std::string("k\0ey", 4),
                       .value = std::string("\x01\x00\xff", 3),
                       .headers = {{"a", "1"}, {"b", std::string("\0", 1)}, {"a", "2"}}};
  auto back = DecodeOutboxRecord(Encode(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(back->partition.has_value());
  // Partition 0 is a partition, not "absent".
  OutboxRecord pinned = r;
  pinned.partition = 0;
  back = DecodeOutboxRecord(Encode(pinned));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->partition, 0);
}

TEST(Codec, GarbageIsDataLoss) {
  auto back = DecodeDealState("\xff\xff\xff not a proto");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
}

TEST(Codec, UnknownEnumValueIsDataLoss) {
  v1::state::OrderState p;
  p.set_tenant("t");
  p.add_versions()->set_status(static_cast<v1::state::OrderStatus>(99));
  auto back = DecodeOrderState(p.SerializeAsString());
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("order status"), std::string::npos);

  v1::state::DealState d;
  d.add_slots()->set_slot(v1::state::SLOT_UNSPECIFIED);
  EXPECT_EQ(DecodeDealState(d.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Codec, SlotCodesRoundTripAndAreNeverZero) {
  for (matcher::Slot slot :
       {matcher::Slot::kNotBillable, matcher::Slot::kMissingOrder, matcher::Slot::kBilling,
        matcher::Slot::kTerms, matcher::Slot::kUnpaid, matcher::Slot::kOrphanInvoice,
        matcher::Slot::kOrphanOrder, matcher::Slot::kFuzzyLink}) {
    EXPECT_NE(SlotCode(slot), 0);
    EXPECT_EQ(*SlotFromCode(SlotCode(slot)), slot);
  }
  EXPECT_FALSE(SlotFromCode(0).ok());
  EXPECT_FALSE(SlotFromCode(200).ok());
}

}  // namespace
}  // namespace closeloop::state
