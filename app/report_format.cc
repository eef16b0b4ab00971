#include "app/report_format.h"

#include <vector>

#include "app/report.h"
#include "matcher/money.h"
#include "spdlog/fmt/fmt.h"

namespace closeloop::app {
namespace {

using nlohmann::json;
using Row = std::vector<std::string>;

// `cell` for a terminal: each control character (C0, DEL, and C1 in its
// UTF-8 form) of the input, such as a line break in a customer name or an
// escape sequence, as a space.
std::string Printable(const std::string& cell) {
  std::string out;
  out.reserve(cell.size());
  for (size_t i = 0; i < cell.size(); ++i) {
    const auto c = static_cast<unsigned char>(cell[i]);
    const bool c1 = c == 0xC2 && i + 1 < cell.size() &&
                    static_cast<unsigned char>(cell[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(cell[i + 1]) <= 0x9F;
    if (c1) ++i;
    out += c < 0x20 || c == 0x7F || c1 ? ' ' : cell[i];
  }
  return out;
}

// A fixed-width table: columns as wide as their widest cell; numbers (cells
// of columns listed in `right`) aligned right.
std::string Table(const Row& header, const std::vector<Row>& given,
                  const std::vector<bool>& right) {
  std::vector<Row> rows = given;
  for (Row& r : rows) {
    for (std::string& cell : r) cell = Printable(cell);
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const Row& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const Row& r) {
    std::string out = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      out += ' ';
      out +=
          right[c] ? fmt::format("{:>{}}", r[c], width[c]) : fmt::format("{:<{}}", r[c], width[c]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const Row& r : rows) out += line(r);
  if (rows.empty()) out += "  (none)\n";
  return out;
}

// Whether a spreadsheet would read `s` as a formula: it starts with = @ tab
// or carriage return, or with + or - and is not a number such as -5.00 or a
// rate such as -5.0% (nor the "-" of a realization rate that has none).
bool LooksLikeFormula(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == '-' || s.front() == '+') {
    std::string_view rest = s.substr(1);
    if (rest.ends_with('%')) rest.remove_suffix(1);
    return rest.find_first_not_of("0123456789.") != std::string_view::npos;
  }
  return std::string_view("=@\t\r").find(s.front()) != std::string_view::npos;
}

// RFC 4180 quoting; a cell a spreadsheet would run as a formula (a tenant id
// or exception id from the input, "=HYPERLINK(...)") gets a leading ' so it
// shows as text (OWASP's advice on CSV injection).
std::string CsvCell(const std::string& cell) {
  const std::string s = LooksLikeFormula(cell) ? "'" + cell : cell;
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Csv(const Row& header, const std::vector<Row>& rows) {
  std::string out;
  auto line = [&](const Row& r) {
    for (size_t c = 0; c < r.size(); ++c) out += (c ? "," : "") + CsvCell(r[c]);
    out += "\n";
  };
  line(header);
  for (const Row& r : rows) line(r);
  return out;
}

// The realization rate to a tenth of a percent, rounded toward zero from the
// exact period sums: rounded to nearest, 94.96% would print 95.0% beside
// BELOW 95%.
std::string Rate(const json& books_row) {
  if (books_row.at("realization_rate").is_null()) return "-";  // nothing booked in the period
  __extension__ using Wide = __int128;                         // a product of two int64 amounts
  const Wide permille = Wide{books_row.at("period_collected_minor").get<int64_t>()} * 1000 /
                        books_row.at("period_booked_minor").get<int64_t>();
  const auto magnitude = static_cast<uint64_t>(permille < 0 ? -permille : permille);
  return fmt::format("{}{}.{}%", permille < 0 ? "-" : "", magnitude / 10, magnitude % 10);
}

// The four sections as rows; money through `money` (table or CSV style).
struct Sections {
  Row books_header{"tenant", "currency",  "deals",       "booked",
                   "billed", "collected", "realization", "flag"};
  Row open_header{"tenant", "kind",  "team",   "count", "amount_at_risk",
                  "0-7d",   "8-30d", "31-90d", "90+d"};
  Row recovered_header{"tenant", "kind", "recovered"};
  Row top_header{"rank",           "exception_id", "kind",      "team",
                 "amount_at_risk", "age_days",     "loss_days", "reason"};
  std::vector<Row> books, open, recovered, top;
};

// CSV amounts are bare numbers: a section with money gets a currency column
// after `after`, from the `currency` of the report's entry each row came from
// (the table's amounts name their currency).
void AddCurrencyColumn(Row& header, std::vector<Row>& rows, const json& entries, size_t after) {
  const auto at = static_cast<std::ptrdiff_t>(after + 1);
  header.insert(header.begin() + at, "currency");
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].insert(rows[i].begin() + at, entries.at(i).at("currency").get<std::string>());
  }
}

Sections Build(const json& report, bool table) {
  auto money = [&](int64_t minor, const std::string& currency) {
    return table ? matcher::FormatMoney(minor, currency) : MajorUnits(minor, currency);
  };
  Sections s;
  for (const json& b : report.at("books")) {
    const std::string cur = b.at("currency").get<std::string>();
    s.books.push_back({b.at("tenant").get<std::string>(), cur,
                       std::to_string(b.at("deals").get<int64_t>()),
                       money(b.at("booked_minor").get<int64_t>(), cur),
                       money(b.at("billed_minor").get<int64_t>(), cur),
                       money(b.at("collected_minor").get<int64_t>(), cur), Rate(b),
                       b.at("below_target").get<bool>() ? "BELOW 95%" : ""});
  }
  for (const json& o : report.at("open_exceptions")) {
    const std::string cur = o.at("currency").get<std::string>();
    Row r{o.at("tenant").get<std::string>(), o.at("kind").get<std::string>(),
          o.at("team").get<std::string>(), std::to_string(o.at("count").get<int64_t>()),
          money(o.at("amount_at_risk_minor").get<int64_t>(), cur)};
    for (const char* b : kAgeBuckets) {
      r.push_back(std::to_string(o.at("age_buckets").at(b).get<int64_t>()));
    }
    s.open.push_back(std::move(r));
  }
  for (const json& r : report.at("recovered")) {
    s.recovered.push_back(
        {r.at("tenant").get<std::string>(), r.at("kind").get<std::string>(),
         money(r.at("recovered_minor").get<int64_t>(), r.at("currency").get<std::string>())});
  }
  // Ranked within each currency (the list comes by currency).
  int rank = 0;
  std::string ranked_currency;
  for (const json& e : report.at("top_exceptions")) {
    const std::string cur = e.at("currency").get<std::string>();
    if (cur != ranked_currency) rank = 0;
    ranked_currency = cur;
    // Time-weighted loss in major-unit-days, like the amounts beside it.
    s.top.push_back({std::to_string(++rank), e.at("exception_id").get<std::string>(),
                     e.at("kind").get<std::string>(), e.at("team").get<std::string>(),
                     money(e.at("amount_at_risk_minor").get<int64_t>(), cur),
                     std::to_string(e.at("age_days").get<int64_t>()),
                     money(e.at("time_weighted_loss").get<int64_t>(), cur),
                     e.at("reason").get<std::string>()});
  }
  if (!table) {
    AddCurrencyColumn(s.open_header, s.open, report.at("open_exceptions"), 2);      // after team
    AddCurrencyColumn(s.recovered_header, s.recovered, report.at("recovered"), 1);  // after kind
    AddCurrencyColumn(s.top_header, s.top, report.at("top_exceptions"), 3);         // after team
  }
  return s;
}

Row Prefixed(const std::string& section, Row row) {
  row.insert(row.begin(), section);
  return row;
}

}  // namespace

std::optional<ReportFormat> ReportFormatFromName(std::string_view name) {
  if (name == "table") return ReportFormat::kTable;
  if (name == "json") return ReportFormat::kJson;
  if (name == "csv") return ReportFormat::kCsv;
  return std::nullopt;
}

absl::StatusOr<std::string> FormatReport(const json& report, ReportFormat format) {
  try {
    switch (format) {
      case ReportFormat::kJson:
        return report.dump(2) + "\n";
      case ReportFormat::kTable: {
        const Sections s = Build(report, true);
        const json& period = report.at("period");
        std::string out = fmt::format(
            "closeloop report as of {} (realization over deals closed since {}, {})\n\n",
            report.at("as_of").get<std::string>(), period.at("since").get<std::string>(),
            period.at("by").get<std::string>() == "closed_since" ? "--closed-since"
                                                                 : "trailing period");
        out += "BOOKS\n" +
               Table(s.books_header, s.books, {false, false, true, true, true, true, true, false});
        out +=
            "\nOPEN EXCEPTIONS (amount at risk; count by age in days)\n" +
            Table(s.open_header, s.open, {false, false, false, true, true, true, true, true, true});
        out += "\nRECOVERED\n" + Table(s.recovered_header, s.recovered, {false, false, true});
        out += "\nTOP EXCEPTIONS BY TIME-WEIGHTED LOSS (amount x days open)\n" +
               Table(s.top_header, s.top, {true, false, false, false, true, true, true, false});
        return out;
      }
      case ReportFormat::kCsv: {
        const Sections s = Build(report, false);
        std::string out;
        auto block = [&](const std::string& name, const Row& header, const std::vector<Row>& rows) {
          std::vector<Row> prefixed;
          for (const Row& r : rows) prefixed.push_back(Prefixed(name, r));
          if (!out.empty()) out += "\n";
          out += Csv(Prefixed("section", header), prefixed);
        };
        block("books", s.books_header, s.books);
        block("open_exceptions", s.open_header, s.open);
        block("recovered", s.recovered_header, s.recovered);
        block("top_exceptions", s.top_header, s.top);
        return out;
      }
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(std::string("report document: ") + e.what());
  }
  return absl::InvalidArgumentError("unknown format");
}

}  // namespace closeloop::app
