// The scenario parser: one line, one step. A malformed line stops the parse
// with "path:line: what is wrong".
#include "matcher/scenario.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "matcher/scenario_words.h"

namespace closeloop::matcher::scenario {
namespace {

using words::Args;
using words::Bool;
using words::Dur;
using words::Enum;
using words::Fail;
using words::Int;
using words::Kind;
using words::RatioPpm;
using words::Refusal;
using words::SplitList;
using words::Time;
using words::Token;
using words::Tokenize;

void ApplyRules(Args& a, TenantRules& r) {
  if (auto v = a.Take("closed_won_stages")) r.closed_won_stages = SplitList(*v);
  if (auto v = a.Take("lost_stages")) r.lost_stages = SplitList(*v);
  if (auto v = a.Take("order_window")) r.order_window = Dur("order_window", *v);
  if (auto v = a.Take("invoice_window")) r.invoice_window = Dur("invoice_window", *v);
  if (auto v = a.Take("milestone_grace")) r.milestone_grace = Dur("milestone_grace", *v);
  if (auto v = a.Take("payment_grace")) r.payment_grace = Dur("payment_grace", *v);
  if (auto v = a.Take("orphan_window")) r.orphan_window = Dur("orphan_window", *v);
  if (auto v = a.Take("require_order")) r.require_order = Bool("require_order", *v);
  if (auto v = a.Take("fuzzy_match")) r.fuzzy_match = Bool("fuzzy_match", *v);
  if (auto v = a.Take("tolerance_ratio")) r.tolerance_ppm = RatioPpm("tolerance_ratio", *v);
  if (auto v = a.Take("tolerance_absolute_minor")) {
    r.tolerance_absolute_minor = Int("tolerance_absolute_minor", *v);
  }
  if (auto v = a.Take("required_fields")) {
    r.required_fields = SplitList(*v);
    for (const std::string& f : r.required_fields) {
      Enum<int>("required_fields", f,
                {{"po_number", 0},
                 {"vat_id", 0},
                 {"billing_entity", 0},
                 {"customer_id", 0},
                 {"customer_name", 0},
                 {"owner", 0},
                 {"payment_terms_days", 0},
                 {"currency", 0}});
    }
  }
  if (auto v = a.Take("escalation_ages")) {
    r.escalation_ages.clear();
    for (const std::string& s : SplitList(*v))
      r.escalation_ages.push_back(Dur("escalation_ages", s));
  }
  auto severity = [](const std::string& v) {
    std::vector<int64_t> amounts;
    for (const std::string& s : SplitList(v)) amounts.push_back(Int("severity_amounts_minor", s));
    if (amounts.size() != 3) Fail("severity_amounts_minor: expected 3 amounts (from P1, P2, P3)");
    return amounts;
  };
  if (auto v = a.Take("severity_amounts_minor")) r.severity_amounts_minor = severity(*v);
  for (const auto& [currency, v] : a.TakeSuffixes("severity_amounts_minor")) {
    r.by_currency[currency].severity_amounts_minor = severity(v);
  }
  for (const auto& [currency, v] : a.TakeSuffixes("tolerance_absolute_minor")) {
    r.by_currency[currency].tolerance_absolute_minor = Int("tolerance_absolute_minor", v);
  }
  if (auto v = a.Take("default_payment_terms_days")) {
    r.default_payment_terms_days = static_cast<int32_t>(Int("default_payment_terms_days", *v));
  }
  for (const auto& [kind, route] : TenantRules::DefaultRouting()) {
    if (auto v = a.Take("team." + kind)) r.routing[kind].team = *v;
  }
  a.Done();
}

Deal ParseDeal(Args& a, const TenantId& tenant, const std::string& id) {
  Deal d;
  d.tenant = tenant;
  d.id = {id};
  d.stage = a.Take("stage", "Closed Won");
  d.amount_minor = Int("amount", a.Take("amount", "0"));
  d.currency = a.Take("currency", "USD");
  d.customer = {a.Take("customer", "C-1")};
  d.customer_name = a.Take("name", "");
  d.owner = a.Take("owner", "rep");
  const auto close = a.Take("close"), at = a.Take("at");
  if (!close && !at) Fail("a deal needs close= or at= (each defaults to the other)");
  d.close_time = Time("close", close.value_or(at.value_or("")));
  d.close_time_inferred = !close;  // as the CRM sends it: PutDeal dates it
  d.event_time = Time("at", at.value_or(close.value_or("")));
  if (auto v = a.Take("terms")) d.payment_terms_days = static_cast<int32_t>(Int("terms", *v));
  d.po_number = a.Take("po", "");
  d.vat_id = a.Take("vat", "");
  d.billing_entity = a.Take("entity", "");
  BillingPlan& plan = d.billing_plan;
  if (auto v = a.Take("milestones")) {
    plan.kind = BillingPlan::Kind::kMilestones;
    for (const std::string& m : SplitList(*v)) {
      const size_t colon = m.rfind(':');
      if (colon == std::string::npos) Fail("milestones: expected DATE:AMOUNT, got \"" + m + "\"");
      plan.milestones.push_back(
          {Time("milestones", m.substr(0, colon)), Int("milestones", m.substr(colon + 1))});
    }
  }
  if (auto v = a.Take("periods")) {
    plan.kind = BillingPlan::Kind::kRecurring;
    plan.periods = static_cast<int32_t>(Int("periods", *v));
    plan.period_days = static_cast<int32_t>(Int("period_days", a.Take("period_days", "30")));
  }
  return d;
}

Order ParseOrder(Args& a, const TenantId& tenant, const std::string& id) {
  Order o;
  o.tenant = tenant;
  o.id = {id};
  o.deal = {a.Take("deal", "")};
  o.customer = {a.Take("customer", "C-1")};
  o.amount_minor = Int("amount", a.Take("amount", "0"));
  o.currency = a.Take("currency", "USD");
  o.status = Enum<Order::Status>(
      "status", a.Take("status", "OPEN"),
      {{"OPEN", Order::Status::kOpen}, {"CANCELLED", Order::Status::kCancelled}});
  const auto at = a.Take("at");
  if (!at) Fail("an order needs at=");
  o.event_time = Time("at", *at);
  return o;
}

Invoice ParseInvoice(Args& a, const TenantId& tenant, const std::string& id) {
  Invoice i;
  i.tenant = tenant;
  i.id = {id};
  i.deal = {a.Take("deal", "")};
  i.order = {a.Take("order", "")};
  i.customer = {a.Take("customer", "C-1")};
  const auto amount = a.Take("amount");
  if (!amount) Fail("an invoice needs amount=");
  i.amount_minor = Int("amount", *amount);
  i.currency = a.Take("currency", "USD");
  i.kind = Enum<Invoice::Kind>(
      "kind", a.Take("kind", "INVOICE"),
      {{"INVOICE", Invoice::Kind::kInvoice}, {"CREDIT_MEMO", Invoice::Kind::kCreditMemo}});
  i.status = Enum<Invoice::Status>(
      "status", a.Take("status", "ISSUED"),
      {{"ISSUED", Invoice::Status::kIssued}, {"VOID", Invoice::Status::kVoid}});
  const auto issue = a.Take("issue"), at = a.Take("at");
  if (!issue && !at) Fail("an invoice needs issue= or at= (each defaults to the other)");
  i.issue_time = Time("issue", issue.value_or(at.value_or("")));
  i.event_time = Time("at", at.value_or(issue.value_or("")));
  if (auto v = a.Take("due")) i.due_time = Time("due", *v);
  if (auto v = a.Take("terms")) i.payment_terms_days = static_cast<int32_t>(Int("terms", *v));
  return i;
}

Payment ParsePayment(Args& a, const TenantId& tenant, const std::string& id) {
  Payment p;
  p.tenant = tenant;
  p.id = {id};
  const auto invoice = a.Take("invoice"), amount = a.Take("amount"), at = a.Take("at");
  if (!invoice || !amount || !at) Fail("a payment needs invoice=, amount= and at=");
  p.invoice = {*invoice};
  p.customer = {a.Take("customer", "C-1")};
  p.amount_minor = Int("amount", *amount);
  p.currency = a.Take("currency", "USD");
  p.status = Enum<Payment::Status>("status", a.Take("status", "SUCCEEDED"),
                                   {{"SUCCEEDED", Payment::Status::kSucceeded},
                                    {"FAILED", Payment::Status::kFailed},
                                    {"REFUNDED", Payment::Status::kRefunded}});
  p.event_time = Time("at", *at);
  return p;
}

CommandStep ParseCommand(Args& a, const TenantId& tenant, const std::string& action,
                         const std::string& exception_id) {
  CommandStep c;
  Command& m = c.command;
  m.tenant = tenant;
  m.exception_id = exception_id;
  m.action = Enum<Command::Action>("command", action,
                                   {{"ACK", Command::Action::kAck},
                                    {"SNOOZE", Command::Action::kSnooze},
                                    {"DISMISS", Command::Action::kDismiss}});
  const auto id = a.Take("id"), at = a.Take("at");
  if (!id || !at) Fail("a command needs id= and at=");
  m.id = *id;
  m.event_time = Time("at", *at);
  const auto until = a.Take("until");
  if ((m.action == Command::Action::kSnooze) != until.has_value()) {
    Fail("until= goes with SNOOZE, and only with it");
  }
  if (until) m.snooze_until = Time("until", *until);
  m.note = a.Take("note", "");
  m.actor = a.Take("by", "");
  if (auto v = a.Take("refused")) {
    using Why = CommandRejection::Why;  // by the names the DLQ gives them
    c.refused = Enum<Why>("refused", *v,
                          {{"unknown_exception", Why::kUnknownException},
                           {"exception_not_open", Why::kExceptionNotOpen},
                           {"replayed_command", Why::kReplayedCommand},
                           {"too_many_commands", Why::kTooManyCommands}});
  }
  return c;
}

WatermarkStep ParseWatermark(const std::vector<Token>& t) {
  if (t.size() != 3 || t[1].op != 0 || t[2].op != 0) {
    Fail("expected: watermark all|crm,erp,billing,payments TIME");
  }
  WatermarkStep w;
  for (const std::string& s : SplitList(t[1].key)) {
    w.sources |= s == "all" ? 0xFu
                            : Bit(Enum<Source>("watermark", s,
                                               {{"crm", Source::kCrm},
                                                {"erp", Source::kErp},
                                                {"billing", Source::kBilling},
                                                {"payments", Source::kPayments}}));
  }
  w.time = Time("watermark", t[2].key);
  return w;
}

bool IsTimeKey(const std::string& k) { return k == "at" || k == "deadline" || k == "opened"; }
bool IsIntKey(const std::string& k) {
  return k == "amount" || k == "recovered" || k == "age" || k == "sequence" || k == "loss";
}

ExpectStep ParseExpect(const std::vector<Token>& t) {
  ExpectStep e;
  if (t.size() == 2 && t[1].op == 0 && t[1].key == "nothing") {
    e.nothing = true;
    return e;
  }
  static const char* const kPositional[] = {"kind", "id", "state", "resolution"};
  size_t i = 1, pos = 0;
  for (; i < t.size() && t[i].op == 0; ++i, ++pos) {
    if (pos == 4) Fail("too many words before key=value: \"" + t[i].key + "\"");
    if (t[i].key == "*") continue;  // any value
    e.checks.push_back({kPositional[pos], false, t[i].key});
  }
  if (pos < 3) Fail("expected: expect KIND ID STATE [RESOLUTION] key=value..., or expect nothing");
  ExceptionRecord probe;  // only to validate keys against Field()
  for (; i < t.size(); ++i) {
    if (t[i].op == 0) Fail("key=value expected after the state, got \"" + t[i].key + "\"");
    if (!Field(probe, t[i].key) || t[i].key == "kind" || t[i].key == "id") {
      Fail("unknown attribute \"" + t[i].key + "\"");
    }
    e.checks.push_back({t[i].key, t[i].op == '~', t[i].value});
  }
  for (Check& c : e.checks) {
    if (c.substring && (IsTimeKey(c.key) || IsIntKey(c.key) || c.key == "confidence")) {
      Fail(c.key + "~ compares text only; use " + c.key + "=");
    }
    if (c.key == "kind") {
      Kind(c.value);
    } else if (IsTimeKey(c.key)) {
      c.value = FormatTime(Time(c.key, c.value));
    } else if (IsIntKey(c.key)) {
      c.value = std::to_string(Int(c.key, c.value));
    } else if (c.key == "confidence") {
      char* end = nullptr;
      probe.confidence = std::strtod(c.value.c_str(), &end);
      if (c.value.empty() || *end != '\0') Fail("confidence: expected a number");
      c.value = *Field(probe, "confidence");
    } else if (c.key == "state" || c.key == "resolution" || c.key == "severity") {
      static const std::map<std::string, std::vector<std::string>> kNames = {
          {"state", {"OPEN", "UPDATED", "ESCALATED", "RESOLVED", "ACKNOWLEDGED", "SNOOZED"}},
          {"resolution", {"NONE", "RECOVERED", "SUPERSEDED", "WITHDRAWN", "DISMISSED"}},
          {"severity", {"P1", "P2", "P3", "P4"}}};
      const auto& names = kNames.at(c.key);
      if (std::find(names.begin(), names.end(), c.value) == names.end()) {
        Fail("unknown " + c.key + " \"" + c.value + "\"");
      }
    }
  }
  return e;
}

FiguresStep ParseFigures(const std::vector<Token>& t) {
  if (t.size() < 4 || t[1].op != 0 || t[2].op != 0) {
    Fail("expected: figures TENANT DEAL key=value..., or figures TENANT DEAL none");
  }
  FiguresStep f{.tenant = {t[1].key}, .deal = {t[2].key}};
  if (t.size() == 4 && t[3].op == 0 && t[3].key == "none") {
    f.none = true;
    return f;
  }
  const DealFigures probe;  // only to validate keys against FiguresField()
  for (size_t i = 3; i < t.size(); ++i) {
    if (t[i].op != '=') Fail("figures: key=value expected, got \"" + t[i].key + "\"");
    const std::string& k = t[i].key;
    if (!FiguresField(probe, k)) Fail("unknown figures attribute \"" + k + "\"");
    std::string v = t[i].value;
    if (k == "booked") {
      v = Bool(k, v) ? "true" : "false";
    } else if (k == "booked_amount" || k == "billed" || k == "collected") {
      v = std::to_string(Int(k, v));
    } else if ((k == "closed" || k == "first_billed" || k == "first_collected") && v != "none") {
      v = FormatTime(Time(k, v));
    }
    f.checks.push_back({k, false, v});
  }
  return f;
}

}  // namespace

ParseResult Parse(const std::string& path, const std::string& text) {
  ParseResult result;
  Scenario& s = result.scenario;
  s.path = path;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool header = true;    // still in the leading comment block
  bool started = false;  // a document or watermark was seen: settings are closed
  try {
    while (std::getline(in, line)) {
      ++number;
      const size_t b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos) continue;
      if (line[b] == '#') {
        if (!header) continue;
        const size_t from = line.find_first_not_of("# ", b);
        std::string c = from == std::string::npos ? "" : line.substr(from);
        while (!c.empty() && std::isspace(static_cast<unsigned char>(c.back()))) c.pop_back();
        if (c.rfind("KNOWN-BUG:", 0) == 0) {
          s.known_bug = c.size() > 10 ? c.substr(c.find_first_not_of(' ', 10)) : "";
          if (s.known_bug.empty()) Fail("KNOWN-BUG: needs a sentence saying what is wrong");
        } else if (s.purpose.empty()) {
          s.purpose = c;
        }
        continue;
      }
      header = false;
      const std::vector<Token> t = Tokenize(line);
      const std::string& verb = t[0].key;
      auto want_args = [&](size_t n) {
        for (size_t i = 1; i <= n; ++i) {
          if (i >= t.size() || t[i].op != 0) Fail(verb + ": too few words before key=value");
        }
        return Args(t, n + 1);
      };
      auto settings_only = [&] {
        if (started) Fail(verb + " must come before the first document or watermark");
      };
      Step step{.line = number, .text = line.substr(b)};
      if (t[0].op != 0) Fail("a line starts with a word, got \"" + verb + "=\"");
      if (verb == "ignore") {
        settings_only();
        for (size_t i = 1; i < t.size(); ++i) {
          for (const std::string& k : SplitList(t[i].key)) s.ignored.insert(Kind(k));
        }
        continue;
      } else if (verb == "defaults") {
        settings_only();
        Args a = want_args(0);
        ApplyRules(a, s.tenants.defaults);
        continue;
      } else if (verb == "tenant") {
        settings_only();
        Args a = want_args(1);
        TenantRules rules = s.tenants.defaults;
        ApplyRules(a, rules);
        s.tenants.tenants[t[1].key] = rules;
        continue;
      } else if (verb == "deal" || verb == "order" || verb == "invoice" || verb == "payment") {
        started = true;
        Args a = want_args(2);
        const TenantId tenant{t[1].key};
        if (verb == "deal") step.what = ParseDeal(a, tenant, t[2].key);
        if (verb == "order") step.what = ParseOrder(a, tenant, t[2].key);
        if (verb == "invoice") step.what = ParseInvoice(a, tenant, t[2].key);
        if (verb == "payment") step.what = ParsePayment(a, tenant, t[2].key);
        a.Done();
      } else if (verb == "command") {
        started = true;
        Args a = want_args(3);
        step.what = ParseCommand(a, {t[1].key}, t[2].key, t[3].key);
        a.Done();
      } else if (verb == "watermark") {
        started = true;
        step.what = ParseWatermark(t);
      } else if (verb == "expect") {
        step.what = ParseExpect(t);
      } else if (verb == "figures") {
        step.what = ParseFigures(t);
      } else {
        Fail("unknown line \"" + verb +
             "\"; expected ignore, defaults, tenant, deal, order, invoice, payment, command, "
             "watermark, expect or figures");
      }
      s.steps.push_back(std::move(step));
    }
    if (s.purpose.empty()) Fail("the file should open with a comment saying what it proves");
  } catch (const Refusal& r) {
    result.error = path + ":" + std::to_string(number) + ": " + r.message;
  }
  return result;
}

ParseResult ParseFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {.error = path + ": cannot be read"};
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(path, text.str());
}

}  // namespace closeloop::matcher::scenario
