// SPDX-License-Identifier: MIT
#include "cli/table.hpp"

#include <gtest/gtest.h>

namespace prisn::cli {
namespace {

TEST(Table, AlignsColumnsThreeSpacesApart) {
  Table t({"NAME", "ENDPOINTS"});
  t.add({"api", "10.0.0.5:8080, 10.0.0.6:8080"});
  t.add({"worker-long", ""});
  EXPECT_EQ(t.render(),
            "NAME          ENDPOINTS\n"
            "api           10.0.0.5:8080, 10.0.0.6:8080\n"
            "worker-long\n");
  EXPECT_EQ(t.render(false), "api           10.0.0.5:8080, 10.0.0.6:8080\nworker-long\n");
}

TEST(Table, CountsUtf8AsOneColumn) {
  Table t({"A", "B"});
  t.add({"é", "x"});
  EXPECT_EQ(t.render(), "A   B\né   x\n");
}

}  // namespace
}  // namespace prisn::cli
