// Mapping checks and value conversions (ingest/mapping.h, map_record.h).
#include "ingest/mapping.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ingest/map_record.h"

namespace closeloop::ingest {
namespace {

using nlohmann::json;

Mapping InvoiceMapping() {
  Mapping m;
  m.fields["tenant_id"].constant = "acme";
  m.fields["invoice_id"].path = "id";
  m.fields["amount"].path = "total";
  m.fields["currency"].path = "cur";
  m.fields["issue_time"].path = "issued";
  return m;
}

Rejection MapRejection(const Mapping& m, const json& row, MapContext context = {}) {
  auto out = MapRecord(DocType::kInvoice, m, row, context);
  if (!std::holds_alternative<Rejection>(out)) {
    ADD_FAILURE() << "mapped: " << std::get<json>(out).dump();
    return {};
  }
  return std::get<Rejection>(out);
}

TEST(Mapping, ChecksPaths) {
  EXPECT_EQ(CheckPath("Id"), std::nullopt);
  EXPECT_EQ(CheckPath("source.ts_ms"), std::nullopt);
  EXPECT_EQ(CheckPath("DocumentLines[*].BaseEntry"), std::nullopt);
  EXPECT_EQ(CheckPath("a[0][2].b"), std::nullopt);
  EXPECT_NE(CheckPath(""), std::nullopt);
  EXPECT_NE(CheckPath("a..b"), std::nullopt);
  EXPECT_NE(CheckPath("a[x]"), std::nullopt);
  EXPECT_NE(CheckPath("a["), std::nullopt);
  EXPECT_NE(CheckPath("a[*].b[*]"), std::nullopt);
  EXPECT_NE(CheckPath("[0]"), std::nullopt);
}

TEST(Mapping, CheckNamesTheField) {
  Mapping m = InvoiceMapping();
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m), std::nullopt);
  m.fields["amount_minor"].path = "x";
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m)->field, "amount");
  m = InvoiceMapping();
  m.fields.erase("invoice_id");
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m)->field, "invoice_id");
  m = InvoiceMapping();
  m.fields["stage"].path = "x";  // a deal field
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m)->field, "stage");
  m = InvoiceMapping();
  m.fields["currency"].time_unit = TimeUnit::kDays;
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m)->field, "currency");
  m = InvoiceMapping();
  m.fields["status"].path = "st";
  m.fields["status"].values["V"] = "VOID";
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m), std::nullopt);
  m.fields["status"].values["X"] = "VOIDED";
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m)->field, "status");
}

TEST(Mapping, ChecksPathsRefuseStrayBracketsEmptyAndHugeIndexes) {
  EXPECT_NE(CheckPath("a]"), std::nullopt);
  EXPECT_NE(CheckPath("a[]"), std::nullopt);
  EXPECT_NE(CheckPath("a[1234567890]"), std::nullopt);  // more than 9 digits
  EXPECT_EQ(CheckPath("a[123456789]"), std::nullopt);
}

// Each misuse a topic's mapping can hold is refused at startup, naming the
// canonical field it is about.
TEST(Mapping, CheckRefusesEachMisuse) {
  const struct {
    const char* what;
    std::function<void(Mapping&)> change;
    DocType type;
    const char* field;
  } cases[] = {
      {"path and value", [](Mapping& m) { m.fields["invoice_id"].constant = "x"; },
       DocType::kInvoice, "invoice_id"},
      {"scale off amount", [](Mapping& m) { m.fields["invoice_id"].scale = 2; }, DocType::kInvoice,
       "invoice_id"},
      {"scale over 18", [](Mapping& m) { m.fields["amount"].scale = 19; }, DocType::kInvoice,
       "amount"},
      {"values on a number",
       [](Mapping& m) {
         m.fields["payment_terms_days"].path = "t";
         m.fields["payment_terms_days"].values["a"] = "1";
       },
       DocType::kInvoice, "payment_terms_days"},
      {"values to UNSPECIFIED",
       [](Mapping& m) {
         m.fields["status"].path = "s";
         m.fields["status"].values["a"] = "STATUS_UNSPECIFIED";
       },
       DocType::kInvoice, "status"},
      {"time_unit off a time", [](Mapping& m) { m.fields["amount"].time_unit = TimeUnit::kDays; },
       DocType::kInvoice, "amount"},
      {"no tenant", [](Mapping& m) { m.fields.erase("tenant_id"); }, DocType::kInvoice,
       "tenant_id"},
      {"won_when off deals",
       [](Mapping& m) { m.won_when = WonWhen{.path = "IsWon", .any_of = {"true"}}; },
       DocType::kInvoice, "won_when"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Mapping m = InvoiceMapping();
    c.change(m);
    const std::optional<MappingError> error = CheckMapping(c.type, m);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->field, c.field) << error->message;
  }
  Mapping scale18 = InvoiceMapping();
  scale18.fields["amount"].scale = 18;
  EXPECT_EQ(CheckMapping(DocType::kInvoice, scale18), std::nullopt);
  EXPECT_NE(CheckMapping(DocType::kCommand, InvoiceMapping()), std::nullopt);
}

