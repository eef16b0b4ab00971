#include "matcher/small_vector.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "matcher/text.h"

namespace closeloop::matcher {
namespace {

template <class T>
std::vector<T> AsVector(const SmallVector<T>& v) {
  return {v.begin(), v.end()};
}

// Every insert position at every size, against std::vector: through the
// step from one element inside to the heap, with values that own memory.
TEST(SmallVector, InsertsAsAVectorAtEveryPositionAndSize) {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    SmallVector<Text> small;
    std::vector<Text> expected;
    const size_t n = rng() % 6;
    for (size_t i = 0; i < n; ++i) {
      const size_t at = rng() % (expected.size() + 1);
      const Text value(std::string(1 + rng() % 30, static_cast<char>('a' + i)));
      const Text* placed = small.insert(small.begin() + at, value);
      expected.insert(expected.begin() + static_cast<std::ptrdiff_t>(at), value);
      EXPECT_EQ(placed, small.begin() + at);
      EXPECT_EQ(*placed, value);
      ASSERT_EQ(AsVector(small), expected);
      EXPECT_EQ(small.size(), expected.size());
      EXPECT_FALSE(small.empty());
      EXPECT_EQ(small[at], expected[at]);
    }
    // Copies are deep and equal; moves leave the source empty.
    SmallVector<Text> copy = small;
    EXPECT_EQ(copy, small);
    if (!small.empty()) {
      EXPECT_NE(copy.begin(), small.begin());
    }
    copy.push_back("z");
    EXPECT_FALSE(copy == small);
    SmallVector<Text> moved = std::move(copy);
    EXPECT_TRUE(copy.empty());  // NOLINT: a moved-from SmallVector is empty
    EXPECT_EQ(moved.size(), small.size() + 1);
    moved = small;
    EXPECT_EQ(moved, small);
    moved = moved;  // NOLINT: self-assignment keeps the elements
    EXPECT_EQ(AsVector(moved), expected);
  }
  const SmallVector<Text> none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.begin(), none.end());
  EXPECT_EQ(none, SmallVector<Text>{});
  EXPECT_EQ(AsVector(SmallVector<Text>{"a", "b"}), (std::vector<Text>{"a", "b"}));
}

// The point of it: no bigger than the std::vector it replaces.
static_assert(sizeof(SmallVector<Text>) == sizeof(std::vector<Text>));

}  // namespace
}  // namespace closeloop::matcher
