#include "ingest/dead_letter.h"

#include <gtest/gtest.h>

#include <map>
#include <string_view>
#include <utility>

namespace closeloop::ingest {
namespace {

std::map<std::string, std::string> Headers(const state::OutboxRecord& r) {
  return {r.headers.begin(), r.headers.end()};
}

DeadLetter Letter(size_t value_bytes, size_t header_bytes = 10) {
  return DeadLetter{.topic = "crm.deals",
                    .partition = 1,
                    .offset = 42,
                    .key = "k",
                    .value = std::string(value_bytes, 'x'),
                    .headers = {{"trace", std::string(header_bytes, 'h')}},
                    .rejection = {Reason::kOversized, "", "too big"}};
}

TEST(RejectionOf, NamesEachRefusedCommandsReasonAndField) {
  using Why = matcher::CommandRejection::Why;
  const std::pair<Why, std::string_view> cases[] = {
      {Why::kUnknownException, "unknown_exception"},
      {Why::kExceptionNotOpen, "exception_not_open"},
      {Why::kReplayedCommand, "replayed_command"},
      {Why::kTooManyCommands, "too_many_commands"},
  };
  for (const auto& [why, name] : cases) {
    const Rejection r = RejectionOf({why, "because"});
    EXPECT_EQ(ReasonName(r.reason), name);
    EXPECT_EQ(r.field, "exception_id");
    EXPECT_EQ(r.message, "because");
  }
}

TEST(DeadLetterRecord, KeepsTheOriginalRecordAndSaysWhy) {
  const auto r = DeadLetterRecord(Letter(100), "closeloop.dlq");
  EXPECT_EQ(r.topic, "closeloop.dlq");
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.value, std::string(100, 'x'));
  const auto h = Headers(r);
  EXPECT_EQ(h.at("trace"), std::string(10, 'h'));
  EXPECT_EQ(h.at(kHeaderReason), "oversized");
  EXPECT_EQ(h.at(kHeaderTopic), "crm.deals");
  EXPECT_EQ(h.at(kHeaderPartition), "1");
  EXPECT_EQ(h.at(kHeaderOffset), "42");
  EXPECT_FALSE(h.contains(kHeaderValueBytes));
  EXPECT_FALSE(h.contains(kHeaderTimestamp)) << "the original had no timestamp";
}

// The dead letter's own timestamp is when it was written; a document without
// `event_time` takes its record's, so redrive needs the original one.
TEST(DeadLetterRecord, KeepsTheOriginalTimestamp) {
  DeadLetter letter = Letter(100);
  letter.timestamp_ms = 1'700'000'000'123;
  const auto r = DeadLetterRecord(letter, "closeloop.dlq");
  EXPECT_EQ(Headers(r).at(kHeaderTimestamp), "1700000000123");
  EXPECT_EQ(SourceTimestampOf(r), 1'700'000'000'123);
}

TEST(SourceTimestampOf, IsNoneWithoutAWholeNumberOfMilliseconds) {
  for (const std::string value : {"", "abc", "12x", "-5", "1.5", " 7", "99999999999999999999"}) {
    const state::OutboxRecord r{
        .headers = {{kHeaderTopic, "crm.deals"}, {kHeaderTimestamp, value}}};
    EXPECT_EQ(SourceTimestampOf(r), std::nullopt) << "'" << value << "'";
  }
  EXPECT_EQ(SourceTimestampOf({.headers = {{kHeaderTopic, "crm.deals"}}}), std::nullopt)
      << "a dead letter written before closeloop kept the timestamp";
  EXPECT_EQ(SourceTimestampOf({.headers = {{kHeaderTimestamp, "0"}}}), 0);
}

// An input header named like closeloop's own (forged, or the outbox headers
// of a record closeloop published and got back) kept its name, so a reader
// taking the first closeloop.reason read the forgery, and the outbox's
// restart read-back could count a copied closeloop.outbox.seq as published.
TEST(DeadLetterRecord, RenamesOriginalHeadersInCloseloopsNamespace) {
  DeadLetter letter = Letter(10);
  letter.headers = {{"closeloop.reason", "spoof"},
                    {"closeloop.outbox.seq", "57"},
                    {"trace", "t"},
                    {"closeloopish", "kept"}};
  letter.rejection = {Reason::kMissingField, "currency", "no currency"};
  const auto r = DeadLetterRecord(letter, "closeloop.dlq");
  std::multimap<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h.count("closeloop.reason"), 1u);
  EXPECT_EQ(h.find("closeloop.reason")->second, "missing_field");
  EXPECT_EQ(h.count("closeloop.outbox.seq"), 0u);
  EXPECT_EQ(h.find("original.closeloop.reason")->second, "spoof");
  EXPECT_EQ(h.find("original.closeloop.outbox.seq")->second, "57");
  EXPECT_EQ(h.find("trace")->second, "t");
  EXPECT_EQ(h.find("closeloopish")->second, "kept");
}

