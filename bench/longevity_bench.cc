// What a store that has run for years holds and costs (bench/README.md,
// "Longevity"): the matcher over RocksStore, committing after every
// document as a pipeline batch with one event on the deal would. Prints
// figures; asserts nothing.
//   1. A deal its CRM rewrites every hour (same values, a new event time):
//      the deal's stored bytes and the time per later event, by times sent.
//   2. What a settled deal leaves in the store once every exception is
//      RESOLVED and every timer has fired.
//   3. A customer with many past (settled) deals: the time to decide the
//      fuzzy link of one invoice without references.
//   4. The books after years: a day record per tenant, currency and close
//      day, copied into every HTTP snapshot.
#include <malloc.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/books.h"
#include "app/process_status.h"
#include "app/report.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"
#include "matcher/tenant.h"
#include "matcher/watermarks.h"
#include "state/codec.h"
#include "state/store.h"

namespace closeloop {
namespace {

using matcher::EventTime;
using std::chrono::hours;

const EventTime kStart = EventTime(std::chrono::sys_days(std::chrono::year{2024} / 1 / 1));

std::string TempDir() {
  std::string root = std::filesystem::temp_directory_path() / "closeloop-longevity-XXXXXX";
  if (mkdtemp(root.data()) == nullptr) std::abort();
  return root;
}

std::unique_ptr<state::RocksStore> OpenStore(const std::string& dir) {
  auto store = state::RocksStore::Open({.dir = dir});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    std::abort();
  }
  return *std::move(store);
}

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::abort();
  }
}

matcher::Deal MakeDeal(const std::string& id, const std::string& customer, EventTime close,
                       EventTime at) {
  matcher::Deal d;
  d.tenant.value = "acme";
  d.id.value = id;
  d.stage = "Closed Won";
  d.amount_minor = 1'000'000;
  d.currency = "USD";
  d.customer.value = customer;
  d.customer_name = "Customer " + customer;
  d.owner = "rep@example.com";
  d.close_time = close;
  d.event_time = at;
  return d;
}

// Order, invoice and full payment of `deal`, a day apart after its close;
// `late`: the invoice 40 days after the close and the payment 50 days after
// its due date, so that MISSING_INVOICE and UNPAID open, escalate and are
// RECOVERED.
std::vector<matcher::Document> Settlement(const matcher::Deal& deal, bool late = false) {
  matcher::Order o;
  o.tenant = deal.tenant;
  o.id.value = "O-" + std::string(deal.id.value);
  o.deal = deal.id;
  o.customer = deal.customer;
  o.amount_minor = deal.amount_minor;
  o.currency = deal.currency;
  o.event_time = deal.close_time + hours(24);
  matcher::Invoice i;
  i.tenant = deal.tenant;
  i.id.value = "I-" + std::string(deal.id.value);
  i.order = o.id;
  i.deal = deal.id;
  i.customer = deal.customer;
  i.amount_minor = deal.amount_minor;
  i.currency = deal.currency;
  i.issue_time = deal.close_time + hours(24 * (late ? 40 : 2));
  i.due_time = i.issue_time + hours(24 * 30);
  i.event_time = i.issue_time;
  matcher::Payment p;
  p.tenant = deal.tenant;
  p.id.value = "P-" + std::string(deal.id.value);
  p.invoice = i.id;
  p.customer = deal.customer;
  p.amount_minor = deal.amount_minor;
  p.currency = deal.currency;
  p.event_time = late ? *i.due_time + hours(24 * 50) : deal.close_time + hours(72);
  return {o, i, p};
}

