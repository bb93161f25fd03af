// SPDX-License-Identifier: MIT
#include "prisn/model/runtime.hpp"

#include <gtest/gtest.h>

namespace prisn::model {
namespace {

TEST(Runtime, ShebangWinsOverExtension) {
  EXPECT_EQ(detect_runtime("x.py", "#!/bin/bash\necho hi"), "bash");
  EXPECT_EQ(detect_runtime("x", "#!/usr/bin/env python3\n"), "python3");
  EXPECT_EQ(detect_runtime("x", "#!/usr/bin/env -S python3 -u\n"), "python3");
  EXPECT_EQ(detect_runtime("x", "#! /usr/bin/node\n"), "node");
  EXPECT_EQ(detect_runtime("x", "#!/bin/sh\n"), "sh");
  EXPECT_EQ(detect_runtime("x", "#!/usr/bin/perl -w\n"), "perl");
}

TEST(Runtime, ExtensionWhenNoShebang) {
  EXPECT_EQ(detect_runtime("a.py", "print(1)"), "python3");
  EXPECT_EQ(detect_runtime("a.sh", "echo"), "bash");
  EXPECT_EQ(detect_runtime("a.js", ""), "node");
  EXPECT_EQ(detect_runtime("a.rb", ""), "ruby");
  EXPECT_EQ(detect_runtime("a.pl", ""), "perl");
  EXPECT_EQ(detect_runtime("a.php", ""), "php");
  EXPECT_FALSE(detect_runtime("a.txt", "hello"));
  EXPECT_FALSE(detect_runtime("a", "#!/bin/zsh\n"));
}

TEST(Runtime, KnownRuntimes) {
  EXPECT_TRUE(is_known_runtime("python3"));
  EXPECT_FALSE(is_known_runtime("cobol"));
  EXPECT_EQ(interpreter_names("node").size(), 2U);
}

}  // namespace
}  // namespace prisn::model
