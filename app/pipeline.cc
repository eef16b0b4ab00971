#include "app/pipeline.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>

#include "alerts/operational.h"
#include "app/kafka_clients.h"
#include "ingest/dead_letter.h"
#include "ingest/normalize.h"
#include "spdlog/spdlog.h"

namespace closeloop::app {
namespace {

// Meta records "watermark/<source>/<partition>": the latest event time read
// from each input partition, so that a restart's watermarks start where the
// committed batches left them (with time.follow_wall_clock off, nothing else
// would move a partition that has nothing new to read).
constexpr std::string_view kWatermark = "watermark/";
// "activity/<source>": the wall-clock ms of the source's last record (or of
// the first start, if it never had one): a restart keeps its silence.
constexpr std::string_view kActivity = "activity/";
// "stalled/<source>": present while the source is stalled, holding since when
// it has been silent (the SOURCE_STALLED record's id), so a restart neither
// raises the stall again nor forgets to resolve it.
constexpr std::string_view kStalled = "stalled/";
// Meta records "rows/<key>": what source adapters remember of each row.
constexpr std::string_view kRows = "rows/";

matcher::TenantDirectory TenantsOf(const Config& config) {
  return {config.defaults, config.tenants};
}

Metrics::Options MetricsOptions(const Config& config) {
  Metrics::Options o{.trailing_period = config.report.trailing_period};
  for (const auto& [name, rules] : config.tenants) o.tenants.insert(name);
  o.dlq_reasons = ingest::ReasonNames();
  return o;
}

ingest::WatermarkTracker::Options TrackerOptions(const Config& config) {
  ingest::WatermarkTracker::Options o{.idle_after = config.time.idle_after,
                                      .max_future_skew = config.time.max_future_skew,
                                      .follow_wall_clock = config.time.follow_wall_clock};
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    o.silence_limits[i] = config.time.SilenceLimit(static_cast<matcher::Source>(i));
  }
  return o;
}

state::Options StoreOptions(const Config& config) {
  return {.dir = config.state_dir,
          .block_cache_bytes = size_t(config.store.block_cache_mb) << 20,
          .write_buffer_bytes = size_t(config.store.write_buffer_mb) << 20,
          .sync_writes = config.store.sync_writes,
          .state_cache_entries = size_t(config.store.state_cache_entries)};
}

alerts::Encoding EncodingOf(const Config& config) {
  return config.topics.exceptions_format == "protobuf" ? alerts::Encoding::kProtobuf
                                                       : alerts::Encoding::kJson;
}

// Calls fn for each meta record under `prefix` named "<source>" (or
// "<source>/<partition>") whose value is a time in milliseconds.
template <class Fn>
absl::Status ForEachSourceTime(state::RocksStore& store, const std::string& dir,
                               std::string_view prefix, bool with_partition, Fn fn) {
  auto records = store.ScanMeta(prefix);
  if (!records.ok()) return records.status();
  for (const auto& [name, value] : *records) {
    int source = 0, partition = 0;
    int64_t ms = 0;
    const int fields = std::sscanf(name.c_str() + prefix.size(), "%d/%d", &source, &partition);
    if (fields != (with_partition ? 2 : 1) || source < 0 || source >= matcher::kSourceCount ||
        std::from_chars(value.data(), value.data() + value.size(), ms).ec != std::errc()) {
      return absl::DataLossError("state store in " + dir + ": a malformed source record " + name);
    }
    fn(static_cast<matcher::Source>(source), partition, matcher::EventTime(matcher::Duration(ms)));
  }
  return absl::OkStatus();
}

}  // namespace

Pipeline::Pipeline(const Config& config, std::string bootstrap, SnapshotBox* snapshots, Role role)
    : config_(config),
      bootstrap_(std::move(bootstrap)),
      role_(role),
      watermark_sender_(config.topics.events, config.pipeline.tasks),
      tenants_(TenantsOf(config)),
      started_at_(ingest::WallNow()),
      last_input_at_(started_at_),
      tracker_(TrackerOptions(config), started_at_),
      router_(config.topics.exceptions, EncodingOf(config)),
      metrics_(MetricsOptions(config)),
      snapshots_(snapshots) {}

Pipeline::~Pipeline() {
  if (consumer_) consumer_->close();
}