// A currency the mapping writes itself (a constant, or a value listed for a
// source value) is checked at startup, as by_currency's codes are: a typo
// would otherwise send every record of the topic to the DLQ as bad_currency.
TEST(Mapping, CheckRefusesACurrencyThatIsNotIso4217) {
  Mapping m = InvoiceMapping();
  m.fields["currency"].path.clear();
  m.fields["currency"].constant = "usd";
  std::optional<MappingError> error = CheckMapping(DocType::kInvoice, m);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->field, "currency");
  EXPECT_NE(error->message.find("\"usd\" is not an ISO 4217 currency code"), std::string::npos)
      << error->message;
  m.fields["currency"].constant = "USD";
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m), std::nullopt);

  m = InvoiceMapping();
  m.fields["currency"].values = {{"1", "USD"}, {"2", "GPB"}, {"4", "EUR"}};
  error = CheckMapping(DocType::kInvoice, m);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->field, "currency");
  EXPECT_NE(error->message.find("\"GPB\" (for source value \"2\")"), std::string::npos)
      << error->message;
  m.fields["currency"].values["2"] = "GBP";
  EXPECT_EQ(CheckMapping(DocType::kInvoice, m), std::nullopt);
}

TEST(Mapping, CheckRefusesADealMappingThatCannotTellItsStage) {
  Mapping m;
  m.fields["tenant_id"].constant = "t";
  m.fields["deal_id"].path = "Id";
  EXPECT_EQ(CheckMapping(DocType::kDeal, m)->field, "stage");
  m.won_when = WonWhen{.path = "IsWon", .any_of = {"true"}};
  EXPECT_EQ(CheckMapping(DocType::kDeal, m), std::nullopt);
  m.won_when->any_of.clear();
  EXPECT_EQ(CheckMapping(DocType::kDeal, m)->field, "won_when");
  m.won_when = WonWhen{.path = "IsWon", .any_of = {"true"}, .won_stage = ""};
  EXPECT_EQ(CheckMapping(DocType::kDeal, m)->field, "won_when");
}

TEST(Mapping, DecimalsBecomeMinorUnitsExactly) {
  EXPECT_EQ(std::get<int64_t>(DecimalToMinor("1234.5", 2)), 123450);
  EXPECT_EQ(std::get<int64_t>(DecimalToMinor("1234.5000", 2)), 123450);
  EXPECT_EQ(std::get<int64_t>(DecimalToMinor("-0.07", 2)), -7);
  EXPECT_EQ(std::get<int64_t>(DecimalToMinor("1200", 0)), 1200);
  EXPECT_EQ(std::get<int64_t>(DecimalToMinor("1.234", 3)), 1234);
  EXPECT_TRUE(std::holds_alternative<std::string>(DecimalToMinor("12.345", 2)));
  EXPECT_TRUE(std::holds_alternative<std::string>(DecimalToMinor("1e3", 2)));
  EXPECT_TRUE(std::holds_alternative<std::string>(DecimalToMinor("", 2)));
  EXPECT_TRUE(std::holds_alternative<std::string>(DecimalToMinor("99999999999999999999", 2)));
}

