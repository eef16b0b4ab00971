// The words of a scenario line and the values they carry.
#include "matcher/scenario_words.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "matcher/scenario.h"

namespace closeloop::matcher::scenario::words {

void Fail(const std::string& message) { throw Refusal{message}; }

std::vector<Token> Tokenize(const std::string& line) {
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    while (i < n && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i == n || line[i] == '#') break;  // the rest is a comment
    Token t;
    std::string* cur = &t.key;
    while (i < n && !std::isspace(static_cast<unsigned char>(line[i]))) {
      const char c = line[i++];
      if (c == '"') {
        while (i < n && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < n) ++i;
          cur->push_back(line[i++]);
        }
        if (i == n) Fail("unterminated \"");
        ++i;
      } else if ((c == '=' || c == '~') && t.op == 0 && !t.key.empty()) {
        t.op = c;
        cur = &t.value;
      } else {
        cur->push_back(c);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    const size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b == std::string::npos) Fail("empty item in list \"" + s + "\"");
    out.push_back(item.substr(b, e - b + 1));
  }
  if (out.empty()) Fail("empty list");
  return out;
}

int64_t Int(const std::string& key, const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c != '_') digits += c;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    Fail(key + ": expected an integer, got \"" + text + "\"");
  }
  return v;
}

EventTime Time(const std::string& key, const std::string& text) {
  EventTime t;
  if (!ParseTime(text, &t)) {
    Fail(key + ": expected YYYY-MM-DD or RFC 3339 time, got \"" + text + "\"");
  }
  return t;
}

Duration Dur(const std::string& key, const std::string& text) {
  size_t unit = 0;
  while (unit < text.size() && std::isdigit(static_cast<unsigned char>(text[unit]))) ++unit;
  const std::string u = text.substr(unit);
  const int64_t n = unit == 0 ? -1 : Int(key, text.substr(0, unit));
  using std::chrono::hours, std::chrono::minutes, std::chrono::seconds;
  if (n >= 0 && u == "ms") return Duration(n);
  if (n >= 0 && u == "s") return seconds(n);
  if (n >= 0 && u == "m") return minutes(n);
  if (n >= 0 && u == "h") return hours(n);
  if (n >= 0 && u == "d") return n * kDay;
  if (n >= 0 && u == "w") return 7 * n * kDay;
  Fail(key + ": expected a duration such as 30d, 12h, 90m, got \"" + text + "\"");
}

bool Bool(const std::string& key, const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  Fail(key + ": expected true or false, got \"" + text + "\"");
}

int64_t RatioPpm(const std::string& key, const std::string& text) {
  const size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  const bool digits_only =
      std::all_of(frac.begin(), frac.end(), [](char c) { return std::isdigit(c) != 0; });
  if ((whole != "0" && whole != "1") || frac.size() > 6 || !digits_only ||
      (whole == "1" && frac.find_first_not_of('0') != std::string::npos)) {
    Fail(key + ": expected a decimal from 0 to 1 with at most 6 places, got \"" + text + "\"");
  }
  frac.resize(6, '0');
  return (whole == "1" ? 1'000'000 : 0) + Int(key, frac);
}

Args::Args(const std::vector<Token>& tokens, size_t from) {
  for (size_t i = from; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.op != '=') Fail("expected key=value, got \"" + t.key + "\"");
    if (!values_.emplace(t.key, t.value).second) Fail(t.key + " is given twice");
  }
}

std::optional<std::string> Args::Take(const std::string& key) {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  std::string v = it->second;
  values_.erase(it);
  return v;
}

std::string Args::Take(const std::string& key, const std::string& fallback) {
  return Take(key).value_or(fallback);
}

std::map<std::string, std::string> Args::TakeSuffixes(const std::string& prefix) {
  std::map<std::string, std::string> out;
  const std::string start = prefix + ".";
  for (auto it = values_.lower_bound(start); it != values_.end() && it->first.starts_with(start);) {
    out.emplace(it->first.substr(start.size()), it->second);
    it = values_.erase(it);
  }
  return out;
}

void Args::Done() const {
  if (!values_.empty()) Fail("unknown attribute \"" + values_.begin()->first + "\"");
}

ExceptionKind Kind(const std::string& text) {
  if (const std::optional<ExceptionKind> kind = KindFromName(text)) return *kind;
  Fail("unknown exception kind \"" + text + "\"");
}

}  // namespace closeloop::matcher::scenario::words
