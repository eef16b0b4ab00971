#include "matcher/types.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace closeloop::matcher {
namespace {

// SameText against ==: every length up to well past the word-sized paths,
// each string against itself, a copy, and copies differing in each byte.
TEST(SameText, AgreesWithEqualityAtEveryLengthAndPosition) {
  std::mt19937 rng(7);
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, ' ');
    for (char& c : a) c = static_cast<char>('!' + rng() % 90);
    const std::string copy = a;
    EXPECT_TRUE(SameText(a, copy)) << a;
    EXPECT_FALSE(SameText(a, a + "x")) << a;
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      EXPECT_FALSE(SameText(a, b)) << a << " at " << i;
      EXPECT_FALSE(SameText(b, a)) << a << " at " << i;
    }
    // Views into the middle of a longer buffer: no load strays past them
    // that changes the answer.
    const std::string padded = "#" + a + "#";
    const std::string other = "$" + a + "$";
    EXPECT_TRUE(
        SameText(std::string_view(padded).substr(1, n), std::string_view(other).substr(1, n)))
        << a;
  }
}

}  // namespace
}  // namespace closeloop::matcher