TEST(Mapping, DecimalBytesAreBigEndianTwosComplement) {
  EXPECT_EQ(DecimalBytesToText("Aknw", 2), "1500.00");  // 0x0249F0 = 150000
  EXPECT_EQ(DecimalBytesToText("/w==", 2), "-0.01");    // 0xFF = -1
  EXPECT_EQ(DecimalBytesToText("AA==", 0), "0");
  EXPECT_EQ(DecimalBytesToText("Bw==", 3), "0.007");
  EXPECT_EQ(DecimalBytesToText("not base64!", 2), std::nullopt);
  EXPECT_EQ(DecimalBytesToText("AAAAAAAAAAAA", 2), "0.00");                            // 9 bytes
  EXPECT_EQ(DecimalBytesToText(std::string(87, 'A') + "=", 0), std::nullopt);          // 65 bytes
  EXPECT_EQ(DecimalBytesToText("AQ" + std::string(84, 'A') + "==", 0)->size(), 152u);  // 64 bytes
}

TEST(SourceValues, TimesInTheFormsCdcToolsWrite) {
  EXPECT_EQ(NormalizeTimeText("2024-03-01"), "2024-03-01T00:00:00Z");
  EXPECT_EQ(NormalizeTimeText("2024-03-01 10:20:30"), "2024-03-01T10:20:30Z");
  EXPECT_EQ(NormalizeTimeText("2024-03-01T10:20:30.000+0200"), "2024-03-01T10:20:30.000+02:00");
  EXPECT_EQ(NormalizeTimeText("2024-03-01T10:20:30-05:00"), "2024-03-01T10:20:30-05:00");
  EXPECT_EQ(NormalizeTimeText("March 1st"), std::nullopt);
  EXPECT_EQ(NormalizeTimeText("2024-13-01T00:00:00Z"), std::nullopt);

  const ColumnSchema date{.type = "int32", .name = "io.debezium.time.Date"};
  const ColumnSchema micros{.type = "int64", .name = "io.debezium.time.MicroTimestamp"};
  const ColumnSchema plain{.type = "int64"};
  EXPECT_EQ(TimeUnitOfSchema(&date), TimeUnit::kDays);
  EXPECT_EQ(TimeUnitOfSchema(&micros), TimeUnit::kMicros);
  EXPECT_EQ(TimeUnitOfSchema(&plain), std::nullopt);
  EXPECT_EQ(TimeUnitOfSchema(nullptr), std::nullopt);
  // Every logical time Debezium and Kafka Connect write (SPEC §3: epoch
  // days, ms, µs; Debezium's nanoseconds too).
  for (const auto& [name, unit] : std::vector<std::pair<std::string, TimeUnit>>{
           {"org.apache.kafka.connect.data.Date", TimeUnit::kDays},
           {"io.debezium.time.Timestamp", TimeUnit::kMillis},
           {"org.apache.kafka.connect.data.Timestamp", TimeUnit::kMillis},
           {"io.debezium.time.NanoTimestamp", TimeUnit::kNanos}}) {
    const ColumnSchema schema{.type = "int64", .name = name};
    EXPECT_EQ(TimeUnitOfSchema(&schema), unit) << name;
  }

  EXPECT_EQ(ToMillis(19783, TimeUnit::kDays), int64_t{19783} * 86'400'000);
  EXPECT_EQ(ToMillis(-1500, TimeUnit::kMicros), -2);  // floored, not truncated
  EXPECT_EQ(ToMillis(1'000'000, TimeUnit::kNanos), 1);
  EXPECT_EQ(ToMillis(-1'500'000, TimeUnit::kNanos), -2);  // floored, not truncated
  EXPECT_EQ(ToMillis(5'000'000, TimeUnit::kDays), std::nullopt);
  EXPECT_EQ(MillisToRfc3339(-1), "1969-12-31T23:59:59.999Z");

  EXPECT_EQ(ParseWholeNumber("-42"), -42);
  EXPECT_EQ(ParseWholeNumber("42 "), std::nullopt);
  EXPECT_EQ(ParseWholeNumber(""), std::nullopt);
}

