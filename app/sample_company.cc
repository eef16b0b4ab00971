#include "app/sample_company.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <random>

#include "app/config.h"
#include "ingest/normalize.h"

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::ExceptionKind;
using matcher::kDay;

google::protobuf::Timestamp Ts(EventTime t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(t.time_since_epoch().count());
}

struct TenantProfile {
  std::string id;
  std::vector<std::string> won_stages;
  int invoice_window_days;
};

class Generator {
 public:
  Generator(const SampleOptions& options) : options_(options), rng_(options.seed) {}

  SampleCompany Run() {
    const TenantProfile tenants[] = {{"acme", {"Closed Won"}, 30},
                                     {"globex", {"Closed Won", "Signed"}, 14}};
    for (const TenantProfile& t : tenants) {
      for (int i = 0; i < options_.deals_per_tenant; ++i) Deal(t, i);
      Orphans(t);
    }
    std::stable_sort(out_.events.begin(), out_.events.end(),
                     [](const v1::Event& a, const v1::Event& b) {
                       return ingest::EventTimeOf(a) < ingest::EventTimeOf(b);
                     });
    BadRecords();
    out_.tenants_yaml =
        "defaults:\n"
        "  invoice_window: 30d\n"
        "tenants:\n"
        "  acme:\n"
        "    required_fields: [po_number]\n"
        "  globex:\n"
        "    closed_won_stages: [\"Closed Won\", \"Signed\"]\n"
        "    invoice_window: 14d\n"
        "    require_order: false\n";
    return std::move(out_);
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  EventTime Day(int days_ago) { return today_ - days_ago * kDay; }

  void Deal(const TenantProfile& t, int i) {
    char id[16];
    std::snprintf(id, sizeof id, "D-%04d", i + 1);
    const int roll = Uniform(0, 99);
    const bool not_billable = t.id == "acme" && roll >= 44 && roll < 48;
    const int close_ago = not_billable ? Uniform(2, 25) : Uniform(2, 150);
    const EventTime close = Day(close_ago) + std::chrono::hours(Uniform(8, 17));
    const int64_t amount = int64_t{Uniform(10, 2000)} * 10'000 + Uniform(0, 99) * 100;
    const int customer = Uniform(1, 40);

    v1::Event e;
    v1::Deal& d = *e.mutable_deal();
    d.set_tenant_id(t.id);
    d.set_deal_id(id);
    d.set_stage(t.won_stages[Uniform(0, static_cast<int>(t.won_stages.size()) - 1)]);
    d.set_amount_minor(amount);
    d.set_currency(t.id == "acme" ? "USD" : "EUR");
    // Some healthy deals are billed by invoices that carry no reference; their
    // customer has no other deal, so fuzzy matching must find the deal.
    const bool unreferenced_invoice = roll >= 80 && roll < 86;
    d.set_customer_id(unreferenced_invoice ? "C-SOLO-" + std::string(id)
                                           : "C-" + std::to_string(customer));
    d.set_customer_name(kCustomers[customer % std::size(kCustomers)]);
    d.set_owner("rep" + std::to_string(Uniform(1, 8)) + "@" + t.id + ".example");
    *d.mutable_close_time() = Ts(close);
    *d.mutable_event_time() = Ts(close);
    d.set_payment_terms_days(30);
    d.set_po_number("PO-" + std::to_string(Uniform(10000, 99999)));

    const EventTime deadline = close + t.invoice_window_days * kDay;
    const bool deadline_passed = deadline < today_ - kDay;
    if (roll < 4) {  // lost before anything was billed: nothing expected
      d.set_stage("Closed Lost");
      Emit(std::move(e));
      return;
    }
    if (roll < 12) {  // milestones, billed and paid on time
      const int64_t first = amount / 2;
      for (int k = 0; k < 2; ++k) {
        v1::Milestone* m = d.mutable_billing_plan()->add_milestones();
        *m->mutable_due_time() = Ts(close + (k * 20 + 5) * kDay);
        m->set_amount_minor(k == 0 ? first : amount - first);
      }
      d.mutable_billing_plan()->set_kind(v1::BillingPlan::MILESTONES);
      const v1::Deal deal = d;
      Emit(std::move(e));
      Order(deal, close + kDay);
      for (int k = 0; k < 2; ++k) {
        const EventTime issue = close + (k * 20 + 5) * kDay;
        BillAndPay(deal, std::string(id) + "-M" + std::to_string(k + 1), issue,
                   k == 0 ? first : amount - first, true);
      }
      return;
    }
    const bool acme = t.id == "acme";
    const bool billed_by_now = close + 5 * kDay < today_ - kDay;
    if (not_billable) {  // no PO, so nobody bills it
      d.clear_po_number();
      const v1::Deal deal = d;
      Emit(std::move(e));
      Order(deal, close + kDay);
      Plant(t.id, ExceptionKind::kNotBillable, id, amount);
      return;
    }
    const v1::Deal deal = d;
    Emit(std::move(e));
    const std::string inv = std::string(id) + "-I1";
    if (roll >= 41 && roll < 44 && acme && close + 4 * kDay < today_ - kDay) {  // no ERP order
      BillAndPay(deal, inv, close + 5 * kDay, amount, false, /*by_deal=*/true);
      Plant(t.id, ExceptionKind::kMissingOrder, id, amount);
      return;
    }
    Order(deal, close + kDay);
    if (roll < 20 && deadline_passed) {  // never billed
      Plant(t.id, ExceptionKind::kMissingInvoice, id, amount);
    } else if (roll < 25 && deadline_passed) {  // billed short
      const int64_t billed = amount * 6 / 10;
      BillAndPay(deal, inv, close + 5 * kDay, billed, true);
      Plant(t.id, ExceptionKind::kUnderBilled, id, amount - billed);
    } else if (roll < 35 && close + (5 + 30 + 5) * kDay < today_ - kDay) {  // not (fully) paid
      const EventTime issue = close + 5 * kDay;
      Invoice(deal, inv, issue, amount);
      const int64_t paid = roll % 2 == 0 ? 0 : amount / 4;
      if (paid > 0) {
        Payment(deal, inv, inv + "-P1", issue + 10 * kDay, paid, v1::Payment::SUCCEEDED);
      }
      Plant(t.id, ExceptionKind::kUnpaid, inv, amount - paid);
    } else if (roll < 38 && billed_by_now) {  // billed a fifth too much
      const int64_t billed = amount * 12 / 10;
      BillAndPay(deal, inv, close + 5 * kDay, billed, false);
      Plant(t.id, ExceptionKind::kOverBilled, id, billed - amount);
    } else if (roll < 41 && billed_by_now) {  // 60 days to pay where the deal says 30
      BillAndPay(deal, inv, close + 5 * kDay, amount, false, false, /*due_days=*/60);
      Plant(t.id, ExceptionKind::kTermsMismatch, inv, amount);
    } else {
      BillAndPay(deal, inv, close + Uniform(1, t.invoice_window_days - 2) * kDay, amount,
                 roll % 3 != 0, false, 30, unreferenced_invoice);
    }
  }

  // Documents of the ERP and billing systems that match no deal.
  void Orphans(const TenantProfile& t) {
    const std::string currency = t.id == "acme" ? "USD" : "EUR";
    for (int k = 1; k <= 2; ++k) {
      const int64_t amount = int64_t{Uniform(10, 500)} * 10'000;
      v1::Event o;
      v1::Order& order = *o.mutable_order();
      order.set_tenant_id(t.id);
      order.set_order_id("SO-EDI-" + std::to_string(k));
      order.set_deal_id("D-PHONE-" + std::to_string(k));  // a deal the CRM never saw
      order.set_customer_id("C-" + std::to_string(Uniform(1, 40)));
      order.set_amount_minor(amount);
      order.set_currency(currency);
      *order.mutable_event_time() = Ts(Day(Uniform(10, 60)));
      Emit(std::move(o));
      Plant(t.id, ExceptionKind::kOrphanOrder, order.order_id(), amount);

      v1::Event i;
      v1::Invoice& inv = *i.mutable_invoice();
      inv.set_tenant_id(t.id);
      inv.set_invoice_id("INV-MANUAL-" + std::to_string(k));
      inv.set_customer_id("C-UNKNOWN-" + std::to_string(k));  // no deal to fuzzy-match
      inv.set_amount_minor(amount + 1234);
      inv.set_currency(currency);
      const EventTime issue = Day(Uniform(10, 20));
      *inv.mutable_issue_time() = Ts(issue);
      *inv.mutable_due_time() = Ts(issue + 30 * kDay);
      *inv.mutable_event_time() = Ts(issue);
      Emit(std::move(i));
      Plant(t.id, ExceptionKind::kOrphanInvoice, inv.invoice_id(), inv.amount_minor());
    }
  }

  // Invoices on `issue` and pays within terms, as long as that is in the past.
  void BillAndPay(const v1::Deal& deal, const std::string& inv, EventTime issue, int64_t amount,
                  bool retry_once, bool by_deal = false, int due_days = 30,
                  bool unreferenced = false) {
    if (issue > today_) return;
    Invoice(deal, inv, issue, amount, by_deal, due_days, unreferenced);
    const EventTime paid = issue + Uniform(5, 25) * kDay;
    if (paid > today_) return;
    if (retry_once) Payment(deal, inv, inv + "-P0", paid - kDay, amount, v1::Payment::FAILED);
    Payment(deal, inv, inv + "-P1", paid, amount, v1::Payment::SUCCEEDED);
  }

  void Order(const v1::Deal& deal, EventTime at) {
    if (at > today_) return;
    v1::Event e;
    v1::Order& o = *e.mutable_order();
    o.set_tenant_id(deal.tenant_id());
    o.set_order_id("SO-" + deal.deal_id());
    o.set_deal_id(deal.deal_id());
    o.set_customer_id(deal.customer_id());
    o.set_amount_minor(deal.amount_minor());
    o.set_currency(deal.currency());
    o.set_status(v1::Order::OPEN);
    *o.mutable_event_time() = Ts(at);
    Emit(std::move(e));
  }

  void Invoice(const v1::Deal& deal, const std::string& id, EventTime issue, int64_t amount,
               bool by_deal = false, int due_days = 30, bool unreferenced = false) {
    v1::Event e;
    v1::Invoice& i = *e.mutable_invoice();
    i.set_tenant_id(deal.tenant_id());
    i.set_invoice_id(id);
    // Some invoices reference the deal, others only its order, a few nothing.
    if (unreferenced) {
    } else if (by_deal || id.back() % 2 == 0) {
      i.set_deal_id(deal.deal_id());
    } else {
      i.set_order_id("SO-" + deal.deal_id());
    }
    i.set_customer_id(deal.customer_id());
    i.set_amount_minor(amount);
    i.set_currency(deal.currency());
    i.set_kind(v1::Invoice::INVOICE);
    i.set_status(v1::Invoice::ISSUED);
    *i.mutable_issue_time() = Ts(issue);
    *i.mutable_due_time() = Ts(issue + due_days * kDay);
    *i.mutable_event_time() = Ts(issue);
    Emit(std::move(e));
  }

  void Payment(const v1::Deal& deal, const std::string& inv, const std::string& id, EventTime at,
               int64_t amount, v1::Payment::Status status) {
    v1::Event e;
    v1::Payment& p = *e.mutable_payment();
    p.set_tenant_id(deal.tenant_id());
    p.set_payment_id(id);
    p.set_invoice_id(inv);
    p.set_customer_id(deal.customer_id());
    p.set_amount_minor(amount);
    p.set_currency(deal.currency());
    p.set_status(status);
    *p.mutable_event_time() = Ts(at);
    Emit(std::move(e));
  }

  void BadRecords() {
    const BadRecord all[] = {
        {"deals", "{\"this is\": not a deal}", "malformed_json"},
        {"invoices",
         R"({"tenant_id":"acme","invoice_id":"BAD-1","amount_minor":-500,"currency":"USD","issue_time":"2026-01-01T00:00:00Z"})",
         "negative_amount"},
        {"payments",
         R"({"tenant_id":"acme","payment_id":"BAD-2","invoice_id":"X","amount_minor":100,"currency":"usd","event_time":"2026-01-01T00:00:00Z"})",
         "bad_currency"},
        {"orders",
         R"({"tenant_id":"acme","order_id":"BAD-3","status":"SHIPPED","event_time":"2026-01-01T00:00:00Z"})",
         "unknown_enum"},
        {"deals", R"({"tenant_id":"acme","stage":"Closed Won"})", "missing_field"},
        {"invoices",
         R"({"tenant_id":"acme","invoice_id":"BAD-4","amount_minor":100,"currency":"USD","issue_time":"yesterday"})",
         "unparseable_time"},
    };
    for (int i = 0; i < options_.bad_records; ++i)
      out_.bad_records.push_back(all[i % std::size(all)]);
  }

  void Emit(v1::Event e) { out_.events.push_back(std::move(e)); }
  void Plant(const std::string& tenant, ExceptionKind kind, const std::string& subject,
             int64_t amount) {
    out_.planted.push_back({tenant, kind, subject, amount});
  }

  static constexpr const char* kCustomers[] = {
      "Acme Corp",        "Initech",           "Umbrella Ltd",     "Hooli",
      "Stark Industries", "Wayne Enterprises", "Wonka Foods",      "Soylent",
      "Cyberdyne",        "Tyrell Corp",       "Vandelay Imports", "Globo Gym"};

  SampleOptions options_;
  std::mt19937 rng_;
  EventTime today_ = std::chrono::floor<std::chrono::days>(options_.now);
  SampleCompany out_;
};

}  // namespace

