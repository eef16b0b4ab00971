#include "state/codec.h"

#include <gtest/gtest.h>

#include "closeloop/v1/state.pb.h"
#include "state/codec_enums.h"
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

// A store written before dismissals kept their amount holds the kind alone:
// it comes back dismissing any amount in any currency, as that build did.
TEST(Codec, ADismissalWithoutItsAmountCoversAnyAmount) {
  matcher::DealState s{.tenant = {"t"}, .id = {"d"}};
  s.slots[matcher::Slot::kBilling].commands = matcher::Commands{
      {"c-1"}, matcher::Dismissal{matcher::ExceptionKind::kUnderBilled, 500, "USD"}};
  v1::state::DealState p;
  ASSERT_TRUE(p.ParseFromString(Encode(s)));
  ASSERT_TRUE(p.slots(0).has_dismissed_amount_minor());
  p.mutable_slots(0)->clear_dismissed_amount_minor();
  p.mutable_slots(0)->clear_dismissed_currency();
  auto back = DecodeDealState(p.SerializeAsString());
  ASSERT_TRUE(back.ok()) << back.status();
  const matcher::SlotState* slot = back->slots.Find(matcher::Slot::kBilling);
  ASSERT_NE(slot, nullptr);
  const matcher::Dismissal* d = slot->dismissal();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->amount_minor, std::nullopt);
  EXPECT_TRUE(d->Covers(matcher::ExceptionKind::kUnderBilled, 1'000'000, "EUR"));
  EXPECT_FALSE(d->Covers(matcher::ExceptionKind::kOverBilled, 1, "USD"));
}