TEST(Mapping, ConvertsAmountsWithTheCurrencysDigits) {
  const Mapping m = InvoiceMapping();
  auto out = MapRecord(DocType::kInvoice, m,
                       {{"id", 7}, {"total", 1200}, {"cur", "JPY"}, {"issued", "2024-03-01"}}, {});
  ASSERT_TRUE(std::holds_alternative<json>(out));
  const json& j = std::get<json>(out);
  EXPECT_EQ(j["amount_minor"], 1200);
  EXPECT_EQ(j["invoice_id"], "7");
  EXPECT_EQ(j["tenant_id"], "acme");
  EXPECT_EQ(j["issue_time"], "2024-03-01T00:00:00Z");
  const Rejection r = MapRejection(m, {{"id", 7}, {"total", "10.505"}, {"cur", "EUR"}});
  EXPECT_EQ(r.reason, Reason::kUnmappable);
  EXPECT_EQ(r.field, "amount");
  EXPECT_NE(r.message.find("more decimals"), std::string::npos) << r.message;
  EXPECT_EQ(MapRejection(m, {{"id", 7}, {"total", "10.50"}}).field, "amount");  // no currency
}

TEST(Mapping, TimesNeedAUnitWhenNothingSaysIt) {
  const Mapping m = InvoiceMapping();
  const Rejection r = MapRejection(m, {{"id", 1}, {"issued", 19783}});
  EXPECT_EQ(r.reason, Reason::kUnmappable);
  EXPECT_NE(r.message.find("time_unit"), std::string::npos) << r.message;
  auto ok = MapRecord(DocType::kInvoice, m, {{"id", 1}, {"issued", 19783}},
                      {.default_time_unit = TimeUnit::kDays});
  EXPECT_EQ(std::get<json>(ok)["issue_time"], "2024-03-01T00:00:00Z");
  for (const char* text :
       {"2024-03-01T10:00:00.000+0000", "2024-03-01 10:00:00", "2024-03-01T11:00:00+01:00"}) {
    auto t = MapRecord(DocType::kInvoice, m, {{"id", 1}, {"issued", text}}, {});
    ASSERT_TRUE(std::holds_alternative<json>(t)) << text;
    EXPECT_EQ(DecodeCanonical(DocType::kInvoice, m, std::get<json>(t), {}, {}).index(), 1u)
        << "no amount: still refused by the contract";
  }
  EXPECT_EQ(MapRejection(m, {{"id", 1}, {"issued", "yesterday"}}).reason, Reason::kUnparseableTime);
}

TEST(Mapping, ContractRejectionsNameTheSourcePath) {
  const Mapping m = InvoiceMapping();
  auto mapped = MapRecord(DocType::kInvoice, m, {{"id", 1}, {"cur", "EUR"}, {"total", "-5.00"}},
                          {.change_time_ms = 1709287200000});
  auto decoded = DecodeCanonical(DocType::kInvoice, m, std::get<json>(mapped), {}, {});
  const Rejection& r = std::get<Rejection>(decoded);
  EXPECT_EQ(r.reason, Reason::kNegativeAmount);
  EXPECT_NE(r.message.find("(source path total)"), std::string::npos) << r.message;
}

TEST(Mapping, WonWhenDecidesTheStage) {
  Mapping m;
  m.fields["tenant_id"].constant = "t";
  m.fields["deal_id"].path = "Id";
  m.fields["stage"].path = "StageName";
  m.won_when = WonWhen{.path = "IsWon", .any_of = {"true"}};
  auto stage = [&](const json& row) {
    return std::get<json>(MapRecord(DocType::kDeal, m, row, {}))["stage"].get<std::string>();
  };
  EXPECT_EQ(stage({{"Id", "1"}, {"StageName", "Signed"}, {"IsWon", true}}), "Closed Won");
  EXPECT_EQ(stage({{"Id", "1"}, {"StageName", "Prospecting"}, {"IsWon", false}}), "Prospecting");
  EXPECT_EQ(stage({{"Id", "1"}, {"StageName", "Closed Won"}, {"IsWon", false}}), "Open");
  EXPECT_EQ(stage({{"Id", "1"}, {"StageName", "closed won"}, {"IsWon", false}}), "Open");
  EXPECT_EQ(stage({{"Id", "1"}, {"IsWon", nullptr}}), "Open");
  EXPECT_EQ(stage({{"Id", "1"}}), "Open");
}

