// Source values in the canonical text forms: Kafka Connect schemas,
// decimals, DECIMAL bytes and times. See source_values.h.
#include "ingest/source_values.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <vector>

namespace closeloop::ingest {
namespace {

using nlohmann::json;

// Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

// The longest DECIMAL bytes read: 154 digits, past any DECIMAL whose value
// fits int64 minor units at a scale up to 38.
constexpr size_t kMaxDecimalBytes = 64;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<int64_t> ParseWholeNumber(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<TimeUnit> TimeUnitOfSchema(const ColumnSchema* schema) {
  if (schema == nullptr) return std::nullopt;
  const std::string& n = schema->name;
  if (n == "io.debezium.time.Date" || n == "org.apache.kafka.connect.data.Date") {
    return TimeUnit::kDays;
  }
  if (n == "io.debezium.time.Timestamp" || n == "org.apache.kafka.connect.data.Timestamp") {
    return TimeUnit::kMillis;
  }
  if (n == "io.debezium.time.MicroTimestamp") return TimeUnit::kMicros;
  if (n == "io.debezium.time.NanoTimestamp") return TimeUnit::kNanos;
  return std::nullopt;
}

std::optional<int64_t> ToMillis(int64_t value, TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kDays:
      if (value > 3'000'000 || value < -800'000) return std::nullopt;
      return value * 86'400'000;
    case TimeUnit::kMillis:
      return value;
    case TimeUnit::kMicros:
      return FloorDiv(value, 1000);
    case TimeUnit::kNanos:
      return FloorDiv(value, 1'000'000);
  }
  return std::nullopt;
}

std::optional<std::string> NormalizeTimeText(std::string s) {
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') s += "T00:00:00Z";
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  if (s.size() < 19 || s[10] != 'T') return std::nullopt;
  const char last = s.back();
  const size_t n = s.size();
  if (n >= 24 && (s[n - 5] == '+' || s[n - 5] == '-') && Digits(s.substr(n - 4))) {
    s.insert(n - 2, ":");
  } else if (last != 'Z' && last != 'z' &&
             !(n >= 25 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':')) {
    s += "Z";
  }
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(s, &ts)) return std::nullopt;
  return s;
}

RowSchema ReadRowSchema(const json& schema) {
  RowSchema out;
  if (!schema.is_object()) return out;
  auto fields = schema.find("fields");
  if (fields == schema.end() || !fields->is_array()) return out;
  for (const json& f : *fields) {
    if (!f.is_object() || !f.contains("field") || !f["field"].is_string()) continue;
    ColumnSchema c;
    if (f.contains("type") && f["type"].is_string()) c.type = f["type"].get<std::string>();
    if (f.contains("name") && f["name"].is_string()) c.name = f["name"].get<std::string>();
    if (f.contains("parameters") && f["parameters"].is_object()) {
      const json& p = f["parameters"];
      if (p.contains("scale")) {
        const json& s = p["scale"];
        std::optional<int64_t> v;
        if (s.is_string()) v = ParseWholeNumber(s.get<std::string>());
        if (s.is_number_integer()) v = s.get<int64_t>();
        // Clamped, not cut to int: 2^32 + 2 must stay out of range, not become 2.
        if (v) c.scale = static_cast<int>(std::clamp<int64_t>(*v, INT_MIN, INT_MAX));
      }
    }
    out[f["field"].get<std::string>()] = std::move(c);
  }
  return out;
}

std::variant<int64_t, std::string> DecimalToMinor(std::string_view text, int digits) {
  std::string_view s = text;
  const bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (!Digits(whole) || (dot != std::string_view::npos && !Digits(frac))) {
    return fmt::format("\"{}\" is not a decimal number", text);
  }
  for (size_t i = static_cast<size_t>(digits); i < frac.size(); ++i) {
    if (frac[i] != '0') {
      return fmt::format("{} has more decimals than the currency's {}", text, digits);
    }
  }
  int64_t v = 0;
  auto push = [&v](int digit) {
    return !__builtin_mul_overflow(v, 10, &v) && !__builtin_add_overflow(v, digit, &v);
  };
  for (char c : whole) {
    if (!push(c - '0')) return fmt::format("{} is too large", text);
  }
  for (int i = 0; i < digits; ++i) {
    if (!push(static_cast<size_t>(i) < frac.size() ? frac[i] - '0' : 0)) {
      return fmt::format("{} is too large", text);
    }
  }
  return negative ? -v : v;
}

std::optional<std::string> DecimalBytesToText(std::string_view base64, int scale) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (scale < 0 || scale > 38 || base64.empty() || base64.size() % 4 != 0) return std::nullopt;
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < base64.size(); ++i) {
    const char c = base64[i];
    if (c == '=') {
      if (i + 2 < base64.size()) return std::nullopt;
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;
    const size_t k = kAlphabet.find(c);
    if (k == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(k);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Two's complement, big-endian, as many bytes as the unscaled value needs:
  // NUMERIC(32,16) holds 1500.00 as 1.5e19, past int64.
  if (bytes.empty() || bytes.size() > kMaxDecimalBytes) return std::nullopt;
  std::vector<uint8_t> magnitude(bytes.begin(), bytes.end());
  const bool negative = (magnitude[0] & 0x80) != 0;
  if (negative) {  // -x = ~x + 1
    for (uint8_t& b : magnitude) b = static_cast<uint8_t>(~b);
    for (size_t i = magnitude.size(); i-- > 0;) {
      if (++magnitude[i] != 0) break;  // no carry into the next byte
    }
  }
  std::string digits;  // least significant first, by long division by 10
  size_t first = 0;
  do {
    uint32_t remainder = 0;
    for (size_t i = first; i < magnitude.size(); ++i) {
      const uint32_t part = (remainder << 8) | magnitude[i];
      magnitude[i] = static_cast<uint8_t>(part / 10);
      remainder = part % 10;
    }
    digits.push_back(static_cast<char>('0' + remainder));
    while (first < magnitude.size() && magnitude[first] == 0) ++first;
  } while (first < magnitude.size());
  std::reverse(digits.begin(), digits.end());
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return (negative ? "-" : "") + digits;
}

std::optional<std::string> MillisToRfc3339(int64_t ms) {
  const int64_t seconds = FloorDiv(ms, 1000);
  if (seconds < kMinSeconds || seconds > kMaxSeconds) return std::nullopt;
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((ms - seconds * 1000) * 1'000'000));
  return google::protobuf::util::TimeUtil::ToString(ts);
}

}  // namespace closeloop::ingest
