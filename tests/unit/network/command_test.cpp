// SPDX-License-Identifier: MIT
#include "prisn/network/command.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

namespace prisn::network {
namespace {

TEST(RunCommand, ReturnsWhatTheProgramWroteToStdout) {
  auto out = run_command({"sh", "-c", "echo hello; echo ignored >&2"});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, "hello\n");
}

TEST(RunCommand, FeedsInputLargerThanAPipeBuffer) {
  const std::string input(1 << 20, 'x');
  auto out = run_command({"wc", "-c"}, input);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(std::stoul(*out), input.size());
}

TEST(RunCommand, AFailureQuotesTheCommandAndItsStderr) {
  auto out = run_command({"sh", "-c", "echo 'Error: no such device' >&2; exit 2"});
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("exit status 2"), std::string::npos) << out.error().message;
  EXPECT_NE(out.error().message.find("Error: no such device"), std::string::npos) << out.error().message;
}

TEST(RunCommand, AProgramThatExitsWithoutReadingItsInputIsNoCrash) {
  ::signal(SIGPIPE, SIG_IGN);  // as prisnd does at start
  auto out = run_command({"true"}, std::string(1 << 20, 'x'));
  EXPECT_TRUE(out) << out.error().message;
}

TEST(RunCommand, AMissingProgramIsAnError) {
  auto out = run_command({"prisn-no-such-program"});
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("prisn-no-such-program"), std::string::npos);
}

TEST(RunCommand, AProgramThatOutlivesTheTimeoutIsKilled) {
  const auto start = std::chrono::steady_clock::now();
  auto out = run_command({"sleep", "5"}, {}, std::chrono::milliseconds(200));
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("did not finish"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace prisn::network