// A DOUBLE amount (decimal.handling.mode=double) is exact only up to 15
// significant digits, the currency's decimals counted: USD
// 99,999,999,999,999.99 arrives as a double whose shortest text is
// 99999999999999.98, a cent off. It is refused, not taken a cent off; 15
// digits are read exactly.
TEST(Mapping, DoubleAmountPastFifteenDigitsIsRefusedNotShifted) {
  const Mapping m = InvoiceMapping();
  auto map = [&](double total, const char* currency) {
    return MapRecord(DocType::kInvoice, m,
                     {{"id", 7}, {"total", total}, {"cur", currency}, {"issued", "2024-03-01"}},
                     {});
  };
  for (const auto& [total, currency] : std::initializer_list<std::pair<double, const char*>>{
           {99999999999999.99, "USD"}, {1234567890123.457, "KWD"}, {1e15, "JPY"}}) {
    SCOPED_TRACE(currency);
    auto out = map(total, currency);
    ASSERT_TRUE(std::holds_alternative<Rejection>(out)) << std::get<json>(out).dump();
    EXPECT_EQ(std::get<Rejection>(out).reason, Reason::kUnmappable);
  }
  for (const auto& [total, currency, minor] :
       std::initializer_list<std::tuple<double, const char*, int64_t>>{
           {9999999999999.99, "USD", 999999999999999},
           {123456789012.345, "KWD", 123456789012345},
           {999999999999999, "JPY", 999999999999999}}) {
    SCOPED_TRACE(currency);
    auto out = map(total, currency);
    ASSERT_TRUE(std::holds_alternative<json>(out)) << std::get<Rejection>(out).message;
    EXPECT_EQ(std::get<json>(out)["amount_minor"], minor);
  }
}

// SPEC §3's DocumentLines[*].BaseEntry: every line must name the same
// document; lines without one (null or absent) do not count.
TEST(Mapping, StarPathsTakeTheOneValueAllElementsAgreeOn) {
  Mapping m = InvoiceMapping();
  m.fields["order_id"].path = "lines[*].base";
  auto mapped =
      MapRecord(DocType::kInvoice, m,
                json::parse(R"({"id":1,"lines":[{"base":5},{"base":null},{},{"base":5}]})"), {});
  ASSERT_TRUE(std::holds_alternative<json>(mapped)) << std::get<Rejection>(mapped).message;
  EXPECT_EQ(std::get<json>(mapped)["order_id"], "5");
  const Rejection r = MapRejection(m, json::parse(R"({"id":1,"lines":[{"base":5},{"base":6}]})"));
  EXPECT_EQ(r.reason, Reason::kUnmappable);
  EXPECT_EQ(r.field, "order_id");
}

// A whole-number time's unit: the column's schema first, then the mapping's
// time_unit, then the adapter's default.
TEST(Mapping, TimeUnitComesFromTheSchemaThenTheMappingThenTheDefault) {
  Mapping m = InvoiceMapping();
  m.fields["issue_time"].time_unit = TimeUnit::kMillis;
  const json row = {{"id", 1}, {"issued", 1709287200000}};
  auto by_mapping = MapRecord(DocType::kInvoice, m, row, {.default_time_unit = TimeUnit::kDays});
  EXPECT_EQ(std::get<json>(by_mapping)["issue_time"], "2024-03-01T10:00:00Z");
  const RowSchema schema = {{"issued", {.type = "int32", .name = "io.debezium.time.Date"}}};
  auto by_schema =
      MapRecord(DocType::kInvoice, m, {{"id", 1}, {"issued", 19783}}, {.schema = &schema});
  EXPECT_EQ(std::get<json>(by_schema)["issue_time"], "2024-03-01T00:00:00Z");
}

TEST(Mapping, NumericTimeOutsideYearsOneTo9999IsUnparseableTime) {
  Mapping m = InvoiceMapping();
  m.fields["issue_time"].time_unit = TimeUnit::kMillis;
  const Rejection r = MapRejection(m, {{"id", 1}, {"issued", int64_t{253402300800000}}});
  EXPECT_EQ(r.reason, Reason::kUnparseableTime);
  EXPECT_EQ(r.field, "issue_time");
}

