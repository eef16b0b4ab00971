#include "app/listen_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace closeloop::app {

std::optional<ListenAddress> ParseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view port_text = text.substr(colon + 1);
  ListenAddress a;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), a.port);
  if (port_text.empty() || port_text.size() > 5 || error != std::errc() ||
      end != port_text.data() + port_text.size() || a.port < 0 || a.port > 65535) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  in6_addr v6;
  in_addr v4;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    a.host = host.substr(1, host.size() - 2);
    return inet_pton(AF_INET6, a.host.c_str(), &v6) == 1 ? std::optional(a) : std::nullopt;
  }
  a.host = host;
  if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
    return inet_pton(AF_INET, a.host.c_str(), &v4) == 1 ? std::optional(a) : std::nullopt;
  }
  const bool name =
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
      std::string_view::npos;
  return name ? std::optional(a) : std::nullopt;
}

}  // namespace closeloop::app
