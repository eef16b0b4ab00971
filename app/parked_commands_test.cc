#include "app/parked_commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "ingest/dead_letter.h"
#include "ingest/decode_testing.h"
#include "ingest/normalize.h"

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::Source;

EventTime At(const std::string& rfc3339) {
  return ingest::ToCommand([&] {
           v1::Command c;
           *c.mutable_event_time() = ingest::testing::Time(rfc3339);
           return c;
         }())
      .event_time;
}

// A command for `exception_id` at `time`, read from commands[0]@offset.
ingest::CommandRecord Command(const std::string& id, const std::string& exception_id,
                              const std::string& time, int64_t offset) {
  ingest::CommandRecord r;
  v1::Command& c = *r.event.mutable_command();
  c.set_command_id(id);
  c.set_tenant_id("acme");
  c.set_exception_id(exception_id);
  c.set_action(v1::Command::ACK);
  *c.mutable_event_time() = ingest::testing::Time(time);
  r.original = {.topic = "closeloop.commands",
                .partition = 0,
                .offset = offset,
                .key = "k-" + id,
                .value = "{\"command_id\":\"" + id + "\"}",
                .headers = {{"trace", id}}};
  return r;
}

// Watermarks of every source at `time`.
matcher::WatermarkSet All(const std::string& time) {
  matcher::WatermarkSet w;
  w.AdvanceAll(At(time));
  return w;
}

class ParkedCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/closeloop-parked-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = state::RocksStore::Open({.dir = dir_});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    ASSERT_TRUE(parked_.Load(*store_).ok());
  }
  static std::vector<std::string> Ids(const std::vector<ParkedCommands::Due>& due) {
    std::vector<std::string> ids;
    for (const auto& d : due) ids.push_back(d.command.event.command().command_id());
    return ids;
  }

  std::string dir_;
  std::unique_ptr<state::RocksStore> store_;
  ParkedCommands parked_;
  const EventTime read_at_ = At("2026-06-01T00:00:00Z");
};

TEST_F(ParkedCommandsTest, KeepsACommandTheWatermarksHaveNotReached) {
  auto early = All("2026-03-01T00:00:00Z");
  auto c = Command("c-1", "acme:MISSING_INVOICE:D-1:1", "2026-04-01T00:00:00Z", 7);
  EXPECT_TRUE(parked_.Park(c, read_at_, early));
  EXPECT_EQ(parked_.size(), 1u);
  EXPECT_EQ(parked_.LatestDue(), At("2026-04-01T00:00:00Z"));
  EXPECT_TRUE(parked_.TakeDue(All("2026-03-31T23:59:59Z")).empty());
  const auto due = parked_.TakeDue(All("2026-04-01T00:00:00Z"));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].time, At("2026-04-01T00:00:00Z"));
  EXPECT_EQ(due[0].command.event.command().command_id(), "c-1");
  EXPECT_EQ(due[0].command.original.offset, 7);
  EXPECT_EQ(due[0].command.original.value, "{\"command_id\":\"c-1\"}");
  EXPECT_EQ(parked_.size(), 0u);
  EXPECT_TRUE(parked_.TakeDue(All("2026-05-01T00:00:00Z")).empty()) << "taken once";
}

TEST_F(ParkedCommandsTest, RefusesWhatNoWatermarkCanChange) {
  auto early = All("2026-03-01T00:00:00Z");
  auto passed = Command("c-1", "acme:MISSING_INVOICE:D-1:1", "2026-02-01T00:00:00Z", 1);
  EXPECT_FALSE(parked_.Park(passed, read_at_, early)) << "its time has passed: refused now";
  auto malformed = Command("c-2", "not an exception id", "2026-04-01T00:00:00Z", 2);
  EXPECT_FALSE(parked_.Park(malformed, read_at_, early));
  auto other = Command("c-3", "globex:MISSING_INVOICE:D-1:1", "2026-04-01T00:00:00Z", 3);
  EXPECT_FALSE(parked_.Park(other, read_at_, early)) << "another tenant's exception";
  EXPECT_EQ(parked_.size(), 0u);
  EXPECT_EQ(passed.event.command().command_id(), "c-1") << "left to the caller whole";
  EXPECT_EQ(passed.original.value, "{\"command_id\":\"c-1\"}");
}