SampleCompany GenerateSampleCompany(const SampleOptions& options) {
  return Generator(options).Run();
}

matcher::TenantDirectory SampleTenants(const SampleCompany& company) {
  auto loaded = LoadConfigText(company.tenants_yaml, "sample-company");
  // The generator's own YAML; a config error here is a bug in the generator.
  const Config& config = std::get<Config>(loaded);
  return {config.defaults, config.tenants};
}

const std::string& SubjectOf(const v1::ExceptionRecord& r) {
  switch (r.kind()) {
    case v1::ExceptionRecord::UNPAID:
    case v1::ExceptionRecord::TERMS_MISMATCH:
    case v1::ExceptionRecord::ORPHAN_INVOICE:
      return r.invoice_id();
    case v1::ExceptionRecord::ORPHAN_ORDER:
      return r.order_id();
    default:
      return r.deal_id();
  }
}

const google::protobuf::Message* PayloadOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kDeal:
      return &event.deal();
    case v1::Event::kOrder:
      return &event.order();
    case v1::Event::kInvoice:
      return &event.invoice();
    case v1::Event::kPayment:
      return &event.payment();
    default:
      return nullptr;
  }
}

std::string TopicKindOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kDeal:
      return "deals";
    case v1::Event::kOrder:
      return "orders";
    case v1::Event::kInvoice:
      return "invoices";
    case v1::Event::kPayment:
      return "payments";
    default:
      return "";
  }
}

std::string KeyOf(const v1::Event& e) {
  switch (e.payload_case()) {
    case v1::Event::kDeal:
      return e.deal().tenant_id() + ":" + e.deal().deal_id();
    case v1::Event::kOrder:
      return e.order().tenant_id() + ":" + e.order().order_id();
    case v1::Event::kInvoice:
      return e.invoice().tenant_id() + ":" + e.invoice().invoice_id();
    case v1::Event::kPayment:
      return e.payment().tenant_id() + ":" + e.payment().payment_id();
    default:
      return "";
  }
}

}  // namespace closeloop::app
