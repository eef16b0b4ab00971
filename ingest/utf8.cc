#include "ingest/utf8.h"

#include <cstdint>
#include <cstring>

namespace closeloop::ingest {

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const end = p + text.size();
  while (p < end) {
    // Records are mostly ASCII: skip eight bytes at a time while no high bit is set.
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // Table 3-7 of the Unicode Standard: the allowed range of the second byte
    // depends on the first; it excludes overlongs, surrogates and > U+10FFFF.
    int continuation;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      continuation = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      continuation = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      continuation = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;  // a continuation byte first, 0xC0/0xC1 (overlong) or 0xF5..0xFF
    }
    if (end - p <= continuation) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= continuation; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += continuation + 1;
  }
  return true;
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t n = max_bytes;
  // Back up over continuation bytes so the cut falls before a lead byte.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

std::string Excerpt(std::string_view text, size_t max_bytes) {
  const std::string_view shown = Utf8Prefix(text, max_bytes);
  std::string out;
  out.reserve(shown.size() + 3);
  for (const char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F ? '?' : c);
  }
  if (shown.size() < text.size()) out.append("...");
  return out;
}

}  // namespace closeloop::ingest
