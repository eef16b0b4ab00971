#include "ingest/currency.h"

#include <algorithm>
#include <iterator>

namespace closeloop::ingest {
namespace {

// ISO 4217 List One, alphabetic codes that have a minor unit: amounts are
// counted in minor units, so the codes ISO lists with minor unit "N.A."
// (precious metals XAU XAG XPD XPT, bond units XBA..XBD, XDR, XSU, XUA, the
// testing code XTS and "no currency" XXX) cannot carry an amount_minor.
// Codes replaced recently but still found in history (ANG, CUC, SLL, ZWL) are
// kept next to their successors (XCG, SLE, ZWG, VED). Must stay sorted.
constexpr std::string_view kCodes[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
};
static_assert(std::is_sorted(std::begin(kCodes), std::end(kCodes)), "kCodes must stay sorted");
static_assert(std::adjacent_find(std::begin(kCodes), std::end(kCodes)) == std::end(kCodes));

}  // namespace

bool IsIsoCurrency(std::string_view code) {
  return code.size() == 3 && std::binary_search(std::begin(kCodes), std::end(kCodes), code);
}

}  // namespace closeloop::ingest
