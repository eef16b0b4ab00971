// Test helpers for ingest/: valid sample documents and the wire forms of a
// message. Test-only; not part of closeloop_ingest.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>

#include "closeloop/v1/internal.pb.h"
#include "ingest/decode.h"

namespace closeloop::ingest {
// Prints a Reason by its wire name in test failures.
inline void PrintTo(Reason reason, std::ostream* out) { *out << ReasonName(reason); }
}  // namespace closeloop::ingest

namespace closeloop::ingest::testing {

using Result = std::variant<v1::Event, Rejection>;

inline google::protobuf::Timestamp Time(const std::string& rfc3339) {
  google::protobuf::Timestamp time;
  EXPECT_TRUE(google::protobuf::util::TimeUtil::FromString(rfc3339, &time)) << rfc3339;
  return time;
}

inline v1::Deal ValidDeal() {
  v1::Deal deal;
  deal.set_tenant_id("acme");
  deal.set_deal_id("D-1");
  deal.set_stage("Closed Won");
  deal.set_amount_minor(120000);
  deal.set_currency("EUR");
  deal.set_customer_id("C-7");
  deal.set_customer_name("Globex");
  deal.set_owner("alice@example.com");
  *deal.mutable_close_time() = Time("2024-03-01T10:00:00Z");
  *deal.mutable_event_time() = Time("2024-03-01T10:00:05.250Z");
  deal.set_payment_terms_days(30);
  deal.set_po_number("PO-9");
  deal.mutable_billing_plan()->set_kind(v1::BillingPlan::ONE_TIME);
  return deal;
}

inline v1::Order ValidOrder() {
  v1::Order order;
  order.set_tenant_id("acme");
  order.set_order_id("SO-1");
  order.set_deal_id("D-1");
  order.set_customer_id("C-7");
  order.set_amount_minor(120000);
  order.set_currency("EUR");
  order.set_status(v1::Order::OPEN);
  *order.mutable_event_time() = Time("2024-03-02T09:00:00Z");
  return order;
}

inline v1::Invoice ValidInvoice() {
  v1::Invoice invoice;
  invoice.set_tenant_id("acme");
  invoice.set_invoice_id("INV-1");
  invoice.set_order_id("SO-1");
  invoice.set_customer_id("C-7");
  invoice.set_amount_minor(120000);
  invoice.set_currency("EUR");
  invoice.set_kind(v1::Invoice::INVOICE);
  invoice.set_status(v1::Invoice::ISSUED);
  *invoice.mutable_issue_time() = Time("2024-03-10T00:00:00Z");
  *invoice.mutable_due_time() = Time("2024-04-09T00:00:00Z");
  invoice.set_payment_terms_days(30);
  *invoice.mutable_event_time() = Time("2024-03-10T00:00:01Z");
  return invoice;
}

inline v1::Payment ValidPayment() {
  v1::Payment payment;
  payment.set_tenant_id("acme");
  payment.set_payment_id("PAY-1");
  payment.set_invoice_id("INV-1");
  payment.set_customer_id("C-7");
  payment.set_amount_minor(120000);
  payment.set_currency("EUR");
  payment.set_status(v1::Payment::SUCCEEDED);
  *payment.mutable_event_time() = Time("2024-04-01T12:00:00Z");
  return payment;
}

inline v1::Command ValidCommand() {
  v1::Command command;
  command.set_command_id("cmd-1");
  command.set_tenant_id("acme");
  command.set_exception_id("ex-1");
  command.set_action(v1::Command::SNOOZE);
  *command.mutable_snooze_until() = Time("2024-05-01T00:00:00Z");
  command.set_note("waiting for the PO");
  command.set_actor("bob");
  *command.mutable_event_time() = Time("2024-04-20T08:00:00Z");
  return command;
}

// Proto3 JSON; camelCase names unless `snake_case`.
inline std::string Json(const google::protobuf::Message& message, bool snake_case = true) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = snake_case;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json, options).ok());
  return json;
}

// A zigzag varint, as in Confluent message indexes.
inline std::string Zigzag(int64_t value) {
  auto raw = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  std::string out;
  while (raw >= 0x80) {
    out.push_back(static_cast<char>((raw & 0x7F) | 0x80));
    raw >>= 7;
  }
  out.push_back(static_cast<char>(raw));
  return out;
}

// Confluent framing around `payload`: magic 0, schema id 42, message indexes.
inline std::string Confluent(std::string_view payload, std::initializer_list<int> indexes = {}) {
  std::string out("\x00\x00\x00\x00\x2a", 5);
  if (indexes.size() == 1 && *indexes.begin() == 0) {
    out.push_back('\0');  // the short form of [0]
  } else {
    out += Zigzag(static_cast<int64_t>(indexes.size()));
    for (const int index : indexes) out += Zigzag(index);
  }
  out.append(payload);
  return out;
}

inline std::string Describe(const Result& result) {
  if (const auto* rejection = std::get_if<Rejection>(&result)) {
    return std::string(ReasonName(rejection->reason)) + " [" + rejection->field + "] " +
           rejection->message;
  }
  return "accepted: " + std::get<v1::Event>(result).ShortDebugString();
}

// The rejection in `result`; fails the test (and returns an empty one) when
// the record was accepted.
inline Rejection Rejected(const Result& result) {
  if (const auto* rejection = std::get_if<Rejection>(&result)) return *rejection;
  ADD_FAILURE() << "expected a rejection, got " << Describe(result);
  return Rejection{Reason::kEmpty, "<accepted>", ""};
}

// The event in `result`; fails the test when the record was rejected.
inline v1::Event Accepted(const Result& result) {
  if (const auto* event = std::get_if<v1::Event>(&result)) return *event;
  ADD_FAILURE() << "expected acceptance, got " << Describe(result);
  return v1::Event();
}

// The rejection of `message` sent as binary Protobuf.
inline Rejection RejectedBinary(DocType type, const google::protobuf::Message& message,
                                const Limits& limits = {}) {
  return Rejected(Decode(type, Format::kProtobuf, message.SerializeAsString(), {}, limits));
}

// That `message`, sent as binary Protobuf, is rejected for `reason` naming `field`.
inline void ExpectRejected(DocType type, const google::protobuf::Message& message, Reason reason,
                           const std::string& field) {
  const Rejection rejection = RejectedBinary(type, message);
  EXPECT_EQ(ReasonName(rejection.reason), std::string(ReasonName(reason))) << rejection.message;
  EXPECT_EQ(rejection.field, field) << rejection.message;
}

inline Result DecodeJson(DocType type, std::string_view json,
                         std::optional<int64_t> kafka_ms = std::nullopt) {
  return Decode(type, Format::kJson, json, kafka_ms);
}

}  // namespace closeloop::ingest::testing
