#include "app/http_connections.h"

#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/http_server.h"

namespace closeloop::app {
namespace {

// httplib's ThreadPool, but holding at most HttpServer::kMaxConnections
// accepted connections: beyond that the accepting thread waits for a worker,
// and new connections wait in the kernel's listen backlog. httplib's own
// queue has no bound: a client opening connections faster than the workers
// end them (an idle one holds a worker for the 5 s read timeout) made the
// process hold a file descriptor for each, until RocksDB and the Kafka
// clients, which share the limit, had none left.
class BoundedThreadPool final : public httplib::TaskQueue {
 public:
  BoundedThreadPool() {
    for (int i = 0; i < HttpServer::kThreads; ++i) threads_.emplace_back([this] { Work(); });
  }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < kMaxWaiting; });
    jobs_.push_back(std::move(fn));
    work_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  // Each worker holds one connection, and the accepting thread one more
  // while it waits for room.
  static constexpr size_t kMaxWaiting = HttpServer::kMaxConnections - HttpServer::kThreads - 1;

  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        work_.wait(lock, [&] { return shutdown_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // shut down, and nothing left to serve
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable work_, room_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

using Clock = std::chrono::steady_clock;

// Whether `sock` becomes ready for `events` within `timeout`.
bool Ready(int sock, short events, std::chrono::milliseconds timeout) {
  pollfd p{.fd = sock, .events = events, .revents = 0};
  const int ms = static_cast<int>(std::max<int64_t>(timeout.count(), 0));
  int ready = 0;
  do {
    ready = poll(&p, 1, ms);
  } while (ready < 0 && errno == EINTR);
  return ready > 0;
}

// An accepted connection, as httplib's request parser reads and writes it:
// each call waits at most its timeout, and one request reads at most its
// budget and ends by its deadline.
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int sock, std::chrono::seconds read_timeout, std::chrono::seconds write_timeout)
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  // Whether bytes read from the socket wait here (the next request's).
  bool buffered() const { return begin_ < end_; }
  // The next request may read `bytes`, and read and write until `deadline`;
  // past either, reads and writes fail.
  void StartRequest(size_t bytes, Clock::time_point deadline) {
    budget_ = bytes;
    deadline_ = deadline;
  }
  bool spent() const { return budget_ == 0; }

  bool is_readable() const override { return buffered() || Wait(POLLIN, read_timeout_); }
  bool is_writable() const override { return Wait(POLLOUT, write_timeout_); }
  ssize_t read(char* ptr, size_t size) override {
    if (spent()) return -1;
    if (!buffered()) {
      if (!is_readable()) return -1;
      const ssize_t n = recv(sock_, buffer_, sizeof buffer_, 0);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    const size_t n = std::min({size, end_ - begin_, budget_});
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    return is_writable() ? send(sock_, ptr, size, MSG_NOSIGNAL) : -1;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(getsockname, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  // Whether the socket becomes ready within `timeout` and the deadline.
  bool Wait(short events, std::chrono::milliseconds timeout) const {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
    return left.count() > 0 && Ready(sock_, events, std::min(timeout, left));
  }

  void Address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    char host[NI_MAXHOST] = {}, service[NI_MAXSERV] = {};
    if (get(sock_, reinterpret_cast<sockaddr*>(&address), &size) != 0 ||
        getnameinfo(reinterpret_cast<sockaddr*>(&address), size, host, sizeof host, service,
                    sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      return;
    }
    ip = host;
    std::from_chars(service, service + std::strlen(service), port);
  }

  int sock_;
  std::chrono::milliseconds read_timeout_, write_timeout_;
  char buffer_[4096];
  size_t begin_ = 0, end_ = 0;
  size_t budget_ = 0;
  Clock::time_point deadline_;
};

// Set by CloseConnectionAfterResponse on the worker serving the request.
thread_local bool close_after_response = false;

// httplib's server, but serving each client address on at most
// HttpServer::kMaxConnectionsPerClient workers at once: a further connection
// of that address is closed unread. And a request reads at most
// HttpServer::kMaxRequestHeadBytes (no endpoint reads a body; one announced
// is refused, http_server.cc): httplib caps each header line, not their
// number, and kept every one in memory. And a
// request is read and answered within HttpOptions::request_timeout. A
// worker holds a connection while it waits for its request (5 s idle, and
// for one sent a byte at a time until that deadline, for ever before it):
// one client holding connections open took every worker, and the kubelet's
// liveness probes and Prometheus's scrapes waited behind it; several
// addresses still can, a deadline at a time.
class Server final : public httplib::Server {
 public:
  explicit Server(std::chrono::milliseconds request_timeout) : request_timeout_(request_timeout) {}

 private:
  bool process_and_close_socket(socket_t sock) override {
    SocketStream stream(sock, std::chrono::seconds(read_timeout_sec_),
                        std::chrono::seconds(write_timeout_sec_));
    std::string client;
    int port = 0;
    stream.get_remote_ip_and_port(client, port);
    bool served = false;
    if (Enter(client)) {
      served = Serve(stream);
      Leave(client);
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return served;
  }

  // httplib's keep-alive loop: up to keep_alive_max_count_ requests, each
  // awaited for keep_alive_timeout_sec_. A request over its budget is
  // answered 400 by httplib, and the connection closed.
  bool Serve(SocketStream& stream) {
    bool served = false;
    for (size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
      if (!stream.buffered() &&
          !Ready(stream.socket(), POLLIN, std::chrono::seconds(keep_alive_timeout_sec_))) {
        break;
      }
      stream.StartRequest(HttpServer::kMaxRequestHeadBytes, Clock::now() + request_timeout_);
      bool closed = false;
      close_after_response = false;
      served = process_request(stream, /*close_connection=*/left == 1, closed, nullptr);
      if (!served || closed || stream.spent() || close_after_response) break;
    }
    return served;
  }

  bool Enter(const std::string& client) {
    std::lock_guard lock(mu_);
    int& held = held_[client];
    if (held >= HttpServer::kMaxConnectionsPerClient) return false;
    ++held;
    return true;
  }
  void Leave(const std::string& client) {
    std::lock_guard lock(mu_);
    if (--held_[client] == 0) held_.erase(client);
  }

  const std::chrono::milliseconds request_timeout_;
  std::mutex mu_;
  std::unordered_map<std::string, int> held_;  // client address -> connections served
};

}  // namespace

void CloseConnectionAfterResponse() { close_after_response = true; }

std::unique_ptr<httplib::Server> NewBoundedServer(std::chrono::milliseconds request_timeout) {
  auto server = std::make_unique<Server>(request_timeout);
  server->new_task_queue = [] { return new BoundedThreadPool(); };
  return server;
}

// httplib's workers finish the connection in hand before its listening
// thread returns, and a client sending its request a byte at a time, each
// within the read timeout, would keep one reading until the request's
// deadline.
void ShutDownConnectionsTo(int port) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) continue;
    sockaddr_storage local{};
    socklen_t size = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) != 0) continue;
    const int local_port =
        local.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in&>(local).sin_port)
        : local.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(local).sin6_port)
                                      : -1;
    if (local_port == port) shutdown(fd, SHUT_RDWR);
  }
}

}  // namespace closeloop::app
