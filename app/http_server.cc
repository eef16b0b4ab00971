#include "app/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "app/http_connections.h"
#include "app/text_file.h"

namespace closeloop::app {
namespace {

using nlohmann::json;

void Json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // A request's bytes echoed in an error need not be UTF-8 (`?kind=%FF`):
  // replaced, not thrown (httplib answered such a throw with a bare 500).
  res.set_content(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

// Serves /v1/report, or /v1/exceptions (which also takes `limit`).
void ServeReport(const SnapshotBox& box, const httplib::Request& req, httplib::Response& res,
                 bool exceptions) {
  std::map<std::string, std::string> params;
  for (const auto& [name, value] : req.params) {
    if (!params.emplace(name, value).second) {
      return Json(res, 400, {{"error", name + ": given more than once"}});
    }
  }
  absl::StatusOr<size_t> limit = exceptions ? TakeLimit(params) : kExceptionsLimit;
  if (!limit.ok()) return Json(res, 400, {{"error", std::string(limit.status().message())}});
  auto filters = ParseFilters(params);
  if (!filters.ok()) return Json(res, 400, {{"error", std::string(filters.status().message())}});
  auto snapshot = box.Get();
  if (!snapshot) return Json(res, 503, {{"error", "no batch processed yet"}});
  Json(res, 200,
       exceptions ? BuildExceptions(snapshot->report, *filters, *limit)
                  : BuildReport(snapshot->report, *filters));
}

// Compares without an early exit, so the time taken says nothing about how
// much of the token matched.
bool SameSecret(std::string_view given, std::string_view expected) {
  if (expected.empty()) return given.empty();
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return diff == 0;
}

// The token of an `Authorization: Bearer TOKEN` header: the scheme in any
// case and one or more spaces after it (RFC 7235 2.1, RFC 6750 2.1);
// nullopt for another scheme.
std::optional<std::string_view> BearerCredentials(std::string_view auth) {
  constexpr std::string_view kBearer = "bearer";
  if (auth.size() <= kBearer.size() || auth[kBearer.size()] != ' ') return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(auth[i])) != kBearer[i]) return std::nullopt;
  }
  auth.remove_prefix(kBearer.size());
  auth.remove_prefix(std::min(auth.find_first_not_of(' '), auth.size()));
  return auth;
}

constexpr const char* kEndpoints[] = {"/healthz", "/readyz", "/metrics", "/v1/report",
                                      "/v1/exceptions"};
bool IsEndpoint(const std::string& path) {
  return std::any_of(std::begin(kEndpoints), std::end(kEndpoints),
                     [&](const char* e) { return path == e; });
}

// The body a request announces (RFC 9112 6.3), if any: its Content-Length
// when not 0, SIZE_MAX when its length is not known (a Transfer-Encoding, a
// Content-Length that does not parse).
std::optional<size_t> AnnouncedBody(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return SIZE_MAX;
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string text = req.get_header_value("Content-Length");
  size_t length = SIZE_MAX;
  const char* end = text.data() + text.size();
  if (const auto [ptr, ec] = std::from_chars(text.data(), end, length);
      ec != std::errc() || ptr != end) {
    return SIZE_MAX;
  }
  return length == 0 ? std::nullopt : std::optional<size_t>(length);
}

}  // namespace

absl::StatusOr<std::string> ReadBearerToken(const std::string& path, std::string_view source) {
  const std::string what(source);
  constexpr size_t kMaxTokenBytes = 64 << 10;
  absl::StatusOr<std::string> read = ReadTextFile(path, kMaxTokenBytes);
  if (!read.ok()) {
    return absl::Status(read.status().code(),
                        what + ": " + path + ": " + std::string(read.status().message()));
  }
  std::string token = *std::move(read);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) return absl::InvalidArgumentError(what + ": " + path + " is empty");
  for (char c : token) {
    if (c <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError(
          what + ": " + path + " must hold one token without spaces or control characters");
    }
  }
  return token;
}

