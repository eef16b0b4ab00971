// Pipeline's outbox: publishing what a committed batch wrote, and after a
// restart what the last run wrote but may not have published (ARCHITECTURE:
// exactly-once via RocksDB, outbox and transactions).
#include <charconv>
#include <set>

#include "app/pipeline.h"
#include "spdlog/spdlog.h"

namespace closeloop::app {
namespace {

// Outbox records published in one transaction at most.
constexpr size_t kOutboxChunk = 20000;
// Meta records "published_to/<topic>/<partition>": where reading an output
// partition back starts after a restart.
constexpr std::string_view kPublishedTo = "published_to/";

std::string PublishedToKey(const std::pair<std::string, int32_t>& tp) {
  return std::string(kPublishedTo) + tp.first + "/" + std::to_string(tp.second);
}

}  // namespace

absl::Status Pipeline::RecoverOutbox(const std::atomic<bool>& stop) {
  auto meta = store_->ScanMeta(kPublishedTo);
  if (!meta.ok()) return meta.status();
  alerts::PartitionOffsets from;
  for (const auto& [name, value] : *meta) {
    const std::string_view rest = std::string_view(name).substr(kPublishedTo.size());
    const size_t slash = rest.rfind('/');
    int32_t partition = 0;
    int64_t offset = 0;
    if (slash == std::string_view::npos) continue;
    std::from_chars(rest.data() + slash + 1, rest.data() + rest.size(), partition);
    std::from_chars(value.data(), value.data() + value.size(), offset);
    from[{std::string(rest.substr(0, slash)), partition}] = offset;
    noted_topics_.emplace(rest.substr(0, slash));
  }
  for (;;) {
    auto pending = store_->Outbox(kOutboxChunk);
    if (!pending.ok()) return pending.status();
    if (pending->empty()) return absl::OkStatus();
    std::vector<alerts::OutboxEntry> entries;
    for (auto& [seq, record] : *pending) entries.push_back({seq, std::move(record)});
    auto held = publisher_->AlreadyPublished(entries, from);
    if (!held.ok()) return held.status();
    const uint64_t last = entries.back().seq;
    std::erase_if(entries, [&](const alerts::OutboxEntry& e) { return held->count(e.seq) > 0; });
    spdlog::info("outbox left by the last run: {} records to publish, {} already on Kafka",
                 entries.size(), held->size());
    stats_.recovered_outbox += static_cast<int64_t>(entries.size());
    stats_.skipped_outbox += static_cast<int64_t>(held->size());
    if (absl::Status s = NoteEnds(entries); !s.ok()) return s;
    const SnapshotBox::PublishingScope publishing(snapshots_);
    if (absl::Status s = publisher_->Publish(entries, stop); !s.ok()) return s;
    if (absl::Status s = store_->RemoveOutbox(last); !s.ok()) return s;
    if (absl::Status s = store_->Commit(); !s.ok()) return s;
  }
}

absl::Status Pipeline::PublishOutbox(const std::atomic<bool>& stop) {
  for (;;) {
    auto pending = store_->Outbox(kOutboxChunk);
    if (!pending.ok()) return pending.status();
    std::vector<alerts::OutboxEntry> entries;
    for (auto& [seq, record] : *pending) {
      if (seq > published_upto_) entries.push_back({seq, std::move(record)});
    }
    if (entries.empty()) return absl::OkStatus();
    if (absl::Status s = NoteEnds(entries); !s.ok()) return s;
    const SnapshotBox::PublishingScope publishing(snapshots_);
    absl::Status s = publisher_->Publish(entries, stop);
    if (absl::IsCancelled(s)) {
      spdlog::info("stopping with {} records in the outbox; the next start publishes them",
                   entries.size());
      return absl::OkStatus();
    }
    if (!s.ok()) return s;
    published_upto_ = entries.back().seq;
    if (entries.size() < kOutboxChunk) return absl::OkStatus();
    // Removed in the pending batch (committed with the next one), so that the
    // next chunk starts after this one: it read the same chunk again and
    // stopped, leaving every record past the first chunk for a later batch.
    if (absl::Status s = StagePublished(); !s.ok()) return s;
  }
}

absl::Status Pipeline::StagePublished() {
  if (published_upto_ == 0) return absl::OkStatus();
  if (absl::Status s = store_->RemoveOutbox(published_upto_); !s.ok()) return s;
  for (const auto& [tp, next] : publisher_->published_to()) {
    store_->PutMeta(PublishedToKey(tp), std::to_string(next));
  }
  return absl::OkStatus();
}

absl::Status Pipeline::NoteEnds(const std::vector<alerts::OutboxEntry>& entries) {
  std::set<std::string> topics;
  for (const alerts::OutboxEntry& e : entries) {
    if (!noted_topics_.contains(e.record.topic)) topics.insert(e.record.topic);
  }
  if (topics.empty()) return absl::OkStatus();
  auto ends = publisher_->Ends(topics);
  if (!ends.ok()) {
    // Not noted, a restart reads these topics back from their beginning:
    // slower, never wrong.
    spdlog::warn("where the output topics end could not be noted: {}",
                 std::string(ends.status().message()));
    return absl::OkStatus();
  }
  for (const auto& [tp, end] : *ends) store_->PutMeta(PublishedToKey(tp), std::to_string(end));
  if (absl::Status s = store_->Commit(); !s.ok()) return s;
  noted_topics_.merge(topics);
  return absl::OkStatus();
}

}  // namespace closeloop::app
