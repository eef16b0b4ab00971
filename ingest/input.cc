#include "ingest/input.h"

#include <algorithm>
#include <map>
#include <memory>

#include "fmt/format.h"
#include "ingest/dead_letter.h"
#include "ingest/normalize.h"
#include "spdlog/spdlog.h"

namespace closeloop::ingest {
namespace {

// Whether every partition of a partition -> at-its-end map is at its end.
template <class Map>
bool AllAtEnd(const Map& at_end) {
  return std::all_of(at_end.begin(), at_end.end(), [](const auto& p) { return p.second; });
}

// The record's Kafka timestamp. Kafka writes -1 for a record without one
// (the old message format, or a producer that gave none), as CreateTime: no
// time either.
std::optional<int64_t> KafkaTimestampOf(const RdKafka::Message& msg) {
  const RdKafka::MessageTimestamp ts = msg.timestamp();
  if (ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE || ts.timestamp < 0) {
    return std::nullopt;
  }
  return ts.timestamp;
}

// The record as it was read, for the dead-letter topic: where it came from,
// its key, bytes, headers and timestamp; the rejection is left to fill in.
DeadLetter AsRead(RdKafka::Message& msg, std::string_view bytes) {
  DeadLetter letter{.topic = msg.topic_name(),
                    .partition = msg.partition(),
                    .offset = msg.offset(),
                    .value = std::string(bytes),
                    .timestamp_ms = KafkaTimestampOf(msg)};
  if (const std::string* key = msg.key()) letter.key = *key;
  if (RdKafka::Headers* headers = msg.headers()) {
    for (const RdKafka::Headers::Header& h : headers->get_all()) {
      letter.headers.emplace_back(h.key(),
                                  std::string(static_cast<const char*>(h.value()), h.value_size()));
    }
  }
  return letter;
}

}  // namespace

matcher::EventTime WallNow() {
  return std::chrono::time_point_cast<matcher::Duration>(std::chrono::system_clock::now());
}

Input::Input(RdKafka::KafkaConsumer& consumer, std::vector<TopicBinding> topics, Limits limits,
             WatermarkTracker& tracker)
    : consumer_(consumer), topics_(std::move(topics)), limits_(limits), tracker_(tracker) {}

absl::Status Input::AssignAll(const OffsetLookup& stored, bool from_end) {
  std::vector<RdKafka::TopicPartition*> assignment;
  absl::Status status = absl::OkStatus();
  for (const TopicBinding& t : topics_) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(&consumer_, t.name, nullptr, err));
    RdKafka::Metadata* raw = nullptr;
    if (!handle || consumer_.metadata(false, handle.get(), &raw, 10000) != RdKafka::ERR_NO_ERROR) {
      status = absl::UnavailableError("metadata of " + t.name + ": " + err);
      break;
    }
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    for (const RdKafka::TopicMetadata* tm : *metadata->topics()) {
      if (tm->err() != RdKafka::ERR_NO_ERROR || tm->partitions()->empty()) {
        status = absl::UnavailableError("topic " + t.name + ": " + RdKafka::err2str(tm->err()));
        break;
      }
      for (const RdKafka::PartitionMetadata* p : *tm->partitions()) {
        if (t.partition && p->id() != *t.partition) continue;
        if (t.internal) internal_at_end_[p->id()] = false;
        if (!t.internal && !t.source) others_at_end_[{t.name, p->id()}] = false;
        const std::optional<int64_t> next = stored(t.name, p->id());
        if (next) expected_[{t.name, p->id()}] = *next;
        assignment.push_back(RdKafka::TopicPartition::create(
            t.name, p->id(),
            next ? *next
                 : (from_end ? RdKafka::Topic::OFFSET_END : RdKafka::Topic::OFFSET_BEGINNING)));
      }
    }
  }
  if (status.ok()) {
    if (const RdKafka::ErrorCode err = consumer_.assign(assignment); err != RdKafka::ERR_NO_ERROR) {
      status = absl::UnavailableError("assign: " + RdKafka::err2str(err));
    }
  }
  RdKafka::TopicPartition::destroy(assignment);
  // The tracker knows every partition from the start, so a watermark
  // published before the first poll waits for the empty ones too.
  if (status.ok()) RefreshAssignment();
  if (status.ok() && !others_at_end_.empty()) PauseSources(true);
  return status;
}

