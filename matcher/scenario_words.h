// The words of a scenario line and the values they carry: tokens, integers,
// times, durations, lists, enums. Internal to the scenario parser; a malformed
// word throws Refusal, which Parse() turns into "path:line: message" and which
// never leaves it. Pure functions and values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "matcher/types.h"

namespace closeloop::matcher::scenario::words {

// Unwinds to Parse() with a message; never leaves the parser.
struct Refusal {
  std::string message;
};
[[noreturn]] void Fail(const std::string& message);

// A word of a line: `word`, `key=value` or `key~value`; double quotes group
// text with spaces ("Closed Won") and are removed. `#` starting a word starts
// a comment.
struct Token {
  std::string key;
  char op = 0;  // 0 for a bare word, else '=' or '~'
  std::string value;
};
std::vector<Token> Tokenize(const std::string& line);

// "a,b, c" -> {"a", "b", "c"}; empty items are refused.
std::vector<std::string> SplitList(const std::string& s);
// An integer; '_' may group digits (1_200_000). `key` names it in messages.
int64_t Int(const std::string& key, const std::string& text);
// YYYY-MM-DD or RFC 3339.
EventTime Time(const std::string& key, const std::string& text);
// "30d", "12h", "90m", "45s", "500ms", "2w".
Duration Dur(const std::string& key, const std::string& text);
// "true" or "false".
bool Bool(const std::string& key, const std::string& text);
// "0.005" -> 5000 parts per million, without floating point.
int64_t RatioPpm(const std::string& key, const std::string& text);
// An exception kind by its wire name, e.g. "MISSING_INVOICE".
ExceptionKind Kind(const std::string& text);

// One of `names`, else a refusal listing them.
template <class E>
E Enum(const std::string& key, const std::string& text,
       const std::vector<std::pair<const char*, E>>& names) {
  for (const auto& [name, value] : names) {
    if (text == name) return value;
  }
  std::string all;
  for (const auto& [name, value] : names) all += (all.empty() ? "" : "|") + std::string(name);
  Fail(key + ": expected " + all + ", got \"" + text + "\"");
}

// The key=value arguments of one line; each must be used exactly once.
class Args {
 public:
  // Refuses words that are not key=value, and keys given twice.
  Args(const std::vector<Token>& tokens, size_t from);
  // The value of `key`, now used; nullopt when absent.
  std::optional<std::string> Take(const std::string& key);
  std::string Take(const std::string& key, const std::string& fallback);
  // The values of the keys `prefix`.X, now used, by X.
  std::map<std::string, std::string> TakeSuffixes(const std::string& prefix);
  // Refuses the first key never taken.
  void Done() const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace closeloop::matcher::scenario::words
