#include "app/redrive.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <variant>

#include "app/config.h"
#include "app/kafka_clients.h"
#include "app/topic_reader.h"
#include "ingest/dead_letter.h"
#include "ingest/decode.h"

namespace closeloop::app {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Produces `r` with the Kafka timestamp `timestamp_ms` (0: now), waiting
// while the producer's queue is full. The producer owns the headers once the
// record is queued.
RdKafka::ErrorCode Send(RdKafka::Producer& producer, const state::OutboxRecord& r,
                        int64_t timestamp_ms) {
  for (;;) {
    RdKafka::Headers* headers = RdKafka::Headers::create();
    for (const auto& [name, value] : r.headers) headers->add(name, value);
    const RdKafka::ErrorCode err = producer.produce(
        r.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(r.value.data()), r.value.size(), r.key.empty() ? nullptr : r.key.data(),
        r.key.size(), timestamp_ms, headers, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return err;
    delete headers;
    if (err != RdKafka::ERR__QUEUE_FULL) return err;
    producer.poll(50);
  }
}

// Counts the records the cluster refused, and keeps the first reason.
class Refusals : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) return;
    if (count_++ == 0) first_ = message.errstr();
  }
  int64_t count() const { return count_; }
  const std::string& first() const { return first_; }

 private:
  int64_t count_ = 0;
  std::string first_;
};

// The topics a dead letter can have been read from: those `config` reads.
std::set<std::string> ReadTopics(const Config& config) {
  const TopicsConfig& t = config.topics;
  return {t.deals.name, t.orders.name, t.invoices.name, t.payments.name, t.commands, t.events};
}

// Why `letter` cannot go back where it came from, or "" when it can. Only
// closeloop writes the DLQ, with one source topic it reads; a letter naming
// none, several or another topic is forged or damaged, and sent on it could
// reach the exceptions topic's consumers, or the DLQ itself.
std::string Unsendable(const TopicRecord& letter, const std::set<std::string>& readable) {
  std::vector<std::string> sources;
  for (const auto& [name, value] : letter.headers) {
    if (name == ingest::kHeaderTopic) sources.push_back(value);
  }
  if (sources.empty()) return "names no source topic";
  if (sources.size() > 1) return "names " + std::to_string(sources.size()) + " source topics";
  if (!readable.contains(sources.front())) {
    return "names the source topic " + sources.front() + ", which the config does not read";
  }
  return "";
}

}  // namespace

bool IsDeadLetterReason(std::string_view name) {
  const std::vector<std::string> names = ingest::ReasonNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string DeadLetterReasons() {
  std::string out;
  for (const std::string& name : ingest::ReasonNames()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

int RunRedrive(const RedriveOptions& options, std::ostream& out, std::ostream& err) {
  Config config;
  if (!options.config_path.empty()) {
    auto loaded = LoadConfigFile(options.config_path);
    if (auto* e = std::get_if<ConfigError>(&loaded)) {
      err << "closeloop: " << e->ToString() << "\n";
      return 2;
    }
    config = std::get<Config>(std::move(loaded));
    if (absl::Status s = CheckClientProperties(config); !s.ok()) {
      err << "closeloop: "
          << ConfigError{.file = options.config_path,
                         .field = "kafka.properties",
                         .message = std::string(s.message())}
                 .ToString()
          << "\n";
      return 2;
    }
  }
  auto consumer = MakeReadbackConsumer(config, options.bootstrap);
  if (!consumer.ok()) {
    err << "closeloop: " << consumer.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<RdKafka::Producer> producer;
  Refusals refusals;
  if (!options.dry_run) {
    auto made = MakeProducer(config, options.bootstrap, &refusals);
    if (!made.ok()) {
      err << "closeloop: " << made.status().message() << "\n";
      return 1;
    }
    producer = std::move(*made);
  }
  const std::string& dlq = config.topics.dlq;
  const std::set<std::string> readable = ReadTopics(config);
  int64_t read = 0, other = 0, left_out = 0, refused = 0, repeats = 0;
  // A record sent back while its cause is not fixed is refused again, and
  // the DLQ then holds it twice: sending every copy would double them with
  // each run. Once is enough (a re-delivered document is ignored, a replayed
  // command refused). By topic, key and value.
  std::set<std::tuple<std::string, std::string, std::string>> sent_records;
  std::map<std::string, int64_t> sent;  // by topic
  RdKafka::ErrorCode failed = RdKafka::ERR_NO_ERROR;
  const absl::Status status = ForEachRecord(**consumer, dlq, [&](TopicRecord r) {
    ++read;
    const std::string source = r.Header(ingest::kHeaderTopic);
    if (!Contains(options.reasons, r.Header(ingest::kHeaderReason)) ||
        (!options.topics.empty() && !Contains(options.topics, source))) {
      ++other;
      return;
    }
    if (const std::string why = Unsendable(r, readable); !why.empty()) {
      ++refused;
      out << "not sent: " << dlq << "[" << r.partition << "]@" << r.offset << " " << why << "\n";
      return;
    }
    const state::OutboxRecord letter{.key = r.key, .value = r.value, .headers = r.headers};
    const std::optional<state::OutboxRecord> original = ingest::OriginalOf(letter);
    if (!original) {
      ++left_out;
      out << "not sent: " << dlq << "[" << r.partition << "]@" << r.offset
          << " has no value to send (read the original at " << source << "["
          << r.Header(ingest::kHeaderPartition) << "]@" << r.Header(ingest::kHeaderOffset) << ")\n";
      return;
    }
    if (!sent_records.emplace(original->topic, original->key, original->value).second) {
      ++repeats;
      return;
    }
    if (producer && failed == RdKafka::ERR_NO_ERROR) {
      // With its original time: a document without `event_time` takes it.
      failed = Send(*producer, *original, ingest::SourceTimestampOf(letter).value_or(0));
    }
    ++sent[original->topic];
  });
  (*consumer)->close();
  if (!status.ok()) {
    err << "closeloop: reading " << dlq << ": " << status.message() << "\n";
    return 1;
  }
  if (producer && (failed != RdKafka::ERR_NO_ERROR ||
                   producer->flush(60000) != RdKafka::ERR_NO_ERROR || producer->outq_len() > 0)) {
    err << "closeloop: sending to Kafka failed: "
        << RdKafka::err2str(failed != RdKafka::ERR_NO_ERROR ? failed : RdKafka::ERR__TIMED_OUT)
        << "\n";
    return 1;
  }
  if (refusals.count() > 0) {
    err << "closeloop: the cluster refused " << refusals.count() << " of the dead letters sent ("
        << refusals.first() << "); the DLQ still holds them\n";
    return 1;
  }
  int64_t total = 0;
  std::string by_topic;
  for (const auto& [topic, n] : sent) {
    total += n;
    by_topic += (by_topic.empty() ? " (" : ", ") + topic + ": " + std::to_string(n);
  }
  out << "read " << read << " dead letters from " << dlq << "; "
      << (options.dry_run ? "would send " : "sent ") << total << by_topic
      << (by_topic.empty() ? "" : ")") << "; left " << other << " of other reasons or topics and "
      << left_out << " without their value";
  if (repeats > 0) out << "; skipped " << repeats << " repeating a record sent before";
  if (refused > 0) out << "; refused " << refused << " not naming one topic the config reads";
  out << std::endl;
  return 0;
}

}  // namespace closeloop::app
