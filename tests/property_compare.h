// How the property test (property_test.cc) compares runs, and prints what
// differs. For tests only.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "matcher/engine.h"

namespace closeloop::property {

// For failure messages.
std::string TimeText(matcher::EventTime t);
std::string Describe(const matcher::ExceptionRecord& r);
// `key`: the deal's tenant and id.
std::string Describe(const std::pair<std::string, std::string>& key, const matcher::DealFigures& f);

// Empty when equal; otherwise the first differing records, in full.
std::string FirstDifference(const std::vector<matcher::ExceptionRecord>& want,
                            const std::vector<matcher::ExceptionRecord>& got);

// By exception id, then sequence (stable).
void SortRecords(std::vector<matcher::ExceptionRecord>& records);

// Books figures (Engine::TakeFiguresChanges), folded per deal: each change
// must start from what was last reported for its deal.
struct FiguresFold {
  std::map<std::pair<std::string, std::string>, matcher::DealFigures> last;
  std::string error;  // the first change that did not start from `last`

  void Add(std::vector<matcher::FiguresChange> changes);
};

// Empty when equal; otherwise the first deal whose final figures differ.
std::string FiguresDifference(const FiguresFold& want, const FiguresFold& got);

}  // namespace closeloop::property
