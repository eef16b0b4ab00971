#include "ingest/dead_letter.h"

#include <charconv>

namespace closeloop::ingest {

state::OutboxRecord DeadLetterRecord(const DeadLetter& letter, const std::string& topic) {
  state::OutboxRecord r{
      .topic = topic, .key = letter.key, .value = letter.value, .headers = letter.headers};
  // An original header in closeloop's namespace (a forged one, or the
  // closeloop.outbox.* of a record closeloop published and got back) would
  // pass for closeloop's own, which follow; it keeps its value under a
  // prefix.
  for (auto& [name, value] : r.headers) {
    if (name.starts_with(kHeaderNamespace)) name.insert(0, kOriginalHeaderPrefix);
  }
  r.headers.emplace_back(kHeaderTopic, letter.topic);
  r.headers.emplace_back(kHeaderPartition, std::to_string(letter.partition));
  r.headers.emplace_back(kHeaderOffset, std::to_string(letter.offset));
  if (letter.timestamp_ms)
    r.headers.emplace_back(kHeaderTimestamp, std::to_string(*letter.timestamp_ms));
  r.headers.emplace_back(kHeaderReason, ReasonName(letter.rejection.reason));
  if (!letter.rejection.field.empty()) r.headers.emplace_back(kHeaderField, letter.rejection.field);
  r.headers.emplace_back(kHeaderError, letter.rejection.message);
  if (r.bytes() > kMaxDeadLetterBytes || letter.value_bytes) {
    r.headers.emplace_back(kHeaderValueBytes,
                           std::to_string(letter.value_bytes.value_or(r.value.size())));
    r.value.clear();
    if (r.bytes() > kMaxDeadLetterBytes) {
      // The original headers go too; closeloop's own stay.
      r.headers.erase(r.headers.begin(), r.headers.begin() + letter.headers.size());
    }
    if (r.bytes() > kMaxDeadLetterBytes || letter.key_bytes) {
      // The key alone is too large (the input topic's broker took it): it
      // goes too, or Kafka would refuse the dead letter at every start.
      r.headers.emplace_back(kHeaderKeyBytes,
                             std::to_string(letter.key_bytes.value_or(r.key.size())));
      r.key.clear();
    }
  }
  return r;
}

std::optional<state::OutboxRecord> OriginalOf(const state::OutboxRecord& letter) {
  state::OutboxRecord r{.key = letter.key, .value = letter.value};
  bool has_topic = false;
  for (const auto& [name, value] : letter.headers) {
    if (name == kHeaderValueBytes) return std::nullopt;
    if (name == kHeaderTopic) {
      r.topic = value;
      has_topic = true;
    } else if (!name.starts_with(kHeaderNamespace)) {
      std::string_view original = name;
      if (original.starts_with(kOriginalHeaderPrefix) &&
          original.substr(kOriginalHeaderPrefix.size()).starts_with(kHeaderNamespace)) {
        original.remove_prefix(kOriginalHeaderPrefix.size());
      }
      r.headers.emplace_back(original, value);
    }
  }
  if (!has_topic || r.topic.empty()) return std::nullopt;
  return r;
}

std::optional<int64_t> SourceTimestampOf(const state::OutboxRecord& letter) {
  for (const auto& [name, value] : letter.headers) {
    if (name != kHeaderTimestamp) continue;
    int64_t ms = 0;
    const auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (err != std::errc() || end != value.data() + value.size() || ms < 0) return std::nullopt;
    return ms;
  }
  return std::nullopt;
}

void TrimOriginal(DeadLetter& letter) {
  if (state::KafkaBytes(letter.key, letter.value, letter.headers) <= kMaxDeadLetterBytes) return;
  letter.value_bytes = letter.value_bytes.value_or(letter.value.size());
  letter.value.clear();
  if (state::KafkaBytes(letter.key, letter.value, letter.headers) > kMaxDeadLetterBytes)
    letter.headers.clear();
  if (state::KafkaBytes(letter.key, letter.value, letter.headers) > kMaxDeadLetterBytes) {
    // Kept, a key over message.max.bytes (the input topic's broker took it)
    // made an events record Kafka refuses for good.
    letter.key_bytes = letter.key.size();
    letter.key.clear();
  }
}

Rejection RejectionOf(const matcher::CommandRejection& refused) {
  auto reason = [&] {
    switch (refused.why) {
      case matcher::CommandRejection::Why::kUnknownException:
        return Reason::kUnknownException;
      case matcher::CommandRejection::Why::kExceptionNotOpen:
        return Reason::kExceptionNotOpen;
      case matcher::CommandRejection::Why::kReplayedCommand:
        return Reason::kReplayedCommand;
      case matcher::CommandRejection::Why::kTooManyCommands:
        return Reason::kTooManyCommands;
    }
    return Reason::kInvalidValue;
  };
  return Rejection{reason(), "exception_id", refused.message};
}

DeadLetter TakeOriginal(v1::Event& event) {
  DeadLetter letter{.topic = event.origin().topic(),
                    .partition = event.origin().partition(),
                    .offset = event.origin().offset(),
                    .key = std::move(*event.mutable_original_key()),
                    .value = std::move(*event.mutable_original_value())};
  if (event.has_original_value_bytes()) {
    letter.value_bytes = static_cast<size_t>(event.original_value_bytes());
  }
  if (event.has_original_key_bytes()) {
    letter.key_bytes = static_cast<size_t>(event.original_key_bytes());
  }
  if (event.has_original_timestamp_ms()) letter.timestamp_ms = event.original_timestamp_ms();
  for (v1::Event::Header& h : *event.mutable_original_headers()) {
    letter.headers.emplace_back(std::move(*h.mutable_name()), std::move(*h.mutable_value()));
  }
  event.clear_original_key();
  event.clear_original_value();
  event.clear_original_headers();
  event.clear_original_value_bytes();
  event.clear_original_key_bytes();
  event.clear_original_timestamp_ms();
  return letter;
}

v1::Event WithOriginal(v1::Event event, const DeadLetter& original) {
  v1::Origin* origin = event.mutable_origin();
  origin->set_topic(original.topic);
  origin->set_partition(original.partition);
  origin->set_offset(original.offset);
  event.set_original_key(original.key);
  event.set_original_value(original.value);
  for (const auto& [name, value] : original.headers) {
    v1::Event::Header* h = event.add_original_headers();
    h->set_name(name);
    h->set_value(value);
  }
  if (original.value_bytes) {
    event.set_original_value_bytes(static_cast<int64_t>(*original.value_bytes));
  }
  if (original.key_bytes) event.set_original_key_bytes(static_cast<int64_t>(*original.key_bytes));
  if (original.timestamp_ms) event.set_original_timestamp_ms(*original.timestamp_ms);
  return event;
}

}  // namespace closeloop::ingest