absl::Status Pipeline::Start(const std::atomic<bool>& stop) {
  if (absl::Status s = CheckNoStoreAbove(); !s.ok()) return s;
  auto store = state::RocksStore::Open(StoreOptions(config_));
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  engine_ = std::make_unique<matcher::Engine>(tenants_, *store_);
  store_ptr_ = store_.get();
  rows_ = std::make_unique<StoredRows>(store_ptr_);
  // A matcher task stores the watermark of every partition the ingest stage
  // declared (kMinTime for those not heard from); the others what their
  // tracker saw.
  std::array<int, matcher::kSourceCount> declared{};
  auto watermarks =
      ForEachSourceTime(*store_, config_.state_dir, kWatermark, /*with_partition=*/true,
                        [&](matcher::Source source, int partition, matcher::EventTime time) {
                          if (role_.kind != Role::kMatcher) {
                            tracker_.OnEventTime(source, partition, time, started_at_);
                            return;
                          }
                          int& count = declared[static_cast<int>(source)];
                          count = std::max(count, partition + 1);
                          watermarks_.SetPartitionCount(source, count);
                          watermarks_.Advance(source, partition, time);
                        });
  if (!watermarks.ok()) return watermarks;
  if (absl::Status s = CheckLayout(); !s.ok()) return s;
  auto activity = ForEachSourceTime(*store_, config_.state_dir, kActivity, false,
                                    [&](matcher::Source source, int, matcher::EventTime time) {
                                      tracker_.RestoreActivity(source, time);
                                    });
  if (!activity.ok()) return activity;
  auto stalled = ForEachSourceTime(*store_, config_.state_dir, kStalled, false,
                                   [&](matcher::Source source, int, matcher::EventTime time) {
                                     stalled_since_[static_cast<int>(source)] = time;
                                   });
  if (!stalled.ok()) return stalled;
  auto books = store_->ScanMeta("books/");
  if (!books.ok()) return books.status();
  for (const auto& [key, bytes] : *books) {
    if (absl::Status s = books_.Load(key, bytes); !s.ok()) return s;
  }
  if (absl::Status s = parked_.Load(*store_); !s.ok()) return s;
  if (role_.kind != Role::kIngest) {
    if (absl::Status s = PlanResettle(); !s.ok()) return s;
  }
  if (parked_.size() > 0) {
    spdlog::info("{} commands kept by the last run wait for their exceptions' watermarks",
                 parked_.size());
  }

  auto publisher = alerts::OutboxPublisher::Create(
      [&](RdKafka::DeliveryReportCb* reports) {
        return MakeTransactionalProducer(config_, bootstrap_, reports);
      },
      [&] { return MakeReadbackConsumer(config_, bootstrap_); },
      // Every store's outbox numbers its records from 1: a rebuild's (a new
      // state_dir publishing where the last one did) must not take the last
      // store's records for its own when a restart reads the topics back.
      {.outbox_id = store_->instance_id().empty()
                        ? config_.TransactionalId()
                        : config_.TransactionalId() + "/" + store_->instance_id()});
  if (!publisher.ok()) return publisher.status();
  publisher_ = std::move(*publisher);
  const TopicsConfig& t = config_.topics;
  if (config_.kafka.create_topics) {
    const std::vector<std::string> standard = t.Names();
    std::set<std::string> topics(standard.begin(), standard.end());
    // Per-team copies go to the topics routing names.
    for (const auto& [name, rules] : tenants_.tenants) {
      for (const auto& [kind, route] : rules.routing) {
        if (!route.topic.empty()) topics.insert(route.topic);
      }
    }
    for (const auto& [kind, route] : tenants_.defaults.routing) {
      if (!route.topic.empty()) topics.insert(route.topic);
    }
    // A plain producer: a transactional one holds admin requests back.
    auto admin = MakeProducer(config_, bootstrap_);
    if (!admin.ok()) return admin.status();
    absl::Status s =
        EnsureTopics(**admin, {topics.begin(), topics.end()}, config_.kafka.topic_partitions, stop);
    if (!s.ok()) return s;
  }
  if (absl::Status s = publisher_->Init(stop); !s.ok()) return s;
  if (absl::Status s = RecoverOutbox(stop); !s.ok()) return s;

  auto consumer = MakeConsumer(config_, bootstrap_);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  if (role_.kind != Role::kAll) {
    if (absl::Status s = CheckEventsTopic(stop); !s.ok()) return s;
  }
  using ingest::DocType;
  using matcher::Source;
  std::vector<ingest::TopicBinding> bindings = {
      {t.deals.name, DocType::kDeal, t.deals.format, Source::kCrm},
      {t.orders.name, DocType::kOrder, t.orders.format, Source::kErp},
      {t.invoices.name, DocType::kInvoice, t.invoices.format, Source::kBilling},
      {t.payments.name, DocType::kPayment, t.payments.format, Source::kPayments},
      {t.commands, DocType::kCommand, ingest::Format::kAuto, std::nullopt}};
  if (role_.kind == Role::kMatcher) {
    bindings = {
        {.name = t.events, .type = DocType::kDeal, .internal = true, .partition = role_.task}};
  }
  // Source adapters (SPEC §3): debezium and salesforce-cdc topics.
  for (const InputTopic* topic : {&t.deals, &t.orders, &t.invoices, &t.payments}) {
    if (!ingest::IsAdapterFormat(topic->format) || !topic->mapping) continue;
    if (role_.kind == Role::kMatcher) break;
    for (ingest::TopicBinding& b : bindings) {
      if (b.name != topic->name) continue;
      adapters_.push_back(
          ingest::MakeAdapter(topic->format, b.type, *topic->mapping, config_.limits, *rows_));
      b.adapter = adapters_.back().get();
    }
  }
  if (absl::Status s = CheckStoredOffsets(bindings); !s.ok()) return s;
  input_ =
      std::make_unique<ingest::Input>(*consumer_, std::move(bindings), config_.limits, tracker_);
  absl::Status store_failed = absl::OkStatus();
  const absl::Status assigned = input_->AssignAll(
      [&](const std::string& topic, int32_t partition) -> std::optional<int64_t> {
        if (auto it = resume_at_.find({topic, partition}); it != resume_at_.end()) {
          return it->second;
        }
        const std::optional<int64_t> stored = StoredOffset(topic, partition, &store_failed);
        if (stored || !StartsFromEnd()) return stored;
        return EndToStore(topic, partition);
      },
      StartsFromEnd());
  if (!store_failed.ok()) return store_failed;
  if (!assigned.ok()) return assigned;
  if (role_.kind != Role::kIngest) {
    // Resume as if the last run had not stopped: the first batch's documents
    // meet the watermarks it had published (restored above; for a matcher
    // task, as stored), not none, and timers already due fire before more
    // input is read (a run can stop between two pieces of a drain of
    // pipeline.batch_max_timers).
    if (role_.kind == Role::kAll) tracker_.Publish(started_at_, watermarks_);
    timers_left_ = true;
  }
  return absl::OkStatus();
}

