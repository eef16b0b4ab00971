// Strict UTF-8 validation (RFC 3629) for record text and string fields, and
// safe excerpts of input for rejection messages. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace closeloop::ingest {

// True when `text` is well-formed UTF-8: no overlong forms, no UTF-16
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view text);

// The longest prefix of `text` (valid UTF-8) of at most `max_bytes` bytes that
// does not split a character.
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

// An excerpt of `text` (valid UTF-8) fit for a one-line message: at most
// `max_bytes` bytes, cut on a character boundary and marked "...", with
// control characters replaced by '?'.
std::string Excerpt(std::string_view text, size_t max_bytes = 32);

// The most of a field name a rejection repeats (a hostile record's keys can
// be megabytes long).
inline constexpr size_t kMaxFieldNameBytes = 80;

}  // namespace closeloop::ingest
