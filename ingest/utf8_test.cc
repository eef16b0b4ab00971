#include "ingest/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace closeloop::ingest {
namespace {

TEST(Utf8, AcceptsBoundaryCodePoints) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("\x7f"));
  EXPECT_TRUE(IsValidUtf8("\xc2\x80"));          // U+0080
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));      // U+D7FF, below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xee\x80\x80"));      // U+E000, above them
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("0123456789abcdef\xc3\xa9"));
  EXPECT_FALSE(IsValidUtf8("0123456789abcdef\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // five-byte form
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));      // overlong, four bytes
}

// Every ill-formed sequence of Table 3-7 is refused by IsValidUtf8 itself:
// for Protobuf strings it is the only check, and for JSON it decides the
// reason before protobuf's parser words it otherwise.
TEST(Utf8, RejectsEveryIllFormedSequence) {
  const std::string_view bad[] = {
      "\xc0\xaf",          // overlong, two bytes
      "\xc1\xbf",          // overlong, two bytes
      "\xe0\x80\xaf",      // overlong, three bytes
      "\xe0\x9f\xbf",      // overlong, three bytes, largest
      "\xed\xa0\x80",      // surrogate U+D800
      "\xed\xbf\xbf",      // surrogate U+DFFF
      "\xf4\x90\x80\x80",  // U+110000
      "\xf5\x80\x80\x80",  // lead byte past U+10FFFF
      "\xe2\x82\x41",      // third byte not a continuation
      "\xf0\x90\x80\x41",  // fourth byte not a continuation
      "0123456\xff"
      "89abcdef",  // high bit in the last byte of an eight-byte word
  };
  for (const std::string_view bytes : bad) {
    EXPECT_FALSE(IsValidUtf8(bytes)) << ::testing::PrintToString(std::string(bytes));
  }
  // A sequence cut by the end of the text, though the bytes after it in
  // memory would complete it.
  const std::string euro = "\xe2\x82\xac";
  EXPECT_FALSE(IsValidUtf8(std::string_view(euro).substr(0, 2)));
  EXPECT_TRUE(IsValidUtf8(euro));
}

// Excerpts cut on a character boundary, mark the cut, and show control
// characters (DEL included) as '?'.
TEST(Utf8, ExcerptsCutBetweenCharactersAndHideControls) {
  EXPECT_EQ(Utf8Prefix("a\xc3\xa9", 2), "a");
  EXPECT_EQ(Utf8Prefix("a\xc3\xa9", 3), "a\xc3\xa9");
  EXPECT_EQ(Excerpt("a\x7f\tb"), "a??b");
  EXPECT_EQ(Excerpt("abcdef", 4), "abcd...");
  EXPECT_EQ(Excerpt("abcd", 4), "abcd");
}

}  // namespace
}  // namespace closeloop::ingest