bool Pipeline::StartsFromEnd() const {
  // closeloop.events holds what the ingest stage already took off the input
  // topics (their offsets are committed): starting a task at its end would
  // lose those documents.
  return config_.kafka.start_from == "latest" && role_.kind != Role::kMatcher;
}

std::optional<int64_t> Pipeline::StoredOffset(const std::string& topic, int32_t partition,
                                              absl::Status* failed) {
  auto offset = store_->GetOffset(topic, partition);
  if (!offset.ok() && failed != nullptr) *failed = offset.status();
  return offset.ok() ? *offset : std::nullopt;
}

std::optional<int64_t> Pipeline::EndToStore(const std::string& topic, int32_t partition) {
  int64_t low = 0, high = 0;
  if (consumer_->query_watermark_offsets(topic, partition, &low, &high, 10000) !=
      RdKafka::ERR_NO_ERROR) {
    spdlog::warn(
        "{}[{}]: the broker did not say where it ends; starting at its end without "
        "storing it (kafka.start_from latest): a restart before a record is read there "
        "skips what was written meanwhile",
        topic, partition);
    return std::nullopt;
  }
  store_->SetOffset(topic, partition, high);
  return high;
}

std::optional<std::string> Pipeline::StoredRows::Get(std::string_view key) const {
  auto value = store_->GetMeta(std::string(kRows) + std::string(key));
  if (!value.ok()) {
    // The store has failed; the batch's commit reports it and stops the service.
    spdlog::error("reading an adapter row: {}", std::string(value.status().message()));
    return std::nullopt;
  }
  return *value;
}

void Pipeline::StoredRows::Put(std::string_view key, std::string value) {
  store_->PutMeta(std::string(kRows) + std::string(key), value);
}