void RateLimiter::Refill(Bucket& bucket, int per_second,
                         std::chrono::steady_clock::time_point now) {
  if (bucket.last != std::chrono::steady_clock::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - bucket.last).count();
    bucket.tokens = std::min<double>(per_second, bucket.tokens + elapsed * per_second);
  }
  bucket.last = now;
}

RateLimiter::Bucket& RateLimiter::ClientBucket(std::string_view client,
                                               std::chrono::steady_clock::time_point now) {
  auto it = clients_.find(std::string(client));
  if (it == clients_.end() && clients_.size() >= kMaxClients) {
    // A bucket idle for a second is full again: dropping it changes nothing.
    std::erase_if(clients_, [&](const auto& entry) {
      return now - entry.second.last >= std::chrono::seconds(1);
    });
    if (clients_.size() >= kMaxClients) {
      Refill(shared_, per_client_, now);
      return shared_;
    }
  }
  if (it == clients_.end()) it = clients_.try_emplace(std::string(client), per_client_).first;
  Refill(it->second, per_client_, now);
  return it->second;
}

RateLimiter::Verdict RateLimiter::Take(std::string_view client,
                                       std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  Bucket* own = per_client_ > 0 ? &ClientBucket(client, now) : nullptr;
  if (own != nullptr && own->tokens < 1) return Verdict::kClientLimited;
  if (per_second_ > 0) {
    Refill(total_, per_second_, now);
    if (total_.tokens < 1) return Verdict::kTotalLimited;
    total_.tokens -= 1;
  }
  if (own != nullptr) own->tokens -= 1;
  return Verdict::kAdmitted;
}

size_t RateLimiter::clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

void SnapshotBox::Publish(std::shared_ptr<const ServiceSnapshot> snapshot) {
  std::lock_guard lock(mu_);
  current_ = std::move(snapshot);
}

std::shared_ptr<const ServiceSnapshot> SnapshotBox::Get() const {
  std::lock_guard lock(mu_);
  return current_;
}

void SnapshotBox::SetPublishingSince(std::optional<Clock::time_point> since) {
  std::lock_guard lock(mu_);
  publishing_since_ = since;
}

