// The HOST:PORT an HTTP endpoint listens on (http.listen, --http-listen).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace closeloop::app {

// HOST:PORT split, or nullopt when it is not one: PORT is 0 to 65535; HOST
// is an IPv4 address, an IPv6 address in brackets (returned without them),
// or a host name (letters, digits, '-' and '.', not all digits and dots).
struct ListenAddress {
  std::string host;
  int port = 0;
};
std::optional<ListenAddress> ParseListenAddress(std::string_view text);
// What ParseListenAddress takes, for the messages that refuse a value.
inline constexpr char kListenAddressForm[] =
    "HOST:PORT (an IPv4 address, [IPv6] or a host name; port 0-65535)";

}  // namespace closeloop::app