// Either first time of the figures may be absent while the other is set.
TEST(Codec, FiguresRoundTripWithOnlyTheCollectionTime) {
  matcher::DealState s{.tenant = {"t"}, .id = {"d"}};
  s.figures = matcher::DealFigures{.currency = "EUR",
                                   .booked = true,
                                   .booked_minor = 5,
                                   .first_collected_at = testing::At(1'700'000'000'000)};
  auto back = DecodeDealState(Encode(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
  ASSERT_TRUE(back->figures);
  EXPECT_FALSE(back->figures->first_billed_at);
}

constexpr matcher::ExceptionKind kKinds[] = {
    matcher::ExceptionKind::kNotBillable,    matcher::ExceptionKind::kMissingOrder,
    matcher::ExceptionKind::kMissingInvoice, matcher::ExceptionKind::kUnderBilled,
    matcher::ExceptionKind::kOverBilled,     matcher::ExceptionKind::kTermsMismatch,
    matcher::ExceptionKind::kUnpaid,         matcher::ExceptionKind::kOrphanOrder,
    matcher::ExceptionKind::kOrphanInvoice};
constexpr matcher::ExceptionState kStates[] = {
    matcher::ExceptionState::kOpen,         matcher::ExceptionState::kUpdated,
    matcher::ExceptionState::kEscalated,    matcher::ExceptionState::kResolved,
    matcher::ExceptionState::kAcknowledged, matcher::ExceptionState::kSnoozed};
constexpr matcher::Resolution kResolutions[] = {
    matcher::Resolution::kNone, matcher::Resolution::kRecovered, matcher::Resolution::kSuperseded,
    matcher::Resolution::kWithdrawn, matcher::Resolution::kDismissed};
constexpr matcher::Severity kSeverities[] = {matcher::Severity::kP1, matcher::Severity::kP2,
                                             matcher::Severity::kP3, matcher::Severity::kP4};
constexpr matcher::BillingPlan::Kind kPlans[] = {matcher::BillingPlan::Kind::kOneTime,
                                                 matcher::BillingPlan::Kind::kMilestones,
                                                 matcher::BillingPlan::Kind::kRecurring};

// Every value of every enum comes back as itself (the fixtures hold one or
// two of each).
TEST(Codec, EveryEnumValueRoundTrips) {
  for (size_t i = 0; i < std::size(kKinds); ++i) {
    matcher::DealState s = FullDealState("t", "d");
    matcher::SlotState& slot = s.slots[matcher::Slot::kNotBillable];
    slot.open->last.kind = kKinds[i];
    slot.open->last.state = kStates[i % std::size(kStates)];
    slot.open->last.resolution = kResolutions[i % std::size(kResolutions)];
    slot.open->last.severity = kSeverities[i % std::size(kSeverities)];
    slot.commands->dismissal->kind = kKinds[(i + 1) % std::size(kKinds)];
    s.deal.versions[0].billing_plan.kind = kPlans[i % std::size(kPlans)];
    auto back = DecodeDealState(Encode(s));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, s) << i;
  }
}

// The numbers stored are state.proto's, whatever the C++ enums' order: a
// store written by one build is read by the next.
TEST(Codec, EnumsAreStoredUnderTheirProtoNumbers) {
  namespace pb = v1::state;
  const pb::ExceptionKind kinds[] = {
      pb::EXCEPTION_KIND_NOT_BILLABLE,    pb::EXCEPTION_KIND_MISSING_ORDER,
      pb::EXCEPTION_KIND_MISSING_INVOICE, pb::EXCEPTION_KIND_UNDER_BILLED,
      pb::EXCEPTION_KIND_OVER_BILLED,     pb::EXCEPTION_KIND_TERMS_MISMATCH,
      pb::EXCEPTION_KIND_UNPAID,          pb::EXCEPTION_KIND_ORPHAN_ORDER,
      pb::EXCEPTION_KIND_ORPHAN_INVOICE};
  for (size_t i = 0; i < std::size(kKinds); ++i) EXPECT_EQ(ToPb(kKinds[i]), kinds[i]) << i;
  const pb::ExceptionState states[] = {
      pb::EXCEPTION_STATE_OPEN,     pb::EXCEPTION_STATE_UPDATED,      pb::EXCEPTION_STATE_ESCALATED,
      pb::EXCEPTION_STATE_RESOLVED, pb::EXCEPTION_STATE_ACKNOWLEDGED, pb::EXCEPTION_STATE_SNOOZED};
  for (size_t i = 0; i < std::size(kStates); ++i) EXPECT_EQ(ToPb(kStates[i]), states[i]) << i;
  const pb::Resolution resolutions[] = {pb::RESOLUTION_NONE, pb::RESOLUTION_RECOVERED,
                                        pb::RESOLUTION_SUPERSEDED, pb::RESOLUTION_WITHDRAWN,
                                        pb::RESOLUTION_DISMISSED};
  for (size_t i = 0; i < std::size(kResolutions); ++i) {
    EXPECT_EQ(ToPb(kResolutions[i]), resolutions[i]) << i;
  }
  const pb::Severity severities[] = {pb::SEVERITY_P1, pb::SEVERITY_P2, pb::SEVERITY_P3,
                                     pb::SEVERITY_P4};
  for (size_t i = 0; i < std::size(kSeverities); ++i) {
    EXPECT_EQ(ToPb(kSeverities[i]), severities[i]) << i;
  }
  const pb::PlanKind plans[] = {pb::PLAN_KIND_ONE_TIME, pb::PLAN_KIND_MILESTONES,
                                pb::PLAN_KIND_RECURRING};
  for (size_t i = 0; i < std::size(kPlans); ++i) EXPECT_EQ(ToPb(kPlans[i]), plans[i]) << i;
  const std::pair<matcher::Slot, pb::Slot> slots[] = {
      {matcher::Slot::kNotBillable, pb::SLOT_NOT_BILLABLE},
      {matcher::Slot::kMissingOrder, pb::SLOT_MISSING_ORDER},
      {matcher::Slot::kBilling, pb::SLOT_BILLING},
      {matcher::Slot::kTerms, pb::SLOT_TERMS},
      {matcher::Slot::kUnpaid, pb::SLOT_UNPAID},
      {matcher::Slot::kOrphanInvoice, pb::SLOT_ORPHAN_INVOICE},
      {matcher::Slot::kOrphanOrder, pb::SLOT_ORPHAN_ORDER},
      {matcher::Slot::kFuzzyLink, pb::SLOT_FUZZY_LINK},
      {matcher::Slot::kOrderFuzzyLink, pb::SLOT_ORDER_FUZZY_LINK}};
  for (const auto& [slot, number] : slots) EXPECT_EQ(ToPb(slot), number);
}

// An unknown number in any enum field is data loss, not a default value.
TEST(Codec, UnknownNumbersInEveryEnumFieldAreDataLoss) {
  auto deal_with = [](auto change) {
    v1::state::DealState p;
    EXPECT_TRUE(p.ParseFromString(Encode(FullDealState("t", "d"))));
    change(p);
    return DecodeDealState(p.SerializeAsString()).status();
  };
  auto open = [](v1::state::DealState& p) {
    return p.mutable_slots(0)->mutable_open()->mutable_last();
  };
  const absl::Status statuses[] = {
      deal_with([&](auto& p) { open(p)->set_severity(static_cast<v1::state::Severity>(99)); }),
      deal_with([&](auto& p) { open(p)->set_kind(static_cast<v1::state::ExceptionKind>(99)); }),
      deal_with([&](auto& p) { open(p)->set_state(static_cast<v1::state::ExceptionState>(99)); }),
      deal_with([&](auto& p) { open(p)->set_resolution(static_cast<v1::state::Resolution>(99)); }),
      deal_with([](auto& p) {
        p.mutable_slots(0)->set_dismissed(static_cast<v1::state::ExceptionKind>(99));
      }),
      deal_with([](auto& p) {
        p.mutable_versions(1)->mutable_billing_plan()->set_kind(
            static_cast<v1::state::PlanKind>(99));
      }),
  };
  for (const absl::Status& s : statuses) EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;

  v1::state::InvoiceState p;
  ASSERT_TRUE(p.ParseFromString(Encode(FullInvoiceState("t", "i"))));
  p.mutable_versions(1)->set_kind(static_cast<v1::state::InvoiceKind>(99));
  EXPECT_EQ(DecodeInvoiceState(p.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(p.ParseFromString(Encode(FullInvoiceState("t", "i"))));
  p.mutable_versions(0)->set_status(static_cast<v1::state::InvoiceStatus>(99));
  EXPECT_EQ(DecodeInvoiceState(p.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(p.ParseFromString(Encode(FullInvoiceState("t", "i"))));
  p.mutable_payments(1)->mutable_versions(0)->set_status(static_cast<v1::state::PaymentStatus>(99));
  EXPECT_EQ(DecodeInvoiceState(p.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
}

// A state holds each slot and each payment once; a record with one twice was
// not written by this codec.
TEST(Codec, ASlotOrPaymentStoredTwiceIsDataLoss) {
  v1::state::InvoiceState p;
  ASSERT_TRUE(p.ParseFromString(Encode(FullInvoiceState("t", "i"))));
  *p.add_payments() = p.payments(0);
  EXPECT_EQ(DecodeInvoiceState(p.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(p.ParseFromString(Encode(FullInvoiceState("t", "i"))));
  *p.add_slots() = p.slots(0);
  EXPECT_EQ(DecodeInvoiceState(p.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss);
}

// A payment stored twice is refused as such, not merged into one history:
// the copy here has no repeated times, so no other check of the history
// stands in for that one (above, the copy's repeat comes out of order).
TEST(Codec, APaymentStoredTwiceWithoutRepeatsIsDataLoss) {
  v1::state::InvoiceState p;
  ASSERT_TRUE(p.ParseFromString(Encode(FullInvoiceState("t", "i"))));
  v1::state::PaymentHistory& copy = *p.add_payments() = p.payments(0);
  copy.clear_repeats_ms();
  for (v1::state::Payment& v : *copy.mutable_versions()) {
    v.set_event_time_ms(v.event_time_ms() + 100);
  }
  const absl::Status s = DecodeInvoiceState(p.SerializeAsString()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("stored twice"), std::string::npos) << s;
}

// A store written before repeats kept a version sent again unchanged as a
// version of its own; it is read back as the repeat it now is.
TEST(Codec, VersionsSentAgainByAnOlderStoreBecomeRepeats) {
  matcher::DealState s = FullDealState("t", "d");
  s.deal.repeats.reset();
  v1::state::DealState p;
  ASSERT_TRUE(p.ParseFromString(Encode(s)));
  *p.add_versions() = p.versions(2);
  p.mutable_versions(3)->set_event_time_ms(p.versions(2).event_time_ms() + 5);
  auto back = DecodeDealState(p.SerializeAsString());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, FullDealState("t", "d"));
}

// Repeats are ascending, after the first version and never at a version's
// time; anything else was not written by this codec.
TEST(Codec, RepeatsOutOfOrderAreDataLoss) {
  v1::state::DealState good;
  ASSERT_TRUE(good.ParseFromString(Encode(FullDealState("t", "d"))));
  const int64_t first = good.versions(0).event_time_ms();
  const int64_t last = good.versions(2).event_time_ms();
  for (const std::vector<int64_t>& repeats : {std::vector<int64_t>{first - 1},
                                              std::vector<int64_t>{last},
                                              {last + 2, last + 1},
                                              {last + 1, last + 1}}) {
    v1::state::DealState p = good;
    p.clear_repeats_ms();
    for (int64_t ms : repeats) p.add_repeats_ms(ms);
    EXPECT_EQ(DecodeDealState(p.SerializeAsString()).status().code(), absl::StatusCode::kDataLoss)
        << repeats.front();
  }
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