absl::Status Pipeline::CheckStoredOffsets(const std::vector<ingest::TopicBinding>& bindings) {
  auto offsets = store_->Offsets();
  if (!offsets.ok()) return offsets.status();
  // The store keeps the offsets of a topic it no longer reads (the deals
  // moved to another topic): what the broker holds there now is not ours to
  // report as lost, nor a reason to refuse the store.
  std::set<std::string_view> read;
  for (const ingest::TopicBinding& b : bindings) read.insert(b.name);
  for (const state::InputOffset& o : *offsets) {
    if (!read.contains(o.topic)) continue;
    int64_t low = 0, high = 0;
    if (consumer_->query_watermark_offsets(o.topic, o.partition, &low, &high, 10000) !=
        RdKafka::ERR_NO_ERROR) {
      continue;  // unknown now: the partition may be gone; consumption will tell
    }
    if (o.next_offset < low) {
      // Not silent, and not left to auto.offset.reset: with
      // kafka.start_from latest it would skip what is still retained.
      spdlog::error(
          "{}[{}]: records {} to {} were deleted by the broker's retention before closeloop "
          "read them ({} records lost); resuming at {}",
          o.topic, o.partition, o.next_offset, low - 1, low - o.next_offset, low);
      resume_at_[{o.topic, o.partition}] = low;
    }
    if (o.next_offset > high) {
      return absl::FailedPreconditionError(
          "the state store in " + config_.state_dir + " has read " + o.topic + "[" +
          std::to_string(o.partition) + "] up to offset " + std::to_string(o.next_offset) +
          " but the partition ends at " + std::to_string(high) +
          ": the topic was recreated or the store belongs to another cluster; move the state "
          "directory away to start over");
    }
  }
  return absl::OkStatus();
}