void Input::PauseSources(bool pause) {
  std::vector<RdKafka::TopicPartition*> assigned;
  if (consumer_.assignment(assigned) != RdKafka::ERR_NO_ERROR) return;
  std::vector<RdKafka::TopicPartition*> sources;
  for (RdKafka::TopicPartition* tp : assigned) {
    const TopicBinding* b = Binding(tp->topic());
    if (b != nullptr && b->source) sources.push_back(tp);
  }
  const RdKafka::ErrorCode err = pause ? consumer_.pause(sources) : consumer_.resume(sources);
  if (err == RdKafka::ERR_NO_ERROR) {
    sources_paused_ = pause;
  } else {
    spdlog::warn("consumer: {} the input sources: {}", pause ? "pausing" : "resuming",
                 RdKafka::err2str(err));
  }
  RdKafka::TopicPartition::destroy(assigned);
}

const TopicBinding* Input::Binding(const std::string& topic) const {
  for (const TopicBinding& t : topics_) {
    if (t.name == topic) return &t;
  }
  return nullptr;
}

void Input::RefreshAssignment() {
  std::vector<RdKafka::TopicPartition*> assigned;
  if (consumer_.assignment(assigned) != RdKafka::ERR_NO_ERROR) return;
  std::map<matcher::Source, std::vector<int>> by_source;
  for (const TopicBinding& t : topics_) {
    if (t.source) by_source[*t.source];
  }
  for (RdKafka::TopicPartition* tp : assigned) {
    const TopicBinding* b = Binding(tp->topic());
    if (b != nullptr && b->source) by_source[*b->source].push_back(tp->partition());
  }
  RdKafka::TopicPartition::destroy(assigned);
  for (const auto& [source, partitions] : by_source) tracker_.SetPartitions(source, partitions);
}

absl::Status Input::Poll(int max_records, matcher::Duration max_wait, Batch& batch) {
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  int read = 0;
  while (read < max_records) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::unique_ptr<RdKafka::Message> msg(consumer_.consume(static_cast<int>(left.count())));
    const matcher::EventTime now = WallNow();
    switch (msg->err()) {
      case RdKafka::ERR__TIMED_OUT:
        continue;
      case RdKafka::ERR__PARTITION_EOF:
        if (const TopicBinding* b = Binding(msg->topic_name()); b != nullptr && b->source) {
          tracker_.OnEndOfPartition(*b->source, msg->partition(), now);
        } else if (b != nullptr && b->internal) {
          internal_at_end_[msg->partition()] = true;
        } else if (b != nullptr) {
          others_at_end_[{msg->topic_name(), msg->partition()}] = true;
          if (sources_paused_ && AllAtEnd(others_at_end_)) PauseSources(false);
        }
        // Every input partition is at its end: waiting for the batch to fill
        // would only delay what it holds.
        if (read > 0 && AllCaughtUp()) {
          RefreshAssignment();
          return absl::OkStatus();
        }
        continue;
      case RdKafka::ERR_NO_ERROR:
        break;
      default:
        if (msg->err() == RdKafka::ERR__FATAL) {
          return absl::InternalError("consumer: " + msg->errstr());
        }
        // A partition-level error (e.g. a record larger than
        // receive.message.max.bytes, or an offset reset because records were
        // deleted before they were read) names where it happened.
        if (!msg->topic_name().empty() && msg->partition() >= 0) {
          spdlog::warn("consumer: {} [{}] at offset {}: {} (retrying)", msg->topic_name(),
                       msg->partition(), msg->offset(), msg->errstr());
        } else {
          spdlog::warn("consumer: {} (retrying)", msg->errstr());
        }
        continue;
    }
    const TopicBinding* b = Binding(msg->topic_name());
    if (b == nullptr) continue;
    ++read;
    ++batch.records;
    NoteLostRecords(*msg);
    batch.next_offsets[{msg->topic_name(), msg->partition()}] = msg->offset() + 1;
    if (b->source) tracker_.OnRecord(*b->source, msg->partition(), now);
    if (!b->source && !b->internal) others_at_end_[{msg->topic_name(), msg->partition()}] = false;
    const std::string_view bytes(static_cast<const char*>(msg->payload()), msg->len());
    if (b->internal) {
      internal_at_end_[msg->partition()] = false;
      ReadInternal(*msg, bytes, batch);
      continue;
    }
    const std::optional<int64_t> kafka_ts = KafkaTimestampOf(*msg);
    auto original = [&] { return AsRead(*msg, bytes); };
    // A decoded event (the batch's arena owns it) joins the batch: a document
    // as it is, a command copied off the arena with its original record. A
    // rejection (event null) becomes a dead letter.
    auto take = [&](v1::Event* event, std::optional<Rejection> rejection) {
      if (event != nullptr && b->source) {
        if (const size_t size = event->ByteSizeLong(); size > kMaxEventBytes) {
          rejection = Rejection{Reason::kOversized, "",
                                fmt::format("the document is {} bytes in canonical form, more "
                                            "than the {} a record of the internal events topic "
                                            "may be",
                                            size, kMaxEventBytes)};
          event = nullptr;
        }
      }
      if (event == nullptr) {
        DeadLetter letter = original();
        letter.rejection = std::move(*rejection);
        batch.dead_letters.push_back(std::move(letter));
        return;
      }
      v1::Origin* origin = event->mutable_origin();
      origin->set_topic(msg->topic_name());
      origin->set_partition(msg->partition());
      origin->set_offset(msg->offset());
      if (b->source) {
        tracker_.OnEventTime(*b->source, msg->partition(), EventTimeOf(*event), now);
        batch.events.UnsafeArenaAddAllocated(event);  // the arena owns it already
        return;
      }
      batch.commands.push_back({std::move(*event), original()});
    };
    if (b->adapter != nullptr) {
      std::vector<Adapted> outputs;
      const std::string* key = msg->key();
      b->adapter->Adapt(
          {.topic = msg->topic_name(),
           .key = key != nullptr ? std::optional<std::string_view>(*key) : std::nullopt,
           .value = bytes,
           .tombstone = msg->payload() == nullptr,
           .kafka_timestamp_ms = kafka_ts},
          outputs);
      for (Adapted& adapted : outputs) {
        if (auto* event = std::get_if<v1::Event>(&adapted)) {
          // Moved (not copied) onto the heap, and deleted with the arena.
          auto* owned = new v1::Event(std::move(*event));
          batch.arena.Own(owned);
          take(owned, std::nullopt);
        } else {
          take(nullptr, std::get<Rejection>(std::move(adapted)));
        }
      }
      continue;
    }
    auto* event = google::protobuf::Arena::CreateMessage<v1::Event>(&batch.arena);
    std::optional<Rejection> rejection =
        DecodeInto(b->type, b->format, bytes, kafka_ts, limits_, *event);
    take(rejection ? nullptr : event, std::move(rejection));
  }
  RefreshAssignment();
  return absl::OkStatus();
}