// A clock far ahead holds a command no longer than the wall clock it was
// read at.
TEST_F(ParkedCommandsTest, WaitsNoLaterThanTheWallClockItWasReadAt) {
  auto c = Command("c-1", "acme:MISSING_INVOICE:D-1:1", "2027-01-01T00:00:00Z", 1);
  ASSERT_TRUE(parked_.Park(c, read_at_, All("2026-03-01T00:00:00Z")));
  EXPECT_EQ(parked_.LatestDue(), read_at_);
  EXPECT_EQ(parked_.TakeDue(All("2026-06-01T00:00:00Z")).size(), 1u);
}

// Each waits for the sources of the exception it names (matcher DepsOf):
// UNPAID for erp, billing and payments, MISSING_INVOICE for crm, erp and billing.
TEST_F(ParkedCommandsTest, WaitsForTheSourcesOfItsException) {
  auto unpaid = Command("unpaid", "acme:UNPAID:I-1:1", "2026-04-01T00:00:00Z", 1);
  auto missing = Command("missing", "acme:MISSING_INVOICE:D-1:1", "2026-04-01T00:00:00Z", 2);
  ASSERT_TRUE(parked_.Park(unpaid, read_at_, All("2026-03-01T00:00:00Z")));
  ASSERT_TRUE(parked_.Park(missing, read_at_, All("2026-03-01T00:00:00Z")));
  matcher::WatermarkSet crm_lags;
  for (Source s : {Source::kCrm, Source::kErp, Source::kBilling, Source::kPayments}) {
    crm_lags.SetPartitionCount(s, 1);
    crm_lags.Advance(s, 0, At(s == Source::kCrm ? "2026-03-15T00:00:00Z" : "2026-05-01T00:00:00Z"));
  }
  EXPECT_EQ(Ids(parked_.TakeDue(crm_lags)), std::vector<std::string>{"unpaid"});
  EXPECT_EQ(Ids(parked_.TakeDue(All("2026-05-01T00:00:00Z"))), std::vector<std::string>{"missing"});
}

// Kept with the batch that read them, in the store: a restart finds them,
// in due-time order, with their original records.
TEST_F(ParkedCommandsTest, SurviveARestartInDueOrder) {
  const auto early = All("2026-01-01T00:00:00Z");
  auto later = Command("later", "acme:MISSING_INVOICE:D-1:1", "2026-04-02T00:00:00Z", 1);
  auto sooner = Command("sooner", "acme:MISSING_ORDER:D-2:1", "2026-04-01T00:00:00Z", 2);
  auto uncommitted = Command("lost", "acme:MISSING_ORDER:D-3:1", "2026-04-01T00:00:00Z", 3);
  ASSERT_TRUE(parked_.Park(later, read_at_, early));
  ASSERT_TRUE(parked_.Park(sooner, read_at_, early));
  ASSERT_TRUE(store_->Commit().ok());
  ASSERT_TRUE(parked_.Park(uncommitted, read_at_, early));
  Reopen();  // the last one's batch was never committed
  EXPECT_EQ(parked_.size(), 2u);
  const auto due = parked_.TakeDue(All("2026-05-01T00:00:00Z"));
  EXPECT_EQ(Ids(due), (std::vector<std::string>{"sooner", "later"}));
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[1].command.original.key, "k-later");
  EXPECT_EQ(due[1].command.original.headers,
            (std::vector<std::pair<std::string, std::string>>{{"trace", "later"}}));
  EXPECT_TRUE(due[1].command.event.original_value().empty())
      << "the original is taken out of the event";

  ASSERT_TRUE(store_->Commit().ok());
  Reopen();
  EXPECT_EQ(parked_.size(), 0u) << "taken out with the batch that took them";
}

