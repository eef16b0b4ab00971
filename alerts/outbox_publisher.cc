#include "alerts/outbox_publisher.h"

#include <charconv>
#include <thread>

#include "fmt/format.h"
#include "ingest/utf8.h"
#include "spdlog/spdlog.h"

namespace closeloop::alerts {
namespace {

using std::chrono::milliseconds;

// Turns a transactional API error into a status, aborting the transaction
// when the error requires it. Fatal errors become FailedPrecondition (the
// producer can never succeed again); the rest Unavailable (retry).
absl::Status Handle(RdKafka::Error* raw, RdKafka::Producer& producer, milliseconds timeout) {
  std::unique_ptr<RdKafka::Error> err(raw);
  if (!err) return absl::OkStatus();
  if (err->is_fatal()) return absl::FailedPreconditionError("kafka transaction: " + err->str());
  if (err->txn_requires_abort()) {
    std::unique_ptr<RdKafka::Error> aborted(
        producer.abort_transaction(static_cast<int>(timeout.count())));
    if (aborted && aborted->is_fatal()) {
      return absl::FailedPreconditionError("kafka transaction abort: " + aborted->str());
    }
  }
  return absl::UnavailableError("kafka transaction: " + err->str());
}

// Errors no retry of the same record can get past: its size, or its
// content, refused by the producer's or the broker's limits.
bool IsPermanentRefusal(RdKafka::ErrorCode err) {
  return err == RdKafka::ERR_MSG_SIZE_TOO_LARGE || err == RdKafka::ERR_RECORD_LIST_TOO_LARGE ||
         err == RdKafka::ERR_INVALID_RECORD;
}

struct PartitionBounds {
  int32_t partition = 0;
  int64_t low = 0, high = 0;
};

// Every partition of `topic` with its first and next offsets.
absl::StatusOr<std::vector<PartitionBounds>> Bounds(RdKafka::KafkaConsumer& c,
                                                    const std::string& topic,
                                                    milliseconds timeout) {
  const int timeout_ms = static_cast<int>(timeout.count());
  std::string err;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&c, topic, nullptr, err));
  RdKafka::Metadata* raw = nullptr;
  if (!handle || c.metadata(false, handle.get(), &raw, timeout_ms) != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("metadata of " + topic + ": " + err);
  }
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  std::vector<PartitionBounds> bounds;
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    for (const RdKafka::PartitionMetadata* p : *t->partitions()) {
      PartitionBounds& b = bounds.emplace_back(PartitionBounds{.partition = p->id()});
      if (c.query_watermark_offsets(topic, p->id(), &b.low, &b.high, timeout_ms) !=
          RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError("end offsets of " + topic);
      }
    }
  }
  return bounds;
}

bool SleepUnlessStopped(milliseconds how_long, const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < until) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return !stop.load();
}

}  // namespace

OutboxPublisher::OutboxPublisher(ConsumerFactory make_consumer, Options options)
    : make_consumer_(std::move(make_consumer)), options_(options) {}

absl::StatusOr<std::unique_ptr<OutboxPublisher>> OutboxPublisher::Create(
    ProducerFactory make_producer, ConsumerFactory make_consumer, Options options) {
  std::unique_ptr<OutboxPublisher> publisher(
      new OutboxPublisher(std::move(make_consumer), options));
  auto producer = make_producer(publisher.get());
  if (!producer.ok()) return producer.status();
  publisher->producer_ = std::move(*producer);
  return publisher;
}

absl::Status OutboxPublisher::Init(const std::atomic<bool>& stop) {
  for (;;) {
    absl::Status s =
        Handle(producer_->init_transactions(static_cast<int>(options_.call_timeout.count())),
               *producer_, options_.call_timeout);
    if (s.ok() || absl::IsFailedPrecondition(s)) return s;
    spdlog::warn("waiting for the transaction coordinator: {}", std::string(s.message()));
    if (!SleepUnlessStopped(options_.retry_backoff, stop)) {
      return absl::CancelledError("stopped while waiting for the transaction coordinator");
    }
  }
}

void OutboxPublisher::dr_cb(RdKafka::Message& message) {
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    ++delivery_failures_;
    const auto* entry = static_cast<const OutboxEntry*>(message.msg_opaque());
    if (IsPermanentRefusal(message.err()) && entry != nullptr && !refused_) {
      refused_ = Refused{entry->seq, entry->record.topic, entry->record.key, entry->record.bytes(),
                         message.err()};
    }
    return;
  }
  int64_t& next = delivered_[{message.topic_name(), message.partition()}];
  next = std::max(next, message.offset() + 1);
}

