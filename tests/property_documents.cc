#include "tests/property_documents.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <variant>

#include "ingest/normalize.h"

namespace closeloop::property {

using matcher::Document;
using matcher::EventTime;
using matcher::kDay;
using matcher::Source;

namespace {

Delivered Classify(Document doc) {
  Delivered d{.doc = std::move(doc)};
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        d.time = x.event_time;
        d.key = x.tenant.value + ":" + x.id.value;
        if constexpr (std::is_same_v<T, matcher::Deal>) d.source = Source::kCrm;
        if constexpr (std::is_same_v<T, matcher::Order>) d.source = Source::kErp;
        if constexpr (std::is_same_v<T, matcher::Invoice>) d.source = Source::kBilling;
        if constexpr (std::is_same_v<T, matcher::Payment>) d.source = Source::kPayments;
      },
      d.doc);
  return d;
}

// A CDC feed re-sending rows: some versions of every kind of document come
// again unchanged at later event times, before the document's next version
// (or, for its last, up to a day before now); a payment re-sent before and
// after it moved to another invoice.
void AddResends(uint32_t seed, std::vector<Delivered>& docs) {
  std::mt19937 rng(seed * 104'729u + 3u);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::map<std::pair<int, std::string>, std::vector<size_t>> versions;
  for (size_t i = 0; i < docs.size(); ++i) {
    versions[{static_cast<int>(docs[i].source), docs[i].key}].push_back(i);
  }
  const EventTime limit = kNow - kDay;
  std::vector<Delivered> added;
  for (const auto& [key, indices] : versions) {
    for (size_t k = 0; k < indices.size(); ++k) {
      const Delivered& v = docs[indices[k]];
      const EventTime next = k + 1 < indices.size() ? docs[indices[k + 1]].time : limit;
      const int64_t span = std::chrono::duration_cast<std::chrono::minutes>(next - v.time).count();
      if (span < 8 || uniform(0, 2) == 0) continue;
      std::vector<int64_t> at;
      for (int64_t n = uniform(1, 4); n > 0; --n) at.push_back(uniform(1, span - 1));
      std::sort(at.begin(), at.end());
      at.erase(std::unique(at.begin(), at.end()), at.end());
      for (int64_t m : at) {
        Delivered again = v;
        again.time = v.time + std::chrono::minutes(m);
        std::visit([&](auto& x) { x.event_time = again.time; }, again.doc);
        added.push_back(std::move(again));
      }
    }
  }
  for (Delivered& d : added) docs.push_back(std::move(d));
}

}  // namespace

uint32_t KeyHash(const std::string& key) {
  uint32_t h = 2166136261u;
  for (unsigned char c : key) h = (h ^ c) * 16777619u;
  return h;
}

Company MakeCompany(uint32_t seed, bool extras) {
  Company c;
  c.seed = seed;
  c.sample = app::GenerateSampleCompany(
      {.seed = seed, .now = kNow, .deals_per_tenant = 15 + static_cast<int>(seed % 16)});
  for (const v1::Event& e : c.sample.events) c.docs.push_back(Classify(ingest::ToDocument(e)));
  if (extras) {
    for (Document& doc : ExtraDocuments(seed)) c.docs.push_back(Classify(std::move(doc)));
    std::stable_sort(c.docs.begin(), c.docs.end(),
                     [](const Delivered& a, const Delivered& b) { return a.time < b.time; });
    AddResends(seed, c.docs);
    std::stable_sort(c.docs.begin(), c.docs.end(),
                     [](const Delivered& a, const Delivered& b) { return a.time < b.time; });
    c.barrier =
        std::chrono::floor<std::chrono::days>(kNow) - (30 + static_cast<int>(seed % 20)) * kDay;
  }
  return c;
}

}  // namespace closeloop::property
