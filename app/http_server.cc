#include "app/http_server.h"

#include <httplib.h>

#include <map>

namespace closeloop::app {
namespace {

using nlohmann::json;

void Json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

// Serves a /v1 document built by `build` from the snapshot's report data.
template <class Build>
void ServeReport(const SnapshotBox& box, const httplib::Request& req, httplib::Response& res,
                 Build build) {
  std::map<std::string, std::string> params;
  for (const auto& [name, value] : req.params) {
    if (!params.emplace(name, value).second) {
      return Json(res, 400, {{"error", name + ": given more than once"}});
    }
  }
  auto filters = ParseFilters(params);
  if (!filters.ok()) return Json(res, 400, {{"error", std::string(filters.status().message())}});
  auto snapshot = box.Get();
  if (!snapshot) return Json(res, 503, {{"error", "no batch processed yet"}});
  Json(res, 200, build(snapshot->report, *filters));
}

}  // namespace

void SnapshotBox::Publish(std::shared_ptr<const ServiceSnapshot> snapshot) {
  std::lock_guard lock(mu_);
  current_ = std::move(snapshot);
}

std::shared_ptr<const ServiceSnapshot> SnapshotBox::Get() const {
  std::lock_guard lock(mu_);
  return current_;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                              const SnapshotBox& box) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("http.listen: " + listen);
  std::string host = listen.substr(0, colon);
  const int port = std::stoi(listen.substr(colon + 1));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }

  std::unique_ptr<HttpServer> s(new HttpServer());
  s->server_ = std::make_unique<httplib::Server>();
  httplib::Server& srv = *s->server_;
  const SnapshotBox* b = &box;
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  srv.Get("/readyz", [b](const httplib::Request&, httplib::Response& res) {
    auto snapshot = b->Get();
    if (snapshot && snapshot->ready) {
      res.set_content("ready\n", "text/plain");
      return;
    }
    res.status = 503;
    res.set_content(
        "not ready: " + (snapshot ? snapshot->not_ready_reason : "no batch processed yet") + "\n",
        "text/plain");
  });
  srv.Get("/metrics", [b](const httplib::Request&, httplib::Response& res) {
    auto snapshot = b->Get();
    if (!snapshot) {
      res.status = 503;
      res.set_content("no batch processed yet\n", "text/plain");
      return;
    }
    res.set_content(snapshot->metrics_text, "text/plain; version=0.0.4");
  });
  srv.Get("/v1/report", [b](const httplib::Request& req, httplib::Response& res) {
    ServeReport(*b, req, res, &BuildReport);
  });
  srv.Get("/v1/exceptions", [b](const httplib::Request& req, httplib::Response& res) {
    ServeReport(*b, req, res, &BuildExceptions);
  });

  int bound = port;
  if (port == 0) {
    bound = srv.bind_to_any_port(host);
  } else if (!srv.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) return absl::UnavailableError("http: cannot listen on " + listen);
  s->address_ = listen.substr(0, colon) + ":" + std::to_string(bound);
  s->thread_ = std::thread([&srv] { srv.listen_after_bind(); });
  return s;
}

HttpServer::~HttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace closeloop::app