TEST_F(ParkedCommandsTest, KeepsAtMostkMax) {
  const auto early = All("2026-01-01T00:00:00Z");
  for (size_t i = 0; i < ParkedCommands::kMax; ++i) {
    auto c = Command("c-" + std::to_string(i), "acme:MISSING_ORDER:D-1:1", "2026-04-01T00:00:00Z",
                     static_cast<int64_t>(i));
    ASSERT_TRUE(parked_.Park(c, read_at_, early));
  }
  auto one_more = Command("more", "acme:MISSING_ORDER:D-1:1", "2026-04-01T00:00:00Z", -1);
  EXPECT_FALSE(parked_.Park(one_more, read_at_, early)) << "refused when read, as before";
}

// The bound is on bytes too: a valid command may be as large as
// limits.max_record_bytes (1 MiB), and kMax of them held 10 GB in memory and in
// the store (and Load read them all back at once).
TEST_F(ParkedCommandsTest, KeepsAtMostkMaxBytes) {
  const auto early = All("2026-01-01T00:00:00Z");
  size_t kept = 0;
  for (int i = 0; i < 100; ++i) {
    auto c =
        Command("big-" + std::to_string(i), "acme:MISSING_ORDER:D-1:1", "2026-04-01T00:00:00Z", i);
    c.original.value.append(1 << 20, ' ');
    if (parked_.Park(c, read_at_, early)) ++kept;
  }
  EXPECT_LE(kept, 64u) << "at most 64 MiB kept";
  EXPECT_GT(kept, 0u);
  ASSERT_TRUE(store_->Commit().ok());
  Reopen();
  EXPECT_EQ(parked_.size(), kept);
  auto one_more = Command("more", "acme:MISSING_ORDER:D-1:1", "2026-04-01T00:00:00Z", 100);
  one_more.original.value.append(1 << 20, ' ');
  EXPECT_FALSE(parked_.Park(one_more, read_at_, early)) << "the bytes kept count after a restart";
  parked_.TakeDue(All("2026-05-01T00:00:00Z"));
  EXPECT_TRUE(parked_.Park(one_more, read_at_, early)) << "taking them out frees their bytes";
}

// Whole commands only: one that would take the bytes kept past kMaxBytes
// is refused, however few were kept before it.
TEST_F(ParkedCommandsTest, NoCommandTakesTheBytesKeptPastkMaxBytes) {
  const auto early = All("2026-01-01T00:00:00Z");
  // Ids and offsets of two digits: every command is as large as the first.
  auto big = [](int i) {
    auto c =
        Command("big-" + std::to_string(i), "acme:MISSING_ORDER:D-1:1", "2026-04-01T00:00:00Z", i);
    c.original.value.append(1 << 20, ' ');
    return c;
  };
  const auto first = big(10);
  const size_t each = ingest::WithOriginal(first.event, first.original).SerializeAsString().size();
  size_t kept = 0;
  for (int i = 10; i < 100; ++i) {
    auto c = big(i);
    if (!parked_.Park(c, read_at_, early)) break;
    ++kept;
  }
  EXPECT_LE(kept * each, ParkedCommands::kMaxBytes) << kept << " of " << each << " bytes";
  EXPECT_GT((kept + 1) * each, ParkedCommands::kMaxBytes) << "refused while one more fitted";
}

// The same input record kept twice (the events topic holding a command twice,
// e.g. after the ingest stage's store was rebuilt) is one store record: the
// second was reported kept and then lost, neither applied nor dead-lettered.
TEST_F(ParkedCommandsTest, TheSameRecordTwiceIsNotLost) {
  const auto early = All("2026-01-01T00:00:00Z");
  auto first = Command("c-1", "acme:MISSING_ORDER:D-1:1", "2026-04-01T00:00:00Z", 5);
  auto again = first;
  ASSERT_TRUE(parked_.Park(first, read_at_, early));
  if (parked_.Park(again, read_at_, early)) {
    EXPECT_EQ(parked_.TakeDue(All("2026-05-01T00:00:00Z")).size(), 2u) << "kept, so given back";
  } else {
    EXPECT_EQ(again.event.command().command_id(), "c-1") << "refused, and left to dead-letter";
  }
}