struct Harness {
  explicit Harness(const std::string& dir) : store(OpenStore(dir)), engine(tenants, *store) {
    for (int s = 0; s < matcher::kSourceCount; ++s) {
      wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
    }
  }
  // Applies `doc`, raises every watermark to its time, fires what is due and
  // commits: one pipeline batch.
  void Batch(const matcher::Document& doc) {
    engine.Apply(doc, wm, out);
    wm.AdvanceAll(std::visit([](const auto& d) { return d.event_time; }, doc));
    engine.Advance(wm, out);
    Check(store->Commit());
  }
  void AdvanceTo(EventTime t) {
    wm.AdvanceAll(t);
    engine.Advance(wm, out);
    Check(store->Commit());
  }
  matcher::TenantDirectory tenants;
  std::unique_ptr<state::RocksStore> store;
  matcher::Engine engine;
  matcher::WatermarkSet wm;
  std::vector<matcher::ExceptionRecord> out;
};

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void HourlyRewrites(int max_versions) {
  std::printf("## 1. A deal rewritten every hour (settled: order, invoice, paid)\n\n");
  std::printf(
      "| sent (hours) | versions kept | DealState bytes | us per event, RocksStore + commit | "
      "us per event, engine over MemoryStore |\n|---|---|---|---|---|\n");
  const std::string dir = TempDir();
  {
    Harness h(dir);
    // The same documents through an engine over MemoryStore: the matcher's
    // own share, without encoding and writing the state.
    matcher::MemoryStore memory;
    matcher::Engine alone(h.tenants, memory);
    matcher::WatermarkSet wm = h.wm;
    std::vector<matcher::ExceptionRecord> out;
    auto both = [&](const matcher::Document& doc, double* rocks_s, double* memory_s) {
      auto t = std::chrono::steady_clock::now();
      h.Batch(doc);
      if (rocks_s != nullptr) *rocks_s += SecondsSince(t);
      t = std::chrono::steady_clock::now();
      alone.Apply(doc, wm, out);
      wm.AdvanceAll(std::visit([](const auto& d) { return d.event_time; }, doc));
      alone.Advance(wm, out);
      if (memory_s != nullptr) *memory_s += SecondsSince(t);
    };
    const matcher::Deal first = MakeDeal("D-1", "C-1", kStart, kStart);
    both(first, nullptr, nullptr);
    for (const matcher::Document& d : Settlement(first)) both(d, nullptr, nullptr);
    double rocks_s = 0, memory_s = 0;
    for (int n = 2; n <= max_versions; ++n) {
      both(MakeDeal("D-1", "C-1", kStart, kStart + hours(n)), &rocks_s, &memory_s);
      if (n % 100 != 0) continue;
      if (n == 100 || n == 1000 || n % 2000 == 0 || n == max_versions) {
        const auto deal = h.store->GetDeal(first.tenant, first.id);
        std::printf("| %d | %zu | %zu | %.0f | %.0f |\n", n, deal->deal.versions.size(),
                    state::Encode(*deal).size(), rocks_s / 100 * 1e6, memory_s / 100 * 1e6);
      }
      rocks_s = memory_s = 0;
    }
    std::printf(
        "\nsizeof(matcher::Deal) %zu B in memory per version; exception records: %zu; "
        "state store on disk: %llu bytes\n\n",
        sizeof(matcher::Deal), h.out.size() + out.size(),
        static_cast<unsigned long long>(h.store->Stats().disk_bytes()));
  }
  std::filesystem::remove_all(dir);
}

void SettledResidue(int deals) {
  std::printf(
      "## 2. What %d settled deals (every other one invoiced and paid late) leave in "
      "the store\n\n",
      deals);
  const std::string dir = TempDir();
  {
    Harness h(dir);
    // In event-time order, as a live feed delivers them.
    std::vector<matcher::Document> docs;
    for (int k = 0; k < deals; ++k) {
      const EventTime close = kStart + hours(k);
      const matcher::Deal deal =
          MakeDeal("D-" + std::to_string(k), "C-" + std::to_string(k), close, close);
      docs.push_back(deal);
      for (const matcher::Document& d : Settlement(deal, /*late=*/k % 2 == 1)) docs.push_back(d);
    }
    auto time_of = [](const matcher::Document& d) {
      return std::visit([](const auto& doc) { return doc.event_time; }, d);
    };
    std::stable_sort(docs.begin(), docs.end(),
                     [&](const auto& a, const auto& b) { return time_of(a) < time_of(b); });
    for (const matcher::Document& d : docs) h.Batch(d);
    // A year after the last close: every window, grace and escalation age passed.
    h.AdvanceTo(kStart + hours(deals) + hours(24 * 400));
    std::map<std::string, int> by_state;
    for (const auto& r : h.out) {
      by_state[matcher::StateName(r.state)]++;
    }
    const matcher::TenantId tenant{"acme"};
    size_t bytes[3] = {0, 0, 0}, count[3] = {0, 0, 0};
    for (int type = 0; type < 3; ++type) {
      const auto ids = h.store->SubjectIds(static_cast<matcher::SubjectType>(type), tenant,
                                           std::nullopt, SIZE_MAX);
      count[type] = ids.size();
      for (const std::string& id : ids) {
        switch (static_cast<matcher::SubjectType>(type)) {
          case matcher::SubjectType::kDeal:
            bytes[type] += state::Encode(*h.store->GetDeal(tenant, matcher::DealId{id})).size();
            break;
          case matcher::SubjectType::kOrder:
            bytes[type] += state::Encode(*h.store->GetOrder(tenant, matcher::OrderId{id})).size();
            break;
          case matcher::SubjectType::kInvoice:
            bytes[type] +=
                state::Encode(*h.store->GetInvoice(tenant, matcher::InvoiceId{id})).size();
            break;
        }
      }
    }
    size_t timers = 0;
    for (matcher::Slot slot :
         {matcher::Slot::kNotBillable, matcher::Slot::kMissingOrder, matcher::Slot::kBilling,
          matcher::Slot::kTerms, matcher::Slot::kUnpaid, matcher::Slot::kOrphanInvoice,
          matcher::Slot::kOrphanOrder, matcher::Slot::kFuzzyLink, matcher::Slot::kOrderFuzzyLink}) {
      timers += h.store->DueTimers(slot, matcher::kMaxTime).size();
    }
    std::printf("exception records emitted: %zu:", h.out.size());
    for (const auto& [name, n] : by_state) std::printf(" %s %d", name.c_str(), n);
    std::printf("\n");
    std::printf(
        "deal states %zu (%zu B, %.0f B each), order states %zu (%zu B), invoice "
        "states %zu (%zu B)\n",
        count[0], bytes[0], double(bytes[0]) / double(count[0] ? count[0] : 1), count[1], bytes[1],
        count[2], bytes[2]);
    std::printf("timers left %zu, estimated keys %llu, on disk %llu B\n\n", timers,
                static_cast<unsigned long long>(h.store->Stats().estimated_keys),
                static_cast<unsigned long long>(h.store->Stats().disk_bytes()));
  }
  std::filesystem::remove_all(dir);
}