// DECIMAL bytes take their scale from the column's schema, else from the
// mapping; a bytes column with neither is refused, not read as a decimal
// ("1234" is base64 too).
TEST(Mapping, DecimalBytesTakeTheSchemasOrTheMappingsScale) {
  const json row = {{"id", 7}, {"total", "Aknw"}, {"cur", "USD"}};  // 0x0249F0 = 150000
  const RowSchema scaled = {{"total", {.type = "bytes", .scale = 2}}};
  auto by_schema = MapRecord(DocType::kInvoice, InvoiceMapping(), row, {.schema = &scaled});
  ASSERT_TRUE(std::holds_alternative<json>(by_schema)) << std::get<Rejection>(by_schema).message;
  EXPECT_EQ(std::get<json>(by_schema)["amount_minor"], 150000);

  Mapping m = InvoiceMapping();
  m.fields["amount"].scale = 2;
  auto by_mapping = MapRecord(DocType::kInvoice, m, row, {});
  ASSERT_TRUE(std::holds_alternative<json>(by_mapping)) << std::get<Rejection>(by_mapping).message;
  EXPECT_EQ(std::get<json>(by_mapping)["amount_minor"], 150000);

  const RowSchema unscaled = {{"total", {.type = "bytes"}}};
  const Rejection r = MapRejection(InvoiceMapping(), {{"id", 7}, {"total", "1234"}, {"cur", "USD"}},
                                   {.schema = &unscaled});
  EXPECT_EQ(r.reason, Reason::kUnmappable);
  EXPECT_EQ(r.field, "amount");
}

TEST(Mapping, ConvertsListedValuesWholeNumbersAndPlansGivenAsText) {
  Mapping m = InvoiceMapping();
  m.fields["status"].path = "st";
  m.fields["status"].values["V"] = "VOID";
  m.fields["payment_terms_days"].path = "terms";
  auto mapped = MapRecord(DocType::kInvoice, m, {{"id", 1}, {"st", "V"}, {"terms", "30"}}, {});
  ASSERT_TRUE(std::holds_alternative<json>(mapped)) << std::get<Rejection>(mapped).message;
  EXPECT_EQ(std::get<json>(mapped)["status"], "VOID");
  EXPECT_EQ(std::get<json>(mapped)["payment_terms_days"], 30);
  EXPECT_EQ(MapRejection(m, {{"id", 1}, {"st", "X"}}).field, "status");

  Mapping deal;
  deal.fields["tenant_id"].constant = "t";
  deal.fields["deal_id"].path = "Id";
  deal.fields["stage"].path = "Stage";
  deal.fields["billing_plan"].path = "Plan";
  auto plan = MapRecord(DocType::kDeal, deal,
                        {{"Id", "1"},
                         {"Stage", "Won"},
                         {"Plan", R"({"kind":"RECURRING","period_days":30,"periods":12})"}},
                        {});
  ASSERT_TRUE(std::holds_alternative<json>(plan)) << std::get<Rejection>(plan).message;
  EXPECT_EQ(std::get<json>(plan)["billing_plan"]["periods"], 12);
}

// The change time is event_time only when the mapping gives none.
TEST(Mapping, AMappedEventTimeWinsOverTheChangeTime) {
  Mapping m = InvoiceMapping();
  m.fields["event_time"].path = "updated";
  auto mapped = MapRecord(DocType::kInvoice, m, {{"id", 1}, {"updated", "2024-03-02"}},
                          {.change_time_ms = 1709287200000});
  EXPECT_EQ(std::get<json>(mapped)["event_time"], "2024-03-02T00:00:00Z");
  auto unmapped = MapRecord(DocType::kInvoice, InvoiceMapping(), {{"id", 1}},
                            {.change_time_ms = 1709287200000});
  EXPECT_EQ(std::get<json>(unmapped)["event_time"], "2024-03-01T10:00:00Z");
}

TEST(Mapping, ParseSourceJsonRefusesRecordsOverTheSizeLimit) {
  const auto parsed =
      ParseSourceJson(R"({"id":"0123456789"})", Limits{.max_record_bytes = 10}, "x");
  ASSERT_TRUE(std::holds_alternative<Rejection>(parsed));
  EXPECT_EQ(std::get<Rejection>(parsed).reason, Reason::kOversized);
}