// Due times are kept in the record's name: after a restart each command is
// due when it was, before 1970 too, and the latest is the latest.
TEST_F(ParkedCommandsTest, DueTimesSurviveARestartBeforeAndAfter1970) {
  const auto early = All("1960-01-01T00:00:00Z");
  auto old = Command("old", "acme:MISSING_ORDER:D-1:1", "1969-12-31T23:59:59Z", 1);
  auto recent = Command("recent", "acme:MISSING_ORDER:D-2:1", "2026-04-01T00:00:00Z", 2);
  ASSERT_TRUE(parked_.Park(recent, read_at_, early));
  ASSERT_TRUE(parked_.Park(old, read_at_, early));
  ASSERT_TRUE(store_->Commit().ok());
  Reopen();
  EXPECT_EQ(parked_.LatestDue(), At("2026-04-01T00:00:00Z"));
  EXPECT_TRUE(parked_.TakeDue(All("1969-12-31T23:59:58Z")).empty());
  auto due = parked_.TakeDue(All("1969-12-31T23:59:59Z"));
  EXPECT_EQ(Ids(due), std::vector<std::string>{"old"});
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].time, At("1969-12-31T23:59:59Z"));
  due = parked_.TakeDue(All("2026-04-01T00:00:00Z"));
  EXPECT_EQ(Ids(due), std::vector<std::string>{"recent"});
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].time, At("2026-04-01T00:00:00Z"));
}

// Reached answers what Park refuses: a command whose sources' watermarks
// are at its due time (its event time, or the wall clock it was read at if
// earlier) is due now.
TEST_F(ParkedCommandsTest, ReachedAtItsDueTimeAndNotBefore) {
  const auto c = Command("c-1", "acme:MISSING_INVOICE:D-1:1", "2026-04-01T00:00:00Z", 7);
  EXPECT_EQ(ParkedCommands::Reached(c, read_at_, All("2026-03-31T23:59:59Z")), std::nullopt);
  EXPECT_EQ(ParkedCommands::Reached(c, read_at_, All("2026-04-01T00:00:00Z")),
            At("2026-04-01T00:00:00Z"));
  const EventTime read_early = At("2026-03-15T00:00:00Z");
  EXPECT_EQ(ParkedCommands::Reached(c, read_early, All("2026-03-15T00:00:00Z")), read_early);
  const auto other = Command("c-2", "globex:MISSING_INVOICE:D-1:1", "2026-04-01T00:00:00Z", 8);
  EXPECT_EQ(ParkedCommands::Reached(other, read_at_, All("2026-05-01T00:00:00Z")), std::nullopt);
}

// A command due at t is applied with every partition's watermark held at t
// at most; partitions behind t stay where they are.
TEST(ParkedCommandsHeldAt, HoldsEveryPartitionAtTheDueTimeAtMost) {
  matcher::WatermarkSet w;
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    const auto source = static_cast<Source>(i);
    w.SetPartitions(source, {0, 1});
    w.Advance(source, 0, At("2026-05-01T00:00:00Z"));
    w.Advance(source, 1, At("2026-03-01T00:00:00Z"));
  }
  const matcher::WatermarkSet held = ParkedCommands::HeldAt(w, At("2026-04-01T00:00:00Z"));
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    EXPECT_EQ(held.Partitions(static_cast<Source>(i)),
              (std::vector<std::pair<int, EventTime>>{{0, At("2026-04-01T00:00:00Z")},
                                                      {1, At("2026-03-01T00:00:00Z")}}))
        << i;
  }
}

}  // namespace
}  // namespace closeloop::app
