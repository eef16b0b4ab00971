// The service's HTTP endpoints (SPEC §7, §8): GET /metrics, /healthz,
// /readyz, /v1/report and /v1/exceptions. Its threads read only the
// immutable snapshots the pipeline thread publishes into a SnapshotBox after
// its batches, never state the pipeline mutates. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
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

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ServiceSnapshot> current_;
};

class HttpServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks a free port) and serves
  // from `box` on its own thread until destroyed. `box` must outlive the
  // server. Errors: Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                           const SnapshotBox& box);
  // Stops listening and joins the thread.
  ~HttpServer();

  // HOST:PORT actually bound.
  const std::string& address() const { return address_; }

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
};

}  // namespace closeloop::app