// Regression (tests/hostile_test.py): a 3 MB record went to the DLQ whole,
// the broker refused it (message size too large) and the pipeline waited on
// it forever.
TEST(DeadLetterRecord, LeavesOutAValueTooLargeForTheBroker) {
  const auto r = DeadLetterRecord(Letter(3 << 20), "closeloop.dlq");
  EXPECT_TRUE(r.value.empty());
  const auto h = Headers(r);
  EXPECT_EQ(h.at(kHeaderValueBytes), std::to_string(3 << 20));
  EXPECT_EQ(h.at(kHeaderReason), "oversized");
  EXPECT_EQ(h.at(kHeaderOffset), "42");
  EXPECT_EQ(h.at("trace"), std::string(10, 'h'));
}

TEST(DeadLetterRecord, LeavesOutHugeOriginalHeadersToo) {
  const auto r = DeadLetterRecord(Letter(10, 2 << 20), "closeloop.dlq");
  EXPECT_TRUE(r.value.empty());
  const auto h = Headers(r);
  EXPECT_FALSE(h.contains("trace"));
  EXPECT_EQ(h.at(kHeaderValueBytes), "10");
  EXPECT_EQ(h.at(kHeaderReason), "oversized");
  // Only the original headers go: every one of closeloop's own stays.
  EXPECT_EQ(h.at(kHeaderTopic), "crm.deals");
  EXPECT_EQ(h.at(kHeaderPartition), "1");
  EXPECT_EQ(h.at(kHeaderOffset), "42");
  EXPECT_EQ(h.at(kHeaderError), "too big");
  EXPECT_EQ(r.headers.size(), h.size());
  size_t size = r.key.size() + r.value.size();
  for (const auto& [name, value] : r.headers) size += name.size() + value.size();
  EXPECT_LE(size, kMaxDeadLetterBytes);
}

// Regression (tests/hostile_test.py): a record whose key alone was over the
// producer's message.max.bytes made a dead letter Kafka refused for good, at
// every start.
TEST(DeadLetterRecord, LeavesOutAKeyTooLargeForTheBroker) {
  DeadLetter letter = Letter(10);
  letter.key = std::string(2 << 20, 'k');
  const auto r = DeadLetterRecord(letter, "closeloop.dlq");
  EXPECT_TRUE(r.key.empty());
  EXPECT_TRUE(r.value.empty());
  const auto h = Headers(r);
  EXPECT_EQ(h.at(kHeaderKeyBytes), std::to_string(2 << 20));
  EXPECT_EQ(h.at(kHeaderValueBytes), "10");
  EXPECT_EQ(h.at(kHeaderOffset), "42");
  EXPECT_FALSE(OriginalOf(r)) << "neither key nor value is there to send again";
  EXPECT_FALSE(Headers(DeadLetterRecord(Letter(3 << 20), "dlq")).contains(kHeaderKeyBytes));
}

// closeloop.field says which contract field was wrong, and is left out when
// the rejection names none (not sent empty).
TEST(DeadLetterRecord, NamesTheFieldOnlyWhenThereIsOne) {
  EXPECT_FALSE(Headers(DeadLetterRecord(Letter(100), "closeloop.dlq")).contains(kHeaderField));
  DeadLetter letter = Letter(100);
  letter.rejection = {Reason::kMissingField, "deal_id", "required field deal_id is missing"};
  EXPECT_EQ(Headers(DeadLetterRecord(letter, "closeloop.dlq")).at(kHeaderField), "deal_id");
}

