// The HTTP server's connections (app/http_server.h serves the endpoints on
// them): how many are held, how many one client may hold, how much one
// request may read, and closing them at shutdown.
#pragma once

#include <chrono>
#include <memory>

namespace httplib {
class Server;
}

namespace closeloop::app {

// An httplib::Server holding at most HttpServer::kMaxConnections accepted
// connections, serving one client address on at most
// HttpServer::kMaxConnectionsPerClient of its HttpServer::kThreads workers,
// reading at most HttpServer::kMaxRequestHeadBytes of a request (its line
// and headers: no endpoint reads a body), and closing a connection whose request is not read and
// answered within `request_timeout`.
std::unique_ptr<httplib::Server> NewBoundedServer(std::chrono::milliseconds request_timeout);

// Called by a handler of such a server: the connection of the request in
// hand closes once it is answered. For a request whose body is not read
// (httplib reads none for GET, HEAD or OPTIONS, and a refused request's is
// left too): its bytes would be read as the connection's next request.
void CloseConnectionAfterResponse();

// Shuts down (httplib still closes them) this process's TCP connections
// whose local port is `port`: those a server listening there accepted.
void ShutDownConnectionsTo(int port);

}  // namespace closeloop::app
