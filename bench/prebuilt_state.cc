#include "bench/prebuilt_state.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "ingest/normalize.h"
#include "matcher/engine.h"
#include "state/store.h"

namespace closeloop::bench {
namespace {

template <class State>
State& Remember(State& state, std::vector<State*>& touched) {
  touched.push_back(&state);
  return state;
}

// Copies the states the call touched (those it left empty are dropped).
template <class State, class Map>
void Record(std::vector<State*>& touched, Map& recorded) {
  for (State* s : touched) {
    if (!matcher::IsEmpty(*s)) recorded[{s->tenant.value, s->id.value}] = *s;
  }
  touched.clear();
}

}  // namespace

matcher::DealState& RecordingStore::Deal(const matcher::TenantId& t, const matcher::DealId& id) {
  return Remember(memory_.Deal(t, id), touched_deals_);
}
matcher::OrderState& RecordingStore::Order(const matcher::TenantId& t, const matcher::OrderId& id) {
  return Remember(memory_.Order(t, id), touched_orders_);
}
matcher::InvoiceState& RecordingStore::Invoice(const matcher::TenantId& t,
                                               const matcher::InvoiceId& id) {
  return Remember(memory_.Invoice(t, id), touched_invoices_);
}
void RecordingStore::EndCall() {
  Record(touched_deals_, deals);
  Record(touched_orders_, orders);
  Record(touched_invoices_, invoices);
  memory_.EndCall();
}
std::optional<matcher::InvoiceId> RecordingStore::GetPaymentInvoice(const matcher::TenantId& t,
                                                                    const matcher::PaymentId& p) {
  return memory_.GetPaymentInvoice(t, p);
}
void RecordingStore::PutPaymentInvoice(const matcher::TenantId& t, const matcher::PaymentId& p,
                                       const matcher::InvoiceId& i) {
  memory_.PutPaymentInvoice(t, p, i);
  payments.push_back({t, p, i});
}
std::vector<matcher::DealId> RecordingStore::DealsOfCustomer(const matcher::TenantId& t,
                                                             const matcher::CustomerId& c) {
  return memory_.DealsOfCustomer(t, c);
}
void RecordingStore::AddDealOfCustomer(const matcher::TenantId& t, const matcher::CustomerId& c,
                                       const matcher::DealId& d) {
  memory_.AddDealOfCustomer(t, c, d);
  customer_deals.push_back({t, c, d});
}
void RecordingStore::AddTimer(const matcher::TimerRef& timer) {
  memory_.AddTimer(timer);
  timers.insert(matcher::Timer::Of(timer));
}
void RecordingStore::RemoveTimer(const matcher::TimerRef& timer) {
  memory_.RemoveTimer(timer);
  timers.erase(matcher::Timer::Of(timer));
}
std::vector<std::string> RecordingStore::SubjectIds(matcher::SubjectType type,
                                                    const matcher::TenantId& t,
                                                    const std::optional<std::string>& after,
                                                    size_t limit) {
  return memory_.SubjectIds(type, t, after, limit);
}
std::vector<matcher::Timer> RecordingStore::DueTimers(matcher::Slot slot, matcher::EventTime upto,
                                                      const std::optional<matcher::Timer>& after,
                                                      size_t limit) {
  return memory_.DueTimers(slot, upto, after, limit);
}

void RecordTemplate(const app::SampleCompany& company, RecordingStore& store) {
  const matcher::TenantDirectory dir = app::SampleTenants(company);
  matcher::Engine engine(dir, store);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
  }
  std::vector<matcher::ExceptionRecord> out;
  for (const v1::Event& e : company.events) {
    const matcher::Document doc = ingest::ToDocument(e);
    engine.Apply(doc, wm, out);
    wm.AdvanceAll(std::visit([](const auto& d) { return d.event_time; }, doc));
    engine.Advance(wm, out);
  }
}

int BuildState(const RecordingStore& t, const std::string& dir, int64_t deals, int commit_every,
               BuildEnd end) {
  const pid_t child = fork();
  if (child < 0) return -1;
  if (child > 0) {
    int status = 0;
    pid_t waited;
    do {
      waited = waitpid(child, &status, 0);
    } while (waited < 0 && errno == EINTR);
    return waited == child ? status : -1;
  }
  auto opened = state::RocksStore::Open({.dir = dir});
  if (!opened.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), opened.status().ToString().c_str());
    _exit(2);
  }
  state::RocksStore& store = **opened;
  int pending = 0;
  auto count = [&](int n) {
    pending += n;
    if (pending < commit_every) return;
    pending = 0;
    if (absl::Status s = store.Commit(); !s.ok()) {
      std::fprintf(stderr, "commit: %s\n", s.ToString().c_str());
      _exit(2);
    }
  };
  int64_t written = 0;
  for (int copy = 0; written < deals; ++copy) {
    const std::string sfx = "~" + std::to_string(copy);
    for (const auto& [key, d] : t.deals) {
      if (written == deals) break;
      matcher::DealState s = d;
      s.id.value = s.id.value + sfx;
      store.Put(s);
      ++written;
      count(1);
    }
    for (const auto& [key, o] : t.orders) {
      matcher::OrderState s = o;
      s.id.value = s.id.value + sfx;
      store.Put(s);
      count(1);
    }
    for (const auto& [key, i] : t.invoices) {
      matcher::InvoiceState s = i;
      s.id.value = s.id.value + sfx;
      store.Put(s);
      count(1);
    }
    for (const auto& p : t.payments) {
      store.PutPaymentInvoice(p.tenant, {p.payment.value + sfx}, {p.invoice.value + sfx});
      count(1);
    }
    for (const auto& c : t.customer_deals) {
      store.AddDealOfCustomer(c.tenant, {c.customer.value + sfx}, {c.deal.value + sfx});
      count(1);
    }
    for (matcher::Timer timer : t.timers) {
      timer.id += sfx;
      store.AddTimer(timer);
      count(1);
    }
  }
  if (end == BuildEnd::kCompactAndExit) {
    if (absl::Status s = store.CommitAndCompact(); !s.ok()) {
      std::fprintf(stderr, "commit and compact: %s\n", s.ToString().c_str());
      _exit(2);
    }
    opened->reset();  // a clean close
    _exit(0);
  }
  if (absl::Status s = store.Commit(); !s.ok()) {
    std::fprintf(stderr, "commit: %s\n", s.ToString().c_str());
    _exit(2);
  }
  raise(SIGKILL);
  _exit(3);  // not reached
}

}  // namespace closeloop::bench
