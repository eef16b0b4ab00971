#include "matcher/types.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

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

// Text against std::string: at every length either side of the inline limit
// and the heap, each value as the string it was made from, through copies,
// moves and assignments between inline and heap values.
TEST(Text, KeepsEveryLengthAsTheStringItWasMadeFrom) {
  std::mt19937 rng(11);
  std::vector<std::string> strings;
  for (size_t n = 0; n <= 40; ++n) {
    std::string s(n, ' ');
    for (char& c : s) c = static_cast<char>('!' + rng() % 90);
    strings.push_back(s);
  }
  strings.push_back(std::string("a\0b", 3));  // an inner NUL is text too
  for (const std::string& s : strings) {
    const Text t(s);
    EXPECT_EQ(t.size(), s.size());
    EXPECT_EQ(std::string_view(t), s);
    EXPECT_EQ(t.c_str()[s.size()], '\0') << s;  // NUL-terminated inline and on the heap
    EXPECT_EQ(t.empty(), s.empty());
    EXPECT_EQ(t.str(), s);
    Text copy = t;
    EXPECT_EQ(copy, t);
    Text moved = std::move(copy);
    EXPECT_EQ(moved, t);
    EXPECT_TRUE(copy.empty());  // NOLINT: a moved-from Text is empty
    for (const std::string& other : strings) {
      const Text o(other);
      EXPECT_EQ(t == o, s == other) << s << " vs " << other;
      EXPECT_EQ(t == std::string_view(other), s == other);
      EXPECT_EQ(t == other, s == other);
      EXPECT_EQ(t <=> o, s <=> other) << s << " vs " << other;
      Text assigned = o;
      assigned = t;
      EXPECT_EQ(assigned, t);
      assigned = Text(other);
      EXPECT_EQ(std::string_view(assigned), other);
    }
  }
  EXPECT_EQ(Text(), "");
  EXPECT_EQ("ab" + Text("cd") + "ef", "abcdef");
  EXPECT_EQ(std::string("ab") + Text(std::string(30, 'x')), "ab" + std::string(30, 'x'));
}

// Copies of a long text share its buffer, which lives until the last of them
// goes, in whichever order, also when copied and dropped in several threads
// at once (ASan and TSan check the frees and the count).
TEST(Text, CopiesOfLongTextShareOneBufferUntilTheLastGoes) {
  const std::string s = "Northwind Traders International";
  auto original = std::make_unique<Text>(s);
  std::vector<Text> copies(5, *original);
  for (const Text& c : copies) EXPECT_EQ(c.data(), original->data());
  Text assigned = "short";
  assigned = copies[2];
  EXPECT_EQ(assigned.data(), original->data());
  assigned = assigned;  // NOLINT: self-assignment keeps the text
  EXPECT_EQ(std::string_view(assigned), s);
  original.reset();
  copies.erase(copies.begin(), copies.begin() + 3);
  EXPECT_EQ(std::string_view(assigned), s);
  EXPECT_EQ(std::string_view(copies.back()), s);
  // A short text is its own, never shared.
  const Text shorter = "Acme";
  EXPECT_NE(Text(shorter).data(), shorter.data());

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&assigned] {
      for (int i = 0; i < 10'000; ++i) {
        Text c = assigned;
        Text d = c;
        EXPECT_EQ(d.size(), c.size());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::string_view(assigned), s);
}

}  // namespace
}  // namespace closeloop::matcher
