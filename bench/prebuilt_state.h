// Deals at rest in a state store, built directly rather than through Kafka:
// for the benches that measure closeloop with millions of deals in state
// (restart time, memory, scaling beyond what the embedded Kafka can feed in
// an hour). The matcher runs once over a small template company into a
// RecordingStore; copies of every record it ends with (ids suffixed
// "~<copy>") are then written through state::RocksStore.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "app/sample_company.h"
#include "matcher/memory_store.h"

namespace closeloop::bench {

// A matcher::Store that keeps the last version of every record the matcher
// writes: states, payment links, customer index entries and open timers.
class RecordingStore final : public matcher::Store {
 public:
  matcher::DealState& Deal(const matcher::TenantId& t, const matcher::DealId& id) override;
  matcher::OrderState& Order(const matcher::TenantId& t, const matcher::OrderId& id) override;
  matcher::InvoiceState& Invoice(const matcher::TenantId& t, const matcher::InvoiceId& id) override;
  void EndCall() override;
  std::optional<matcher::InvoiceId> GetPaymentInvoice(const matcher::TenantId& t,
                                                      const matcher::PaymentId& p) override;
  void PutPaymentInvoice(const matcher::TenantId& t, const matcher::PaymentId& p,
                         const matcher::InvoiceId& i) override;
  std::vector<matcher::DealId> DealsOfCustomer(const matcher::TenantId& t,
                                               const matcher::CustomerId& c) override;
  void AddDealOfCustomer(const matcher::TenantId& t, const matcher::CustomerId& c,
                         const matcher::DealId& d) override;
  std::vector<std::string> SubjectIds(matcher::SubjectType type, const matcher::TenantId& t,
                                      const std::optional<std::string>& after,
                                      size_t limit) override;
  void AddTimer(const matcher::TimerRef& timer) override;
  void RemoveTimer(const matcher::TimerRef& timer) override;
  using matcher::Store::DueTimers;
  std::vector<matcher::Timer> DueTimers(matcher::Slot slot, matcher::EventTime upto,
                                        const std::optional<matcher::Timer>& after,
                                        size_t limit) override;

  std::map<std::pair<std::string, std::string>, matcher::DealState> deals;
  std::map<std::pair<std::string, std::string>, matcher::OrderState> orders;
  std::map<std::pair<std::string, std::string>, matcher::InvoiceState> invoices;
  struct PaymentLink {
    matcher::TenantId tenant;
    matcher::PaymentId payment;
    matcher::InvoiceId invoice;
  };
  std::vector<PaymentLink> payments;
  struct CustomerDeal {
    matcher::TenantId tenant;
    matcher::CustomerId customer;
    matcher::DealId deal;
  };
  std::vector<CustomerDeal> customer_deals;
  std::set<matcher::Timer> timers;

 private:
  matcher::MemoryStore memory_;
  std::vector<matcher::DealState*> touched_deals_;
  std::vector<matcher::OrderState*> touched_orders_;
  std::vector<matcher::InvoiceState*> touched_invoices_;
};

// Runs the matcher over the company, leaving the watermarks where its
// history ends (open timers stay open, as in a live store).
void RecordTemplate(const app::SampleCompany& company, RecordingStore& store);

// How BuildState's child process ends after its last commit.
enum class BuildEnd {
  kSigkill,  // as a crash leaves the store: no clean close, a write-ahead log to replay
  // compacted as a long-lived store is, then closed cleanly, exit code 0
  kCompactAndExit,
};

// In a child process (fork: call it before this process starts threads):
// writes `deals` deals' worth of copies of the template into the store in
// `dir` (created if missing), committing every `commit_every` records, then
// ends as `end` says. Returns the child's status as waitpid reports it, or
// -1 when it could not be started or waited for.
//
// Only each copy's own keys are suffixed: the references inside a copy
// (its order and invoice lists, the ids inside its document versions, its
// exception ids) keep the template's ids. The copies are deals at rest for
// the store to hold, not a consistent web to evaluate. "Deals" counts deal
// states, including those the template has only because an order names a
// deal the CRM never saw (4 per 1,000-deal template).
int BuildState(const RecordingStore& t, const std::string& dir, int64_t deals, int commit_every,
               BuildEnd end);

}  // namespace closeloop::bench