// A DECIMAL scale is 0 to 38. One past int's range was cut to int, so a
// scale of 2^32 + 2 read as 2 and the record was taken with an amount of
// one cent instead of going to the DLQ (SPEC §3: never silently).
TEST(Mapping, ADecimalScaleOutsideZeroTo38IsRefusedNotTruncated) {
  const Mapping m = InvoiceMapping();
  auto ok =
      MapRecord(DocType::kInvoice, m,
                json::parse(R"({"id":1,"cur":"USD","total":{"scale":2,"value":"AQ=="}})"), {});
  ASSERT_TRUE(std::holds_alternative<json>(ok)) << std::get<Rejection>(ok).message;
  EXPECT_EQ(std::get<json>(ok)["amount_minor"], 1);
  for (const char* scale : {"4294967298", "-4294967294", "39", "-1"}) {
    SCOPED_TRACE(scale);
    const Rejection variable =
        MapRejection(m, json::parse(std::string(R"({"id":1,"cur":"USD","total":{"scale":)") +
                                    scale + R"(,"value":"AQ=="}})"));
    EXPECT_EQ(variable.reason, Reason::kUnmappable);
    EXPECT_EQ(variable.field, "amount");
    for (const std::string& written : {std::string(scale), "\"" + std::string(scale) + "\""}) {
      const RowSchema schema = ReadRowSchema(
          json::parse(R"({"fields":[{"field":"total","type":"bytes","parameters":{"scale":)" +
                      written + "}}]}"));
      const Rejection fixed =
          MapRejection(m, {{"id", 1}, {"cur", "USD"}, {"total", "AQ=="}}, {.schema = &schema});
      EXPECT_EQ(fixed.reason, Reason::kUnmappable) << written;
      EXPECT_EQ(fixed.field, "amount") << written;
    }
  }
}

// A whole number past int64 (JSON allows it; nlohmann keeps it unsigned)
// was wrapped: 2^64 - 1000 ms read as 1969-12-31T23:59:59Z and was taken.
// It is out of range like any time past 9999, and no whole-number field
// takes it either.
TEST(Mapping, WholeNumbersPastInt64AreRefusedNotWrapped) {
  Mapping m = InvoiceMapping();
  m.fields["issue_time"].time_unit = TimeUnit::kMillis;
  m.fields["payment_terms_days"].path = "terms";
  const json huge = json::parse("18446744073709550616");  // 2^64 - 1000
  const Rejection time = MapRejection(m, {{"id", 1}, {"issued", huge}});
  EXPECT_EQ(time.reason, Reason::kUnparseableTime);
  EXPECT_EQ(time.field, "issue_time");
  const Rejection terms = MapRejection(m, {{"id", 1}, {"terms", huge}});
  EXPECT_EQ(terms.reason, Reason::kUnmappable);
  EXPECT_EQ(terms.field, "payment_terms_days");
}

TEST(SourceValues, EdgesOfDecimalsBytesTimesAndSchemas) {
  EXPECT_EQ(NormalizeTimeText("2024-03-01T10:20:30.000-0500"), "2024-03-01T10:20:30.000-05:00");
  EXPECT_TRUE(std::holds_alternative<std::string>(DecimalToMinor("1.x5", 2)));
  EXPECT_TRUE(std::holds_alternative<std::string>(DecimalToMinor("1.-5", 2)));
  // As many digits as the scale: a leading "0." is added.
  EXPECT_EQ(DecimalBytesToText("Dw==", 2), "0.15");            // 0x0F = 15
  EXPECT_EQ(DecimalBytesToText("AQ", 0), std::nullopt);        // unpadded
  EXPECT_EQ(DecimalBytesToText("AAAAA===", 0), std::nullopt);  // padding of three
  EXPECT_EQ(MillisToRfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(MillisToRfc3339(253402300800000), std::nullopt);
  EXPECT_EQ(MillisToRfc3339(-62135596800001), std::nullopt);
  const RowSchema schema = ReadRowSchema(json::parse(R"({"fields":[
      {"field":"a","type":"bytes","parameters":{"scale":"2"}},
      {"field":"b","type":"bytes","parameters":{"scale":3}}]})"));
  EXPECT_EQ(schema.at("a").scale, 2);
  EXPECT_EQ(schema.at("b").scale, 3);
}

}  // namespace
}  // namespace closeloop::ingest