absl::Status Pipeline::RunBatch(const std::atomic<bool>& stop) {
  ingest::Batch batch;
  if (absl::Status s = timers_left_ || !resettles_.empty()
                           ? absl::OkStatus()
                           : input_->Poll(config_.pipeline.batch_max_records,
                                          config_.pipeline.batch_max_wait, batch);
      !s.ok()) {
    return s;
  }
  const auto batch_started = std::chrono::steady_clock::now();
  // Restart tests and bench/restart_bench.cc wait for this line.
  if (stats_.records == 0 && batch.records > 0) {
    spdlog::info("consuming: first {} records since start", batch.records);
  }
  stats_.records += batch.records;
  if (batch.records > 0) last_input_at_ = ingest::WallNow();
  // Refused commands join the dead letters below; they decoded.
  for (const ingest::DeadLetter& letter : batch.dead_letters)
    ++stats_.decode_failures[{letter.topic, ingest::ReasonName(letter.rejection.reason)}];
  std::vector<matcher::ExceptionRecord> records;
  std::vector<state::OutboxRecord> out;
  const matcher::EventTime now = ingest::WallNow();
  // Input records are counted where they are read from the input topics:
  // in a matcher task they were counted by the ingest stage.
  const bool count_consumed = role_.kind == Role::kAll;
  if (role_.kind == Role::kIngest) {
    Rekey(batch, now, out);
  } else {
    for (const v1::Event& event : batch.events) {
      ++stats_.events;
      if (count_consumed) ++stats_.consumed[{event.origin().topic(), TypeOf(event)}];
      engine_->Apply(ingest::ToDocument(event), watermarks_, records);
    }
    for (const ingest::CommandRecord& command : batch.commands) {
      ++stats_.commands;
      if (count_consumed) ++stats_.consumed[{command.original.topic, "command"}];
    }
    if (role_.kind == Role::kMatcher) {
      for (const v1::Watermark& w : batch.watermarks) ApplyWatermark(w, watermarks_);
    } else {
      tracker_.Publish(now, watermarks_);
    }
    Resettle(records);
    timers_left_ = !Advance(batch.commands, now, records, batch.dead_letters);
  }
  // People act on what was published: commands apply after the batch's
  // documents; those the watermarks have not reached, at the watermarks.
  for (ingest::CommandRecord& command : batch.commands) {
    ApplyCommand(command, watermarks_, /*read_at=*/now, records, batch.dead_letters);
  }
  stats_.parked_commands = static_cast<int64_t>(parked_.size());
  for (const ingest::DeadLetter& letter : batch.dead_letters) {
    ++stats_.dead_letters[ingest::ReasonName(letter.rejection.reason)];
    spdlog::debug("dead letter {}[{}]@{}: {}", letter.topic, letter.partition, letter.offset,
                  letter.rejection.message);
    out.push_back(ingest::DeadLetterRecord(letter, config_.topics.dlq));
  }
  stats_.exception_records += static_cast<int64_t>(records.size());
  router_.Append(records, now, out);
  // Only the stage that reads the input topics knows when a source goes silent.
  if (role_.kind != Role::kMatcher) ReportStalls(now, out);

  // The books follow the batch; their changed records join its write.
  engine_->TakeFiguresChanges(figures_changes_);
  for (const matcher::FiguresChange& c : figures_changes_) books_.Apply(c);
  for (const matcher::ExceptionRecord& r : records) books_.Apply(r);
  books_changes_.clear();
  books_.DrainChanges(books_changes_);

  // One atomic write: state changes (made by the engine), outputs, offsets,
  // books, and the removal of what the last batch published.
  for (const state::OutboxRecord& r : out) store_->AddOutbox(r);
  for (const auto& [tp, next] : batch.next_offsets) store_->SetOffset(tp.first, tp.second, next);
  auto put_watermark = [&](matcher::Source source, int partition, matcher::EventTime time) {
    store_->PutMeta(std::string(kWatermark) + std::to_string(static_cast<int>(source)) + "/" +
                        std::to_string(partition),
                    std::to_string(time.time_since_epoch().count()));
  };
  if (role_.kind == Role::kMatcher) {
    for (int i = 0; i < matcher::kSourceCount; ++i) {
      const auto source = static_cast<matcher::Source>(i);
      for (const auto& [partition, time] : watermarks_.Partitions(source)) {
        put_watermark(source, partition, time);
      }
    }
  }
  for (const auto& [key, time] : tracker_.Progress()) put_watermark(key.first, key.second, time);
  for (int i = 0; i < matcher::kSourceCount && role_.kind != Role::kMatcher; ++i) {
    const matcher::EventTime last = tracker_.LastActivity(static_cast<matcher::Source>(i));
    store_->PutMeta(std::string(kActivity) + std::to_string(i),
                    std::to_string(last.time_since_epoch().count()));
  }
  for (const auto& [key, bytes] : books_changes_) {
    bytes ? store_->PutMeta(key, *bytes) : store_->DeleteMeta(key);
  }
  if (absl::Status s = StagePublished(); !s.ok()) return s;
  if (absl::Status s = store_->Commit(); !s.ok()) return s;
  if (absl::Status s = PublishOutbox(stop); !s.ok()) return s;

  metrics_.OnBatch(
      records, books_.TakeLatencies(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_started).count());
  PublishSnapshot(now, /*force=*/false);
  return absl::OkStatus();
}

void Pipeline::ReportStalls(matcher::EventTime now, std::vector<state::OutboxRecord>& out) {
  const TopicsConfig& t = config_.topics;
  const std::array<const std::string*, matcher::kSourceCount> topics = {
      &t.deals.name, &t.orders.name, &t.invoices.name, &t.payments.name};
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    const auto source = static_cast<matcher::Source>(i);
    // A stall ends when a record arrives, not when the tracker cannot tell
    // (a restart has not yet reached the end of the source's partitions).
    const bool stalled = stalled_since_[i] ? tracker_.LastActivity(source) <= *stalled_since_[i]
                                           : tracker_.Stalled(source, now);
    if (stalled == stalled_since_[i].has_value()) continue;
    if (stalled) {
      stalled_since_[i] = tracker_.LastActivity(source);
      ++stats_.stalls;
    }
    const std::string name(kSourceNames[i]);
    spdlog::warn("source {} {}", name, stalled ? "stalled" : "resumed");
    router_.Append(alerts::SourceStalledRecord(name, *topics[i], *stalled_since_[i],
                                               config_.time.SilenceLimit(source), now, !stalled),
                   out);
    const std::string key = std::string(kStalled) + std::to_string(i);
    if (stalled) {
      store_->PutMeta(key, std::to_string(stalled_since_[i]->time_since_epoch().count()));
    } else {
      store_->DeleteMeta(key);
      stalled_since_[i].reset();
    }
  }
}

}  // namespace closeloop::app