SnapshotBox::Clock::duration SnapshotBox::PublishWait(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  return publishing_since_ ? std::max(now - *publishing_since_, Clock::duration::zero())
                           : Clock::duration::zero();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                              const SnapshotBox& box,
                                                              HttpOptions options) {
  const std::optional<ListenAddress> parsed = ParseListenAddress(listen);
  if (!parsed) return absl::InvalidArgumentError("http.listen: not HOST:PORT: " + listen);
  const auto& [host, port] = *parsed;

  std::unique_ptr<HttpServer> s(new HttpServer());
  s->server_ = NewBoundedServer(options.request_timeout);
  httplib::Server& srv = *s->server_;
  const SnapshotBox* b = &box;
  srv.set_payload_max_length(options.max_request_bytes);
  s->limiter_ = std::make_unique<RateLimiter>(options.rate_limit_per_second,
                                              options.rate_limit_per_client_per_second);
  // First the method and body: no endpoint reads a body, and httplib reads
  // none of a GET, HEAD or OPTIONS, so one announced is refused unread and
  // its connection closed (left there, it was read as the connection's next
  // request: a request smuggled in another's body); another method is
  // refused at once (a POST announcing no body got its 405 only after
  // httplib had waited for one until the read timeout). Then /v1/*: rate
  // limit first (an attacker guessing tokens is limited too), then the
  // token. Other paths pass through.
  srv.set_pre_routing_handler([limiter = s->limiter_.get(), token = options.bearer_token,
                               max_bytes = options.max_request_bytes](const httplib::Request& req,
                                                                      httplib::Response& res) {
    const bool reads = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
    if (const std::optional<size_t> body = AnnouncedBody(req)) {
      CloseConnectionAfterResponse();
      res.set_header("Connection", "close");
      if (*body != SIZE_MAX && *body > max_bytes) {
        res.status = 413;
        res.set_content("the request body is larger than http.max_request_bytes\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (reads) {
        res.status = 400;
        res.set_content(req.method + " takes no body here\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!reads) {
      if (IsEndpoint(req.path)) {
        res.set_header("Allow", "GET, HEAD");
        res.status = 405;
        res.set_content(req.method + " is not allowed here: use GET\n", "text/plain");
      } else {
        res.status = 404;
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    if (const RateLimiter::Verdict verdict = limiter->Take(req.remote_addr);
        verdict != RateLimiter::Verdict::kAdmitted) {
      res.set_header("Retry-After", "1");
      Json(res, 429,
           {{"error", verdict == RateLimiter::Verdict::kClientLimited
                          ? "rate limit exceeded for " + req.remote_addr +
                                " (http.rate_limit_per_client_per_second)"
                          : std::string("rate limit exceeded (http.rate_limit_per_second)")}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!token.empty()) {
      const std::string auth = req.get_header_value("Authorization");
      const std::optional<std::string_view> given = BearerCredentials(auth);
      if (!given || !SameSecret(*given, token)) {
        res.set_header("WWW-Authenticate", "Bearer");
        Json(res, 401, {{"error", "missing or wrong bearer token"}});
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  srv.Get("/readyz", [b](const httplib::Request&, httplib::Response& res) {
    const auto waited = b->PublishWait(SnapshotBox::Clock::now());
    if (waited >= kPublishWaitNotReady) {
      res.status = 503;
      res.set_content(
          "not ready: publishing to Kafka has waited " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) +
              " s (is the broker reachable?)\n",
          "text/plain");
      return;
    }
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
    // Made here, not in the snapshot, which a waiting publish holds back.
    const double waited =
        std::chrono::duration<double>(b->PublishWait(SnapshotBox::Clock::now())).count();
    res.set_content(snapshot->metrics_text +
                        "# HELP closeloop_publish_wait_seconds How long the records of the "
                        "current batch have waited to be published to Kafka; 0 when none wait. "
                        "The other metrics are those of the last finished batch meanwhile.\n"
                        "# TYPE closeloop_publish_wait_seconds gauge\n"
                        "closeloop_publish_wait_seconds " +
                        std::to_string(waited) + "\n",
                    "text/plain; version=0.0.4");
  });
  srv.Get("/v1/report", [b](const httplib::Request& req, httplib::Response& res) {
    ServeReport(*b, req, res, /*exceptions=*/false);
  });
  srv.Get("/v1/exceptions", [b](const httplib::Request& req, httplib::Response& res) {
    ServeReport(*b, req, res, /*exceptions=*/true);
  });
  // Every endpoint only reads: OPTIONS says so (another method is told so
  // before routing, above).
  const auto allowed_methods = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "GET, HEAD, OPTIONS");
    res.status = 204;
  };
  for (const char* path : kEndpoints) srv.Options(path, allowed_methods);

  // SO_REUSEADDR only: a restart may rebind while old connections linger in
  // TIME_WAIT, but an address another process listens on is refused.
  // httplib's default also sets SO_REUSEPORT, with which a second instance
  // given the same http.listen started too and the kernel spread scrapes and
  // reports over the two processes.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  int bound = port;
  if (port == 0) {
    bound = srv.bind_to_any_port(host);
  } else if (!srv.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError("http: cannot listen on " + listen +
                                  ": another process listens there, or the host is not an "
                                  "address of this machine");
  }
  s->port_ = bound;
  s->address_ = listen.substr(0, listen.rfind(':')) + ":" + std::to_string(bound);
  s->thread_ = std::thread([&srv, returned = &s->listen_returned_] {
    srv.listen_after_bind();
    returned->store(true);
  });
  // httplib's stop() does nothing until the listening loop runs: a server
  // destroyed before then would never let its thread be joined.
  while (!srv.is_running() && !s->listen_returned_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

HttpServer::~HttpServer() {
  server_->stop();
  // Nothing is accepted any more: the connections in hand end now, a slow
  // client's too (SIGTERM must not wait for it).
  ShutDownConnectionsTo(port_);
  if (thread_.joinable()) thread_.join();
}

}  // namespace closeloop::app