// A dead letter of exactly kMaxDeadLetterBytes keeps its value; one byte
// more and the value is left out. TrimOriginal draws the line at the same
// place for the original alone.
TEST(DeadLetterRecord, KeepsTheValueUpToExactlyTheLimit) {
  size_t framing = 0;
  for (const auto& [name, value] : DeadLetterRecord(Letter(0), "closeloop.dlq").headers) {
    framing += name.size() + value.size();
  }
  framing += 1;  // the key
  const auto at_limit = DeadLetterRecord(Letter(kMaxDeadLetterBytes - framing), "closeloop.dlq");
  EXPECT_EQ(at_limit.value.size(), kMaxDeadLetterBytes - framing);
  const auto over = DeadLetterRecord(Letter(kMaxDeadLetterBytes - framing + 1), "closeloop.dlq");
  EXPECT_TRUE(over.value.empty());

  const size_t original_framing = 1 + 5 + 10;  // key, "trace" and its value
  DeadLetter exact = Letter(kMaxDeadLetterBytes - original_framing);
  TrimOriginal(exact);
  EXPECT_EQ(exact.value.size(), kMaxDeadLetterBytes - original_framing);
  EXPECT_FALSE(exact.value_bytes);
}

// A dead letter read back gives the record it was made from, headers in
// closeloop's namespace under their own names again.
TEST(OriginalOf, UndoesDeadLetterRecord) {
  DeadLetter letter = Letter(100);
  letter.headers = {{"trace", "t-1"}, {"closeloop.outbox.seq", "7"}, {"b", ""}};
  letter.rejection = {Reason::kUnknownException, "exception_id", "no exception"};
  letter.timestamp_ms = 5;  // sent again as the record's time, not as a header
  const std::optional<state::OutboxRecord> back = OriginalOf(DeadLetterRecord(letter, "dlq"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->topic, "crm.deals");
  EXPECT_EQ(back->key, "k");
  EXPECT_EQ(back->value, letter.value);
  EXPECT_EQ(back->headers, letter.headers);
  EXPECT_EQ(back->partition, std::nullopt) << "the producer's partitioner picks, as at first";
}

TEST(OriginalOf, RefusesWhatCannotBeSentAgain) {
  EXPECT_FALSE(OriginalOf(DeadLetterRecord(Letter(kMaxDeadLetterBytes), "dlq")))
      << "the value was left out";
  EXPECT_FALSE(OriginalOf({.topic = "dlq", .key = "k", .value = "v", .headers = {{"a", "b"}}}))
      << "not a dead letter: no source topic";
  EXPECT_FALSE(OriginalOf({.topic = "dlq", .value = "v", .headers = {{kHeaderTopic, ""}}}));
}

// TakeOriginal moves the original out of the event: nothing of it stays to
// be written again with the event.
TEST(TakeOriginal, MovesHeadersOutOfTheEvent) {
  v1::Event event;
  event.set_original_value("v");
  v1::Event::Header* header = event.add_original_headers();
  header->set_name("trace");
  header->set_value("t-1");
  const DeadLetter letter = TakeOriginal(event);
  ASSERT_EQ(letter.headers.size(), 1u);
  EXPECT_EQ(letter.headers[0], std::make_pair(std::string("trace"), std::string("t-1")));
  EXPECT_EQ(letter.value, "v");
  EXPECT_EQ(event.original_headers_size(), 0);
  EXPECT_TRUE(event.original_value().empty());
}

// A command kept in the state store (app/parked_commands.h) or forwarded on
// closeloop.events carries its original record and gives it back whole.
TEST(WithOriginal, IsUndoneByTakeOriginal) {
  DeadLetter letter = Letter(100);
  letter.partition = 3;
  letter.offset = 41;
  letter.headers = {{"trace", "t-1"}, {"b", ""}};
  letter.value_bytes = 7;
  letter.timestamp_ms = 1'700'000'000'123;
  v1::Event event;
  event.mutable_command()->set_command_id("c-1");
  v1::Event with = WithOriginal(event, letter);
  EXPECT_EQ(with.origin().topic(), "crm.deals");
  EXPECT_EQ(with.origin().partition(), 3);
  EXPECT_EQ(with.origin().offset(), 41);
  const DeadLetter back = TakeOriginal(with);
  EXPECT_EQ(back.topic, letter.topic);
  EXPECT_EQ(back.partition, 3);
  EXPECT_EQ(back.offset, 41);
  EXPECT_EQ(back.key, letter.key);
  EXPECT_EQ(back.value, letter.value);
  EXPECT_EQ(back.headers, letter.headers);
  EXPECT_EQ(back.value_bytes, 7u);
  EXPECT_EQ(back.timestamp_ms, 1'700'000'000'123);
  EXPECT_FALSE(with.has_original_timestamp_ms()) << "taken out with the rest";
  EXPECT_EQ(with.command().command_id(), "c-1");
}

// The ingest stage forwards a command with its original record, trimmed as
// its dead letter would be (a 1 MiB command made an events record Kafka
// refused for good); the dead letter a matcher task then writes says how
// large the value was, through closeloop.events and back (TakeOriginal).
TEST(TrimOriginal, LeavesOutWhatTheDeadLetterWouldAndKeepsTheValuesSize) {
  DeadLetter small = Letter(100);
  TrimOriginal(small);
  EXPECT_EQ(small.value, std::string(100, 'x'));
  EXPECT_FALSE(small.value_bytes);

  DeadLetter big = Letter(1 << 20);
  TrimOriginal(big);
  EXPECT_TRUE(big.value.empty());
  EXPECT_EQ(big.value_bytes, size_t{1} << 20);
  EXPECT_EQ(big.headers.size(), 1u);

  v1::Event event;
  event.set_original_key(big.key);
  event.set_original_value_bytes(static_cast<int64_t>(*big.value_bytes));
  DeadLetter back = TakeOriginal(event);
  EXPECT_FALSE(event.has_original_value_bytes());
  back.rejection = {Reason::kUnknownException, "exception_id", "no such exception"};
  const auto r = DeadLetterRecord(back, "closeloop.dlq");
  EXPECT_TRUE(r.value.empty());
  EXPECT_EQ(Headers(r).at(kHeaderValueBytes), std::to_string(1 << 20));

  DeadLetter headers = Letter(10, 2 << 20);
  TrimOriginal(headers);
  EXPECT_TRUE(headers.value.empty() && headers.headers.empty());
  EXPECT_EQ(headers.value_bytes, 10u);
}

// A command whose key alone is over message.max.bytes (the commands topic's
// broker took it): kept, it made an events record Kafka refused for good, and
// the ingest stage stopped at every start. The key goes too, its size kept
// through closeloop.events for the dead letter.
TEST(TrimOriginal, LeavesOutAKeyTooLargeAndKeepsItsSize) {
  DeadLetter letter = Letter(100);
  letter.key = std::string(2 << 20, 'k');
  TrimOriginal(letter);
  EXPECT_TRUE(letter.key.empty() && letter.value.empty() && letter.headers.empty());
  EXPECT_EQ(letter.key_bytes, size_t{2} << 20);
  EXPECT_EQ(letter.value_bytes, 100u);

  v1::Event event;
  event.mutable_command()->set_command_id("c-1");
  v1::Event with = WithOriginal(event, letter);
  DeadLetter back = TakeOriginal(with);
  EXPECT_FALSE(with.has_original_key_bytes());
  EXPECT_EQ(back.key_bytes, size_t{2} << 20);
  back.rejection = {Reason::kUnknownException, "exception_id", "no such exception"};
  const auto r = DeadLetterRecord(back, "closeloop.dlq");
  EXPECT_TRUE(r.key.empty() && r.value.empty());
  EXPECT_EQ(Headers(r).at(kHeaderKeyBytes), std::to_string(2 << 20));
  EXPECT_EQ(Headers(r).at(kHeaderValueBytes), "100");
}

}  // namespace
}  // namespace closeloop::ingest