absl::Status OutboxPublisher::Attempt(const std::vector<OutboxEntry>& entries,
                                      const std::atomic<bool>& stop) {
  delivered_.clear();
  delivery_failures_ = 0;
  refused_.reset();
  const milliseconds timeout = options_.call_timeout;
  if (absl::Status s = Handle(producer_->begin_transaction(), *producer_, timeout); !s.ok()) {
    return s;
  }
  for (const OutboxEntry& e : entries) {
    const state::OutboxRecord& r = e.record;
    for (;;) {
      std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
      for (const auto& [key, value] : r.headers) headers->add(key, value);
      headers->add(kHeaderOutboxSeq, std::to_string(e.seq));
      if (!options_.outbox_id.empty()) headers->add(kHeaderOutboxId, options_.outbox_id);
      const RdKafka::ErrorCode err = producer_->produce(
          r.topic, r.partition.value_or(RdKafka::Topic::PARTITION_UA),
          RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(r.value.data()), r.value.size(),
          r.key.empty() ? nullptr : r.key.data(), r.key.size(), 0, headers.get(),
          // Names the entry in the delivery report; `entries` outlives the
          // transaction, which commit or abort flushes.
          const_cast<OutboxEntry*>(&e));
      if (err == RdKafka::ERR_NO_ERROR) {
        headers.release();  // the producer owns them once produce succeeded
        break;
      }
      if (err != RdKafka::ERR__QUEUE_FULL || stop.load()) {
        (void)Handle(producer_->abort_transaction(static_cast<int>(timeout.count())), *producer_,
                     timeout);
        if (IsPermanentRefusal(err)) {
          return RefusedStatus({e.seq, r.topic, r.key, r.bytes(), err});
        }
        return stop.load()
                   ? absl::CancelledError("stopping")
                   : absl::UnavailableError("produce to " + r.topic + ": " + RdKafka::err2str(err));
      }
      producer_->poll(100);  // let deliveries drain the queue
    }
  }
  for (;;) {
    std::unique_ptr<RdKafka::Error> err(
        producer_->commit_transaction(static_cast<int>(timeout.count())));
    if (!err) {
      if (refused_) return RefusedStatus(*refused_);
      return delivery_failures_ == 0 ? absl::OkStatus()
                                     : absl::UnavailableError("undelivered records");
    }
    if (!err->is_retriable() || err->is_fatal() || err->txn_requires_abort() || stop.load()) {
      absl::Status s = Handle(err.release(), *producer_, timeout);
      // A refused record fails the transaction; say which, unless the
      // producer itself is gone.
      if (refused_ && !absl::IsFailedPrecondition(s)) return RefusedStatus(*refused_);
      return s;
    }
    spdlog::warn("committing the publish transaction, retrying: {}", err->str());
  }
}

absl::Status OutboxPublisher::RefusedStatus(const Refused& r) const {
  // What would let the record through: a size limit raised, or (the
  // broker's validation refusing the record) the topic's settings mended.
  const std::string_view until =
      r.error == RdKafka::ERR_INVALID_RECORD
          ? "the topic takes it (a compacted topic refuses a record without a key, such as the "
            "dead letter of a record that had none: the DLQ must not be compacted)"
          : "the topic's max.message.bytes and the producer's message.max.bytes "
            "(kafka.properties) allow it";
  const std::string message = fmt::format(
      "Kafka refuses outbox record seq {} (key {}, {} bytes with key and headers) for topic {} "
      "for good: {}. "
      "Nothing of its transaction was published and it stays in the outbox; the next start "
      "publishes it once {}",
      r.seq, ingest::Excerpt(r.key, 256), r.bytes, r.topic, RdKafka::err2str(r.error), until);
  spdlog::error("{}", message);
  return absl::FailedPreconditionError(message);
}

