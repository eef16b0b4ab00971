// A tenant's tolerance and stage names, alone.
#include "matcher/tenant.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace closeloop::matcher {
namespace {

TEST(Tolerance, IsTheLargerOfTheRatioAndTheAbsolutePart) {
  TenantRules r;  // 5,000 ppm, 100 minor units
  EXPECT_EQ(r.Tolerance(10'000, "USD"), 100);
  EXPECT_EQ(r.Tolerance(1'000'000, "USD"), 5'000);
  EXPECT_EQ(r.Tolerance(-1'000'000, "USD"), 5'000);
  EXPECT_EQ(r.Tolerance(1'234'567, "USD"), 6'172);  // rounded down
  r.by_currency["JPY"].tolerance_absolute_minor = 10;
  EXPECT_EQ(r.Tolerance(1'000, "JPY"), 10);
  EXPECT_EQ(r.Tolerance(1'000, "USD"), 100);
}

// Amounts whose product with the ratio would overflow 64 bits are split;
// both ways give the same, exact result on either side of the boundary.
TEST(Tolerance, IsExactForAmountsWhoseProductWouldOverflow) {
  TenantRules r;
  r.tolerance_ppm = 1'000'000;  // the largest ratio: everything
  r.tolerance_absolute_minor = 0;
  for (int64_t e : {INT64_MAX / 1'000'000 - 1, INT64_MAX / 1'000'000, INT64_MAX / 1'000'000 + 1,
                    INT64_MAX / 2, INT64_MAX}) {
    EXPECT_EQ(r.Tolerance(e, "USD"), e) << e;
  }
  r.tolerance_ppm = 999'999;
  const int64_t big = INT64_MAX / 1'000'000 + 1;        // 9,223,372,036,855
  EXPECT_EQ(r.Tolerance(big, "USD"), big - 9'223'373);  // big * 999,999 / 10^6, rounded down
  EXPECT_EQ(r.Tolerance(big - 1, "USD"), big - 1 - 9'223'373);
}

TEST(Stages, MatchIgnoringCaseAndBlanksAround) {
  TenantRules r;
  r.closed_won_stages = {"Closed Won", "Signed"};
  EXPECT_TRUE(r.IsClosedWon("Closed Won"));
  EXPECT_TRUE(r.IsClosedWon("closed won"));
  EXPECT_TRUE(r.IsClosedWon("  Signed\t"));
  EXPECT_TRUE(r.IsClosedWon(" SIGNED"));
  EXPECT_FALSE(r.IsClosedWon("Closed Won!"));
  EXPECT_FALSE(r.IsClosedWon("Sign ed"));
  EXPECT_FALSE(r.IsClosedWon(""));
  EXPECT_TRUE(r.IsLost("closed lost "));
  EXPECT_TRUE(r.IsLost(std::string(kDeletedStage)));
  EXPECT_FALSE(r.IsLost("Closed Won"));
}

// Case beyond ASCII, as SPEC §4 says of stage names: a CRM in French, German
// or Russian sends "GAGNÉ" for a stage configured as "Gagné".
TEST(Stages, MatchIgnoringCaseBeyondAscii) {
  TenantRules r;
  r.closed_won_stages = {"Gagné", "Gewonnen (Überfällig)", "Выиграна"};
  r.lost_stages = {"Perdue"};
  EXPECT_TRUE(r.IsClosedWon("GAGNÉ"));
  EXPECT_TRUE(r.IsClosedWon(" gagné "));
  EXPECT_TRUE(r.IsClosedWon("GEWONNEN (ÜBERFÄLLIG)"));
  EXPECT_TRUE(r.IsClosedWon("ВЫИГРАНА"));
  EXPECT_FALSE(r.IsClosedWon("Gagne"));     // an accent is not a case
  EXPECT_FALSE(r.IsClosedWon("GAGNÉS"));    // nor a letter more
  EXPECT_FALSE(r.IsClosedWon("Gagn\xc3"));  // a broken sequence matches nothing
  EXPECT_TRUE(r.IsLost("PERDUE"));
  EXPECT_TRUE(SameStage("ÉTAPE", "étape"));
  EXPECT_FALSE(SameStage("ÉTAPE", "étapes"));
}

}  // namespace
}  // namespace closeloop::matcher
