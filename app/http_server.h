// The service's HTTP endpoints (SPEC §7, §8): GET /metrics, /healthz,
// /readyz, /v1/report and /v1/exceptions. Its threads read only the
// immutable snapshots the pipeline thread publishes into a SnapshotBox after
// its batches, never state the pipeline mutates. Thread-safe.
// Guards (HttpOptions): /v1/* may require a bearer token and is rate
// limited; request bodies are capped. /metrics, /healthz and /readyz stay
// open to probes and scrapers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "app/listen_address.h"
#include "app/report.h"

namespace httplib {
class Server;
}

namespace closeloop::app {

// Everything the endpoints serve, as of the end of one batch.
struct ServiceSnapshot {
  std::string metrics_text;  // Prometheus text exposition
  bool ready = false;
  std::string not_ready_reason;  // why /readyz is 503, for people
  ReportData report;
};

// Hands snapshots from the pipeline thread to the HTTP threads. A snapshot is
// shared (not copied) because a request may still be reading the previous one
// while the pipeline publishes the next; it is immutable once published.
class SnapshotBox {
 public:
  void Publish(std::shared_ptr<const ServiceSnapshot> snapshot);
  // The latest snapshot; null before the first.
  std::shared_ptr<const ServiceSnapshot> Get() const;

  // Since when the pipeline thread has been publishing records to Kafka (set
  // before a publish, cleared after). It makes no snapshot meanwhile, so a
  // publish that waits for an unreachable broker would leave /readyz saying
  // what the last batch said; the endpoints read this instead.
  using Clock = std::chrono::steady_clock;
  void SetPublishingSince(std::optional<Clock::time_point> since);
  // How long the current publish has been waiting; zero when none is.
  Clock::duration PublishWait(Clock::time_point now) const;

  // Marks a box (if any) for the life of a publish.
  class PublishingScope {
   public:
    explicit PublishingScope(SnapshotBox* box) : box_(box) {
      if (box_ != nullptr) box_->SetPublishingSince(Clock::now());
    }
    ~PublishingScope() {
      if (box_ != nullptr) box_->SetPublishingSince(std::nullopt);
    }
    PublishingScope(const PublishingScope&) = delete;
    PublishingScope& operator=(const PublishingScope&) = delete;

   private:
    SnapshotBox* box_;
  };

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ServiceSnapshot> current_;
  std::optional<Clock::time_point> publishing_since_;
};

// A publish waiting longer than this makes /readyz answer 503.
constexpr std::chrono::seconds kPublishWaitNotReady(10);

struct HttpOptions {
  // Required as "Authorization: Bearer TOKEN" on /v1/*; a missing or wrong
  // token gets 401. Empty: no authentication. Default: ""
  std::string bearer_token;
  // Requests with a larger body get 413. Default: 64 KiB
  size_t max_request_bytes = 64 * 1024;
  // /v1/* requests admitted per second, all clients together (a token
  // bucket holding one second's worth); the rest get 429 with Retry-After.
  // 0: unlimited. Default: 50
  int rate_limit_per_second = 50;
  // The same for each client address alone, so that one client in a loop
  // cannot take every other client's share. 0: no per-client limit.
  // Default: 20
  int rate_limit_per_client_per_second = 20;
  // How long one request may take to be read and answered, from its first
  // byte awaited; then its connection is closed. Several client addresses
  // sending requests a byte at a time (each within httplib's 5 s read
  // timeout) would otherwise hold every worker for as long as they kept it
  // up. Not a configuration field: a request on a healthy network takes
  // milliseconds (tests shorten it).
  std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
};

// The token in the file `path` (http.bearer_token_file, or the report
// command's --bearer-token-file) names: its content without trailing
// whitespace. Errors: NotFound (unreadable), InvalidArgument (empty, or
// spaces or control characters inside); their messages start with `source`,
// the setting that named the file. Never puts the token in a message.
absl::StatusOr<std::string> ReadBearerToken(const std::string& path,
                                            std::string_view source = "http.bearer_token_file");

// Token buckets, each admitting at most its rate per second on average and
// one second's worth at once after a quiet second: one for all clients
// together and one per client address. A request takes a token from both or
// from neither. Client buckets are kept for at most kMaxClients addresses;
// beyond that, those idle for a second (full again) are dropped, and when
// none is, every new address shares one bucket. Thread-safe.
class RateLimiter {
 public:
  enum class Verdict { kAdmitted, kTotalLimited, kClientLimited };
  static constexpr size_t kMaxClients = 4096;

  // A rate of 0 or less: no limit of that kind.
  explicit RateLimiter(int per_second, int per_client_per_second = 0)
      : per_second_(per_second), per_client_(per_client_per_second), total_{per_second} {}
  Verdict Take(std::string_view client,
               std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // Addresses with a bucket of their own, for tests.
  size_t clients() const;

 private:
  struct Bucket {
    explicit Bucket(int per_second) : tokens(per_second) {}
    double tokens;
    std::chrono::steady_clock::time_point last{};
  };
  static void Refill(Bucket& bucket, int per_second, std::chrono::steady_clock::time_point now);
  // The client's bucket, refilled to `now`.
  Bucket& ClientBucket(std::string_view client, std::chrono::steady_clock::time_point now);

  mutable std::mutex mu_;
  const int per_second_;
  const int per_client_;
  Bucket total_;
  std::unordered_map<std::string, Bucket> clients_;
  Bucket shared_{per_client_};  // the addresses beyond kMaxClients
};

class HttpServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks a free port) and serves
  // from `box` on its own thread until destroyed. `box` must outlive the
  // server. Errors: Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                           const SnapshotBox& box,
                                                           HttpOptions options = {});
  // Stops listening, ends the connections in hand (a request being read is
  // cut off) and joins the thread.
  ~HttpServer();

  // HOST:PORT actually bound.
  const std::string& address() const { return address_; }

  // Connections held at once, served by one of kThreads or waiting for
  // one: more wait in the kernel's listen backlog, so that connections
  // never take the file descriptors RocksDB and Kafka need.
  static constexpr int kThreads = 8;
  static constexpr int kMaxConnections = 64;
  // Workers one client address may hold at once: a client holding
  // connections open (idle, or sending its request slowly) leaves the
  // others, Kubernetes's probes and Prometheus's scrapes, the rest. A
  // further connection of it is closed unanswered.
  static constexpr int kMaxConnectionsPerClient = kThreads / 2;
  // Bytes of a request's line and headers; more get 400 and the connection
  // is closed. No endpoint reads a body: one announced gets 413 beyond
  // HttpOptions::max_request_bytes, else 400 (GET, HEAD, OPTIONS) or 405,
  // unread, and the connection is closed.
  static constexpr size_t kMaxRequestHeadBytes = 64 * 1024;

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<RateLimiter> limiter_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};  // set by thread_
  std::string address_;
  int port_ = 0;  // bound
};

}  // namespace closeloop::app