absl::Status OutboxPublisher::Publish(const std::vector<OutboxEntry>& entries,
                                      const std::atomic<bool>& stop) {
  if (entries.empty()) return absl::OkStatus();
  for (;;) {
    // A stop asked for during the batch still gets one attempt.
    absl::Status s = Attempt(entries, stop);
    if (s.ok()) {
      for (const auto& [tp, next] : delivered_) {
        int64_t& to = published_to_[tp];
        to = std::max(to, next);
      }
      return s;
    }
    if (absl::IsFailedPrecondition(s) || absl::IsCancelled(s)) return s;
    spdlog::warn("publishing {} records waits for the broker: {}", entries.size(),
                 std::string(s.message()));
    if (!SleepUnlessStopped(options_.retry_backoff, stop)) {
      return absl::CancelledError("stopped before the outbox was published");
    }
  }
}

absl::StatusOr<PartitionOffsets> OutboxPublisher::Ends(const std::set<std::string>& topics) {
  auto consumer = make_consumer_();
  if (!consumer.ok()) return consumer.status();
  PartitionOffsets ends;
  for (const std::string& topic : topics) {
    auto bounds = Bounds(**consumer, topic, options_.call_timeout);
    if (!bounds.ok()) return bounds.status();
    for (const PartitionBounds& b : *bounds) ends[{topic, b.partition}] = b.high;
  }
  (*consumer)->close();
  return ends;
}

absl::StatusOr<std::set<uint64_t>> OutboxPublisher::AlreadyPublished(
    const std::vector<OutboxEntry>& entries, const PartitionOffsets& from) {
  std::set<uint64_t> wanted, found;
  std::set<std::string> topics;
  for (const OutboxEntry& e : entries) {
    wanted.insert(e.seq);
    topics.insert(e.record.topic);
  }
  if (wanted.empty()) return found;
  auto consumer = make_consumer_();
  if (!consumer.ok()) return consumer.status();
  RdKafka::KafkaConsumer& c = **consumer;
  PartitionOffsets starts, ends;
  for (const std::string& topic : topics) {
    auto bounds = Bounds(c, topic, options_.call_timeout);
    if (!bounds.ok()) return bounds.status();
    for (const auto& [partition, low, high] : *bounds) {
      auto it = from.find({topic, partition});
      const int64_t start = std::max(low, it == from.end() ? low : it->second);
      if (start >= high) continue;
      starts[{topic, partition}] = start;
      ends[{topic, partition}] = high;
    }
  }
  std::vector<RdKafka::TopicPartition*> assignment;
  for (const auto& [tp, start] : starts) {
    assignment.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, start));
  }
  const RdKafka::ErrorCode assigned = c.assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (assigned != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("assign: " + RdKafka::err2str(assigned));
  }
  // A long topic takes as long as it takes; only a read that stops moving
  // gives up (a fixed bound failed every start once the topics held more
  // than it could read).
  auto deadline = std::chrono::steady_clock::now() + 4 * options_.call_timeout;
  while (!ends.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("reading the output topics back stopped moving");
    }
    std::unique_ptr<RdKafka::Message> m(c.consume(200));
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    deadline = std::chrono::steady_clock::now() + 4 * options_.call_timeout;
    auto end = ends.find({m->topic_name(), m->partition()});
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      // On a real broker a transactional topic ends with a commit or abort
      // marker, which is never delivered: the last record read is below
      // the end, and only reaching the end says the partition is read.
      // (The embedded Kafka writes no markers.)
      if (end != ends.end() && m->offset() >= end->second) ends.erase(end);
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError("reading back: " + m->errstr());
    }
    // The publisher adds its sequence and id after a record's own headers:
    // only the last of each is ours (a dead letter's copied headers are
    // renamed, but a record's other headers are the caller's).
    const RdKafka::Headers* headers = m->headers();
    bool ours = true;
    if (headers != nullptr) {
      const RdKafka::Headers::Header id = headers->get_last(kHeaderOutboxId);
      if (id.err() == RdKafka::ERR_NO_ERROR) {
        ours = std::string_view(static_cast<const char*>(id.value()), id.value_size()) ==
               options_.outbox_id;
      }
    }
    if (headers != nullptr && ours) {
      const RdKafka::Headers::Header h = headers->get_last(kHeaderOutboxSeq);
      if (h.err() == RdKafka::ERR_NO_ERROR && h.value() != nullptr) {
        uint64_t seq = 0;
        const char* text = static_cast<const char*>(h.value());
        std::from_chars(text, text + h.value_size(), seq);
        if (wanted.count(seq)) found.insert(seq);
      }
    }
    if (end != ends.end() && m->offset() + 1 >= end->second) ends.erase(end);
  }
  c.close();
  return found;
}

}  // namespace closeloop::alerts