void CustomerHistory(int past_deals) {
  std::printf("## 3. One customer with %d past settled deals: a fuzzy link\n\n", past_deals);
  const std::string dir = TempDir();
  {
    Harness h(dir);
    for (int k = 0; k < past_deals; ++k) {
      const EventTime close = kStart + hours(24 * k);
      const matcher::Deal deal = MakeDeal("D-" + std::to_string(k), "C-1", close, close);
      h.Batch(deal);
      for (const matcher::Document& d : Settlement(deal)) h.Batch(d);
    }
    // Rounds: an open deal of the customer and an invoice of its amount that
    // names no deal or order, linked fuzzily (its deal is then fully billed).
    constexpr int kRounds = 50;
    double total_ms = 0;
    int linked = 0;
    for (int r = 0; r < kRounds; ++r) {
      const EventTime close = kStart + hours(24 * (past_deals + r));
      matcher::Deal open = MakeDeal("D-new-" + std::to_string(r), "C-1", close, close);
      open.amount_minor = 777'700 + r;
      h.Batch(open);
      matcher::Invoice i;
      i.tenant = open.tenant;
      i.id.value = "I-unreferenced-" + std::to_string(r);
      i.customer = open.customer;
      i.amount_minor = open.amount_minor;
      i.currency = "USD";
      i.issue_time = close + hours(6);
      i.event_time = i.issue_time;
      auto t = std::chrono::steady_clock::now();
      h.Batch(i);
      total_ms += SecondsSince(t) * 1e3;
      const auto stored = h.store->GetInvoice(open.tenant, i.id);
      if (stored && stored->fuzzy.deal && stored->fuzzy.deal->value == open.id.value) ++linked;
    }
    std::printf("an invoice's batch: %.2f ms on average over %d (%d linked to their deal)\n\n",
                total_ms / kRounds, kRounds, linked);
  }
  std::filesystem::remove_all(dir);
}

void BooksAfterYears(int tenants, int years) {
  std::printf("## 4. The books of %d tenants after %d years (a deal a day each)\n\n", tenants,
              years);
  const int days = 365 * years;
  malloc_trim(0);
  const int64_t rss_before = app::ProcessStatusBytes("VmRSS");
  // What the batches wrote to the store over the years.
  std::vector<app::BooksChange> stored;
  {
    app::Books live;
    for (int tn = 0; tn < tenants; ++tn) {
      for (int d = 0; d < days; ++d) {
        matcher::FiguresChange c;
        c.tenant.value = "tenant-" + std::to_string(tn);
        c.deal.value = "D-" + std::to_string(d);
        c.after.currency = "USD";
        c.after.closed_at = kStart + hours(24 * d);
        c.after.booked = true;
        c.after.booked_minor = c.after.billed_minor = c.after.collected_minor = 1'000'000;
        live.Apply(c);
      }
    }
    live.DrainChanges(stored);
  }
  malloc_trim(0);
  // A restart: every record loaded at start, as Pipeline::Start does.
  app::Books books;
  auto t = std::chrono::steady_clock::now();
  for (const auto& [key, bytes] : stored) Check(books.Load(key, *bytes));
  const double load_s = SecondsSince(t);
  stored.clear();
  stored.shrink_to_fit();
  malloc_trim(0);
  const int64_t books_bytes = app::ProcessStatusBytes("VmRSS") - rss_before;
  constexpr int kSnapshots = 5;
  t = std::chrono::steady_clock::now();
  size_t copied = 0;
  for (int i = 0; i < kSnapshots; ++i) {
    copied += app::SnapshotOf(books, kStart + hours(24 * days), 90 * matcher::kDay).days.size();
  }
  std::printf(
      "day records %zu (about %lld MB resident), loaded at start in %.2f s; a "
      "snapshot's copy of them: %.1f ms\n\n",
      books.days().size(), static_cast<long long>(books_bytes >> 20), load_s,
      SecondsSince(t) * 1e3 / kSnapshots);
  if (copied == 0) std::abort();
}

}  // namespace
}  // namespace closeloop

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const bool books_only = argc > 1 && std::string(argv[1]) == "--books";
  if (books_only) {
    for (int n : {10, 100, 1000}) closeloop::BooksAfterYears(n, 5);
    return 0;
  }
  closeloop::HourlyRewrites(quick ? 300 : 8800);
  closeloop::SettledResidue(quick ? 100 : 2000);
  for (int n : quick ? std::vector<int>{10} : std::vector<int>{10, 100, 1000}) {
    closeloop::CustomerHistory(n);
  }
  for (int n : quick ? std::vector<int>{10} : std::vector<int>{10, 100, 1000}) {
    closeloop::BooksAfterYears(n, 5);
  }
  return 0;
}