void Input::NoteLostRecords(const RdKafka::Message& msg) {
  const std::pair<std::string, int32_t> tp(msg.topic_name(), msg.partition());
  auto [it, first] = expected_.try_emplace(tp, msg.offset());
  int64_t low = 0, high = 0;
  // The partition's start as of the last fetch, which carries it: no request.
  if (!first && msg.offset() > it->second &&
      consumer_.get_watermark_offsets(tp.first, tp.second, &low, &high) == RdKafka::ERR_NO_ERROR &&
      low > it->second) {
    // The consumer was reset to the first record still held (auto.offset.reset
    // earliest); as a start does (app/pipeline.cc), it is not silent.
    const int64_t lost_to = std::min(low, msg.offset());
    spdlog::error(
        "{}[{}]: records {} to {} were deleted by the broker's retention before closeloop "
        "read them ({} records lost); resuming at {}",
        tp.first, tp.second, it->second, lost_to - 1, lost_to - it->second, msg.offset());
  }
  it->second = msg.offset() + 1;
}

void Input::ReadInternal(RdKafka::Message& msg, std::string_view bytes, Batch& batch) {
  // Whoever wrote it, it is dead-lettered as it was read, key and headers too.
  DeadLetter letter = AsRead(msg, bytes);
  v1::Event& event = *google::protobuf::Arena::CreateMessage<v1::Event>(&batch.arena);
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      event.payload_case() == v1::Event::PAYLOAD_NOT_SET) {
    // Only closeloop's ingest stage writes this topic; something else did.
    letter.rejection = {Reason::kMalformedProtobuf, "",
                        "not a record of closeloop's ingest stage (a v1.Event)"};
    batch.dead_letters.push_back(std::move(letter));
    return;
  }
  switch (event.payload_case()) {
    case v1::Event::kWatermark: {
      const v1::Watermark& w = event.watermark();
      if (w.source() < v1::SOURCE_CRM || w.source() > v1::SOURCE_PAYMENTS ||
          w.source_partition() < 0 || w.source_partition() >= w.source_partitions()) {
        letter.rejection = {Reason::kInvalidValue, "watermark",
                            "a watermark record with an unknown source or partition"};
        batch.dead_letters.push_back(std::move(letter));
        return;
      }
      batch.watermarks.push_back(w);
      return;
    }
    case v1::Event::kCommand: {
      // A refused command is dead-lettered as the ingest stage read it.
      DeadLetter original = TakeOriginal(event);
      batch.commands.push_back({std::move(event), std::move(original)});
      return;
    }
    default:
      batch.events.AddAllocated(&event);
  }
}

bool Input::AllCaughtUp() const {
  if (!AllAtEnd(others_at_end_)) return false;
  if (internal_at_end_.empty()) return tracker_.AllCaughtUp();
  return AllAtEnd(internal_at_end_);
}

}  // namespace closeloop::ingest
