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

TEST(Runtime, AShebangNamingAnotherProgramIsNotOverriddenByTheExtension) {
  EXPECT_FALSE(detect_runtime("old.py", "#!/usr/bin/env python2\nprint 'x'\n"));
  EXPECT_FALSE(detect_runtime("x.py", "#!/usr/bin/python2.7\n"));
  EXPECT_EQ(detect_runtime("x.py", "#!/usr/bin/python3.11\n"), "python3");
  EXPECT_NE(undetected_runtime("#!/usr/bin/env python2\n").find("'python2'"), std::string::npos);
  EXPECT_NE(undetected_runtime("hello").find("cannot be detected"), std::string::npos);
}

TEST(Runtime, ShebangOptionsGoToTheirOwnRuntimeOnly) {
  using V = std::vector<std::string>;
  EXPECT_EQ(shebang_options("#!/bin/bash -e\nfalse\n", "bash"), V{"-e"});
  EXPECT_EQ(shebang_options("#!/bin/bash -e -u\n", "bash"), (V{"-e", "-u"}));
  EXPECT_EQ(shebang_options("#!/usr/bin/env -S bash -eu\n", "bash"), V{"-eu"});
  EXPECT_EQ(shebang_options("#!/usr/bin/python3 -O\r\n", "python3"), V{"-O"});
  EXPECT_EQ(shebang_options("#!/usr/bin/env python3\n", "python3"), V{});
  EXPECT_EQ(shebang_options("#!/bin/bash -e\n", "python3"), V{});  // --runtime python3 overrides it
  EXPECT_EQ(shebang_options("echo -e\n", "bash"), V{});
}

TEST(Runtime, KnownRuntimes) {
  EXPECT_TRUE(is_known_runtime("python3"));
  EXPECT_FALSE(is_known_runtime("cobol"));
  EXPECT_EQ(interpreter_names("node").size(), 2U);
}

TEST(Runtime, AVersionInTheShebangIsLookedForFirst) {
  using V = std::vector<std::string>;
  EXPECT_EQ(interpreter_names("python3", "#!/usr/bin/env python3.13\n"), (V{"python3.13", "python3"}));
  EXPECT_EQ(interpreter_names("ruby", "#!/usr/bin/ruby3.1 -w\n"), (V{"ruby3.1", "ruby"}));
  EXPECT_EQ(interpreter_names("python3", "#!/usr/bin/env python3\n"), V{"python3"});
  EXPECT_EQ(interpreter_names("python3", "#!/usr/bin/python\n"), V{"python3"});  // may be Python 2
  EXPECT_EQ(interpreter_names("python3", "#!/usr/bin/env python3-config\n"), V{"python3"});  // not a version
  EXPECT_EQ(interpreter_names("python3", "#!/bin/bash\n"), V{"python3"});  // --runtime python3 given
}

}  // namespace
}  // namespace prisn::model
