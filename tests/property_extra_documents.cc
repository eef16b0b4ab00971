// ExtraDocuments (property_documents.h): one block per case, in both tenants.
#include <random>
#include <string>

#include "tests/property_documents.h"

namespace closeloop::property {

using matcher::Document;
using matcher::EventTime;
using matcher::kDay;

std::vector<Document> ExtraDocuments(uint32_t seed) {
  std::mt19937 rng(seed * 7919u + 17u);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const EventTime today = std::chrono::floor<std::chrono::days>(kNow);
  std::vector<Document> docs;
  struct TenantWords {
    std::string id, currency, won;
    int invoice_window_days;
  };
  const TenantWords tenants[] = {{"acme", "USD", "Closed Won", 30},
                                 {"globex", "EUR", "Signed", 14}};
  for (const TenantWords& t : tenants) {
    const matcher::Duration d = kDay;  // shorthand
    auto deal = [&](const std::string& id, const std::string& customer, int64_t amount,
                    EventTime close) {
      matcher::Deal x;
      x.tenant = {t.id};
      x.id = {id};
      x.stage = t.won;
      x.amount_minor = amount;
      x.currency = t.currency;
      x.customer = {customer};
      x.customer_name = "Customer " + customer;
      x.owner = "rep@" + t.id + ".example";
      x.close_time = close;
      x.event_time = close;
      x.payment_terms_days = 30;
      x.po_number = "PO-" + id;
      return x;
    };
    auto order = [&](const std::string& id, const std::string& deal_id, const std::string& customer,
                     int64_t amount, EventTime at) {
      matcher::Order o;
      o.tenant = {t.id};
      o.id = {id};
      o.deal = {deal_id};
      o.customer = {customer};
      o.amount_minor = amount;
      o.currency = t.currency;
      o.event_time = at;
      return o;
    };
    auto invoice = [&](const std::string& id, const std::string& deal_id,
                       const std::string& order_id, const std::string& customer, int64_t amount,
                       EventTime issue, int due_days = 30) {
      matcher::Invoice i;
      i.tenant = {t.id};
      i.id = {id};
      i.deal = {deal_id};
      i.order = {order_id};
      i.customer = {customer};
      i.amount_minor = amount;
      i.currency = t.currency;
      i.issue_time = issue;
      i.due_time = issue + due_days * kDay;
      i.event_time = issue;
      return i;
    };
    auto payment = [&](const std::string& id, const std::string& invoice_id, int64_t amount,
                       EventTime at,
                       matcher::Payment::Status status = matcher::Payment::Status::kSucceeded,
                       const std::string& currency = "") {
      matcher::Payment p;
      p.tenant = {t.id};
      p.id = {id};
      p.invoice = {invoice_id};
      p.amount_minor = amount;
      p.currency = currency.empty() ? t.currency : currency;
      p.status = status;
      p.event_time = at;
      return p;
    };
    auto close_at = [&](int lo, int hi) {
      return today - uniform(lo, hi) * d + std::chrono::hours(uniform(8, 17));
    };
    auto amount = [&] { return int64_t{uniform(20, 400)} * 10'000; };
    const matcher::Duration window = t.invoice_window_days * d;

    {  // Recurring plan, only the first period billed: UNDER_BILLED growing.
      const EventTime close = close_at(95, 125);
      matcher::Deal x = deal("X-REC", "C-X-REC", 4 * amount(), close);
      x.billing_plan.kind = matcher::BillingPlan::Kind::kRecurring;
      x.billing_plan.period_days = 30;
      x.billing_plan.periods = 4;
      docs.push_back(x);
      docs.push_back(order("SO-X-REC", "X-REC", "C-X-REC", x.amount_minor, close + d));
      docs.push_back(
          invoice("X-REC-I1", "X-REC", "", "C-X-REC", x.amount_minor / 4, close + 3 * d));
      docs.push_back(payment("X-REC-P1", "X-REC-I1", x.amount_minor / 4, close + 20 * d));
    }
    {  // Milestones, nothing billed at the first deadline, then part of it:
       // MISSING_INVOICE superseded by UNDER_BILLED, then more due.
      const EventTime close = close_at(70, 100);
      const int64_t a = amount();
      matcher::Deal x = deal("X-MS", "C-X-MS", 3 * a, close);
      x.billing_plan.kind = matcher::BillingPlan::Kind::kMilestones;
      for (int k = 0; k < 3; ++k)
        x.billing_plan.milestones.push_back({close + (5 + 20 * k) * d, a});
      docs.push_back(x);
      docs.push_back(order("SO-X-MS", "X-MS", "C-X-MS", 3 * a, close + d));
      docs.push_back(invoice("X-MS-I1", "", "SO-X-MS", "C-X-MS", a / 2, close + 15 * d));
    }
    {  // One-time deal billed late and short: MISSING_INVOICE, then UNDER_BILLED.
      const EventTime close = close_at(60, 90);
      const matcher::Deal x = deal("X-LATEBILL", "C-X-LB", amount(), close);
      docs.push_back(x);
      docs.push_back(order("SO-X-LATEBILL", "X-LATEBILL", "C-X-LB", x.amount_minor, close + d));
      docs.push_back(invoice("X-LATEBILL-I1", "X-LATEBILL", "", "C-X-LB", x.amount_minor / 2,
                             close + window + 4 * d));
    }
    {  // Deal grown after billing: UNDER_BILLED from the deadline on.
      const EventTime close = close_at(60, 90);
      matcher::Deal x = deal("X-GROW", "C-X-GROW", amount(), close);
      docs.push_back(x);
      docs.push_back(order("SO-X-GROW", "X-GROW", "C-X-GROW", x.amount_minor, close + d));
      docs.push_back(invoice("X-GROW-I1", "X-GROW", "", "C-X-GROW", x.amount_minor, close + 5 * d));
      docs.push_back(payment("X-GROW-P1", "X-GROW-I1", x.amount_minor, close + 9 * d));
      x.amount_minor = x.amount_minor * 3 / 2;
      x.event_time = close + 5 * d;  // at the invoice's very time (a tie across sources)
      docs.push_back(x);
    }
    {  // Deal cut after billing: OVER_BILLED, then a credit memo recovers it.
      const EventTime close = close_at(60, 90);
      matcher::Deal x = deal("X-SHRINK", "C-X-SH", amount(), close);
      const int64_t billed = x.amount_minor;
      docs.push_back(x);
      docs.push_back(order("SO-X-SHRINK", "X-SHRINK", "C-X-SH", billed, close + d));
      docs.push_back(invoice("X-SHRINK-I1", "", "SO-X-SHRINK", "C-X-SH", billed, close + 2 * d));
      x.amount_minor = billed / 2;
      x.event_time = close + 8 * d;
      docs.push_back(x);
      matcher::Invoice memo = invoice("X-SHRINK-CM", "X-SHRINK", "", "C-X-SH",
                                      billed - x.amount_minor, close + (15 + uniform(0, 30)) * d);
      memo.kind = matcher::Invoice::Kind::kCreditMemo;
      docs.push_back(memo);
    }
    {  // A credit memo shared by two invoices in order of due date (one names
       // the deal, one its order), paid in part at random times: UNPAID net
       // of the credit, updated or withdrawn as payments and credit arrive.
      const EventTime close = close_at(90, 120);
      const int64_t a = amount();
      docs.push_back(deal("X-CREDIT", "C-X-CR", 2 * a, close));
      docs.push_back(order("SO-X-CREDIT", "X-CREDIT", "C-X-CR", 2 * a, close + d));
      docs.push_back(invoice("X-CREDIT-I2", "", "SO-X-CREDIT", "C-X-CR", a, close + 2 * d, 45));
      docs.push_back(invoice("X-CREDIT-I1", "X-CREDIT", "", "C-X-CR", a, close + 3 * d, 20));
      matcher::Invoice memo =
          invoice("X-CREDIT-CM", "X-CREDIT", "", "C-X-CR", a / 2, close + uniform(5, 60) * d);
      memo.kind = matcher::Invoice::Kind::kCreditMemo;
      docs.push_back(memo);
      docs.push_back(payment("X-CREDIT-P1", "X-CREDIT-I1", a * 3 / 4, close + uniform(10, 70) * d));
      docs.push_back(payment("X-CREDIT-P2", "X-CREDIT-I2", a / 2, close + uniform(10, 70) * d));
    }
    {  // Won, never billed, lost after the deadline fired: MISSING_INVOICE withdrawn.
      const EventTime close = close_at(50, 80);
      matcher::Deal x = deal("X-LOST", "C-X-LOST", amount(), close);
      docs.push_back(x);
      docs.push_back(order("SO-X-LOST", "X-LOST", "C-X-LOST", x.amount_minor, close + d));
      x.stage = "Closed Lost";
      x.event_time = close + window + uniform(2, 12) * d;
      docs.push_back(x);
    }
    {  // Order cancelled: MISSING_ORDER (acme requires orders); an order naming
       // a deal the CRM never had, cancelled after it was an orphan.
      const EventTime close = close_at(40, 70);
      const matcher::Deal x = deal("X-CANC", "C-X-CANC", amount(), close);
      docs.push_back(x);
      matcher::Order o = order("SO-X-CANC", "X-CANC", "C-X-CANC", x.amount_minor, close + d);
      docs.push_back(o);
      o.status = matcher::Order::Status::kCancelled;
      o.event_time = close + 2 * d;
      docs.push_back(o);
      docs.push_back(invoice("X-CANC-I1", "X-CANC", "", "C-X-CANC", x.amount_minor, close + 6 * d));
      matcher::Order orphan = order("SO-X-NODEAL", "X-NEVER", "C-X-CANC", amount(), close + 2 * d);
      docs.push_back(orphan);
      orphan.status = matcher::Order::Status::kCancelled;
      orphan.event_time = close + (10 + uniform(0, 20)) * d;
      docs.push_back(orphan);
    }
    {  // An invoice on other terms voided and re-issued: TERMS_MISMATCH
       // withdrawn; one in another currency stays.
      const EventTime close = close_at(70, 110);
      const matcher::Deal x = deal("X-VOID", "C-X-VOID", amount(), close);
      docs.push_back(x);
      docs.push_back(order("SO-X-VOID", "X-VOID", "C-X-VOID", x.amount_minor, close + d));
      matcher::Invoice i1 =
          invoice("X-VOID-I1", "", "SO-X-VOID", "C-X-VOID", x.amount_minor, close + 3 * d, 60);
      docs.push_back(i1);
      i1.status = matcher::Invoice::Status::kVoid;
      i1.event_time = close + (6 + uniform(0, 10)) * d;
      docs.push_back(i1);
      docs.push_back(
          invoice("X-VOID-I2", "X-VOID", "", "C-X-VOID", x.amount_minor, i1.event_time + d));
      docs.push_back(payment("X-VOID-P2", "X-VOID-I2", x.amount_minor, i1.event_time + 20 * d));
      matcher::Invoice fx = invoice("X-VOID-FX", "X-VOID", "", "C-X-VOID", 10'000, close + 4 * d);
      fx.currency = "GBP";
      docs.push_back(fx);
      docs.push_back(payment("X-VOID-FXP", "X-VOID-FX", 10'000, close + 10 * d,
                             matcher::Payment::Status::kSucceeded, "GBP"));
    }
    {  // Billed and paid in full on the face of it, and not at the deadlines
       // (the quiet-until bounds must not skip them): an invoice naming only
       // an order the ERP sends after the billing deadline (MISSING_INVOICE,
       // recovered by the order), its payment in full corrected lower before
       // the invoice is due (UNPAID for the rest); a deal billed in full in
       // another currency (MISSING_INVOICE); an invoice in full corrected
       // lower before the billing deadline (UNDER_BILLED); an invoice in full
       // issued days after the deadline (MISSING_INVOICE, recovered); an
       // invoice in full naming an order that moves to another deal before
       // the deadline (MISSING_INVOICE on the first).
      const EventTime close = close_at(80, 110);
      const matcher::Deal x = deal("X-LATEORD", "C-X-LO", amount(), close);
      const int64_t a = x.amount_minor;
      docs.push_back(x);
      docs.push_back(invoice("X-LATEORD-I1", "", "SO-X-LATEORD", "C-X-LO", a, close + 3 * d));
      docs.push_back(order("SO-X-LATEORD", "X-LATEORD", "C-X-LO", a,
                           close + window + (2 + uniform(0, 3)) * d));
      matcher::Payment paid = payment("X-LATEORD-P1", "X-LATEORD-I1", a, close + 10 * d);
      docs.push_back(paid);
      paid.amount_minor = a / 2;
      paid.event_time = close + (12 + uniform(0, 5)) * d;
      docs.push_back(paid);
      const matcher::Deal y = deal("X-OTHERCUR", "C-X-OC", amount(), close);
      docs.push_back(y);
      docs.push_back(order("SO-X-OTHERCUR", "X-OTHERCUR", "C-X-OC", y.amount_minor, close + d));
      matcher::Invoice other =
          invoice("X-OTHERCUR-I1", "X-OTHERCUR", "", "C-X-OC", y.amount_minor, close + 3 * d);
      other.currency = "GBP";
      docs.push_back(other);
      const matcher::Deal z = deal("X-LOWERED", "C-X-LW", amount(), close);
      docs.push_back(z);
      docs.push_back(order("SO-X-LOWERED", "X-LOWERED", "C-X-LW", z.amount_minor, close + d));
      matcher::Invoice lowered =
          invoice("X-LOWERED-I1", "X-LOWERED", "", "C-X-LW", z.amount_minor, close + 3 * d);
      docs.push_back(lowered);
      lowered.amount_minor = z.amount_minor / 2;
      lowered.event_time = close + (5 + uniform(0, 10)) * d;
      docs.push_back(lowered);
      const matcher::Deal late = deal("X-LATEINV", "C-X-LI", amount(), close);
      docs.push_back(late);
      docs.push_back(order("SO-X-LATEINV", "X-LATEINV", "C-X-LI", late.amount_minor, close + d));
      docs.push_back(invoice("X-LATEINV-I1", "X-LATEINV", "", "C-X-LI", late.amount_minor,
                             close + window + (1 + uniform(0, 4)) * d));
      const int64_t r = amount();
      docs.push_back(deal("X-RELINK", "C-X-RL", r, close));
      docs.push_back(deal("X-RELINK2", "C-X-RL", r, close + d));
      matcher::Order moved = order("SO-X-RELINK", "X-RELINK", "C-X-RL", r, close + d);
      docs.push_back(moved);
      docs.push_back(invoice("X-RELINK-I1", "", "SO-X-RELINK", "C-X-RL", r, close + 3 * d));
      moved.deal = {"X-RELINK2"};
      moved.event_time = close + (5 + uniform(0, 5)) * d;
      docs.push_back(moved);
    }
    {  // Paid in full on the face of it before the due date, and not (the
       // UNPAID bound must not skip them): a refund of its own after a
       // payment in full, a payment in full in another currency, an invoice
       // whose currency is corrected after it was paid in the first, and one
       // paid, voided and issued again for more.
      const EventTime close = close_at(80, 110);
      const int64_t a = amount();
      docs.push_back(deal("X-REFUND", "C-X-RF", a, close));
      docs.push_back(invoice("X-REFUND-I1", "X-REFUND", "", "C-X-RF", a, close + 3 * d));
      docs.push_back(payment("X-REFUND-P1", "X-REFUND-I1", a, close + 10 * d));
      docs.push_back(payment("X-REFUND-R1", "X-REFUND-I1", a / 2, close + (12 + uniform(0, 5)) * d,
                             matcher::Payment::Status::kRefunded));
      docs.push_back(deal("X-FXPAID", "C-X-FP", a, close));
      docs.push_back(invoice("X-FXPAID-I1", "X-FXPAID", "", "C-X-FP", a, close + 3 * d));
      docs.push_back(payment("X-FXPAID-P1", "X-FXPAID-I1", a, close + 10 * d,
                             matcher::Payment::Status::kSucceeded, "GBP"));
      docs.push_back(deal("X-CURFIX", "C-X-CF", a, close));
      matcher::Invoice fixed = invoice("X-CURFIX-I1", "X-CURFIX", "", "C-X-CF", a, close + 3 * d);
      docs.push_back(fixed);
      docs.push_back(payment("X-CURFIX-P1", "X-CURFIX-I1", a, close + 5 * d));
      fixed.currency = "GBP";
      fixed.event_time = close + (7 + uniform(0, 5)) * d;
      docs.push_back(fixed);
      docs.push_back(deal("X-REISSUED", "C-X-RI", 2 * a, close));
      matcher::Invoice again =
          invoice("X-REISSUED-I1", "X-REISSUED", "", "C-X-RI", a, close + 3 * d);
      docs.push_back(again);
      docs.push_back(payment("X-REISSUED-P1", "X-REISSUED-I1", a, close + 5 * d));
      again.status = matcher::Invoice::Status::kVoid;
      again.event_time = close + 7 * d;
      docs.push_back(again);
      again.status = matcher::Invoice::Status::kIssued;
      again.amount_minor = 2 * a;
      again.event_time = close + (9 + uniform(0, 3)) * d;
      docs.push_back(again);
    }
    {  // Payments: partial, failed then retried after the grace (UNPAID
       // recovered), one refunded later (UNPAID again), a refund of its own.
      const EventTime close = close_at(110, 140);
      const matcher::Deal x = deal("X-PAY", "C-X-PAY", amount(), close);
      const int64_t a = x.amount_minor;
      docs.push_back(x);
      docs.push_back(order("SO-X-PAY", "X-PAY", "C-X-PAY", a, close + d));
      docs.push_back(invoice("X-PAY-I1", "X-PAY", "", "C-X-PAY", a, close + 3 * d));
      matcher::Payment p1 = payment("X-PAY-P1", "X-PAY-I1", a / 2, close + 10 * d);
      docs.push_back(p1);
      matcher::Payment p2 = payment("X-PAY-P2", "X-PAY-I1", a - a / 2, close + 20 * d,
                                    matcher::Payment::Status::kFailed);
      docs.push_back(p2);
      p2.status = matcher::Payment::Status::kSucceeded;
      p2.event_time = close + (40 + uniform(0, 5)) * d;
      docs.push_back(p2);
      p1.status = matcher::Payment::Status::kRefunded;
      p1.event_time = close + (55 + uniform(0, 10)) * d;
      docs.push_back(p1);
      docs.push_back(payment("X-PAY-R1", "X-PAY-I1", a / 10, close + 80 * d,
                             matcher::Payment::Status::kRefunded));
    }
    {  // A payment booked on the wrong invoice and moved to the right one.
      const EventTime close = close_at(90, 120);
      const matcher::Deal x = deal("X-MOVE", "C-X-MOVE", amount(), close);
      const int64_t a1 = x.amount_minor / 2, a2 = x.amount_minor - a1;
      docs.push_back(x);
      docs.push_back(order("SO-X-MOVE", "X-MOVE", "C-X-MOVE", x.amount_minor, close + d));
      docs.push_back(invoice("X-MOVE-I1", "X-MOVE", "", "C-X-MOVE", a1, close + 3 * d));
      docs.push_back(invoice("X-MOVE-I2", "", "SO-X-MOVE", "C-X-MOVE", a2, close + 3 * d));
      matcher::Payment p = payment("X-MOVE-P", "X-MOVE-I1", a2, close + 10 * d);
      docs.push_back(p);
      p.invoice = {"X-MOVE-I2"};
      p.event_time = close + (45 + uniform(0, 10)) * d;
      docs.push_back(p);
      docs.push_back(payment("X-MOVE-P1", "X-MOVE-I1", a1, close + 60 * d));
    }
    {  // Fuzzy links: an invoice and an order without references for a customer
       // with two matching deals (no link), and an order for a customer with one.
      const EventTime close = close_at(60, 90);
      const int64_t a = amount();
      docs.push_back(deal("X-TW1", "C-X-TWIN", a, close));
      docs.push_back(deal("X-TW2", "C-X-TWIN", a, close + std::chrono::hours(1)));
      docs.push_back(invoice("X-TW-I", "", "", "C-X-TWIN", a, close + 5 * d));
      docs.push_back(order("SO-X-TW", "", "C-X-TWIN", a, close + 2 * d));
      const matcher::Deal one = deal("X-FO", "C-X-FO", amount(), close + d);
      docs.push_back(one);
      docs.push_back(order("SO-X-FO", "", "C-X-FO", one.amount_minor, close + 2 * d));
      docs.push_back(invoice("X-FO-I1", "", "SO-X-FO", "C-X-FO", one.amount_minor, close + 6 * d));
      const matcher::Deal solo = deal("X-FI", "C-X-FI", amount(), close);
      docs.push_back(solo);
      docs.push_back(order("SO-X-FI", "X-FI", "C-X-FI", solo.amount_minor, close + d));
      docs.push_back(invoice("X-FI-I1", "", "", "C-X-FI", solo.amount_minor, close + 4 * d));
      matcher::Deal grown = solo;  // grown after the link was made: it stays
      grown.amount_minor = solo.amount_minor * 2;
      grown.event_time = close + (10 + uniform(0, 30)) * d;
      docs.push_back(grown);
      // An order and, days later but before the billing deadline, an invoice
      // without references for a customer with one deal: both link to it,
      // however far one watermark step goes.
      const matcher::Deal both = deal("X-FB", "C-X-FB", amount(), close);
      docs.push_back(both);
      docs.push_back(order("SO-X-FB", "", "C-X-FB", both.amount_minor, close + d));
      docs.push_back(invoice("X-FB-I1", "", "", "C-X-FB", both.amount_minor, close + 10 * d));
    }
    {  // Sent without close_time, in negotiation, then won: dated by the win,
       // which its re-sends and a later version keep (MISSING_ORDER where
       // orders are required, recovered by a late order).
      const EventTime won = close_at(60, 90);
      matcher::Deal x = deal("X-UNDATED", "C-X-UND", amount(), won - 5 * d);
      x.close_time_inferred = true;
      x.stage = "Negotiation";
      docs.push_back(x);
      x.stage = t.won;
      x.event_time = x.close_time = won;
      docs.push_back(x);
      x.po_number = "PO-X-UNDATED-2";
      x.event_time = x.close_time = won + uniform(1, 20) * d;
      docs.push_back(x);
      docs.push_back(
          order("SO-X-UND", "X-UNDATED", "C-X-UND", x.amount_minor, won + uniform(5, 10) * d));
      docs.push_back(invoice("X-UND-I1", "X-UNDATED", "", "C-X-UND", x.amount_minor, won + 12 * d));
    }
    {  // Documents older than their deal's first version: the CRM entered the
       // deal days after its order and invoice (once within, once after the
       // orphan window).
      for (int k = 1; k <= 2; ++k) {
        const EventTime close = close_at(50, 80);
        const std::string id = "X-EARLY" + std::to_string(k);
        matcher::Deal x = deal(id, "C-" + id, amount(), close);
        x.event_time = close + (k == 1 ? 4 : 12) * d;
        docs.push_back(x);
        docs.push_back(order("SO-" + id, id, "C-" + id, x.amount_minor, close + d));
        docs.push_back(invoice(id + "-I1", id, "", "C-" + id, x.amount_minor, close + 2 * d));
      }
    }
    {  // Billed and ordered without references before the deal is marked won,
       // its close date a month back (its billing deadline passed before):
       // won within the orphan window, a second look links both; won after
       // it, neither.
      for (int k = 1; k <= 2; ++k) {
        const EventTime close = close_at(60, 90);
        const std::string id = "X-LATEWON" + std::to_string(k);
        matcher::Deal x = deal(id, "C-" + id, amount(), close);
        x.stage = "Negotiation";
        docs.push_back(x);
        docs.push_back(order("SO-" + id, "", "C-" + id, x.amount_minor, close + 31 * d));
        docs.push_back(invoice(id + "-I1", "", "", "C-" + id, x.amount_minor, close + 32 * d));
        x.stage = t.won;
        x.event_time = close + (k == 1 ? uniform(33, 37) : uniform(40, 45)) * d;
        docs.push_back(x);
      }
    }
    if (t.id == "acme") {  // Without a PO (acme requires one) until a later version.
      const EventTime close = close_at(30, 60);
      matcher::Deal x = deal("X-NOPO", "C-X-NOPO", amount(), close);
      x.po_number = "";
      docs.push_back(x);
      docs.push_back(order("SO-X-NOPO", "X-NOPO", "C-X-NOPO", x.amount_minor, close + d));
      x.po_number = "PO-LATE";
      x.event_time = close + (3 + uniform(0, 20)) * d;
      docs.push_back(x);
    }
  }
  return docs;
}

}  // namespace closeloop::property
