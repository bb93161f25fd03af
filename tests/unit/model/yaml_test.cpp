// SPDX-License-Identifier: MIT
#include "prisn/model/yaml.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace prisn::model {
namespace {

const Json kValue = Json::parse(R"j({
  "name": "alpha", "port": "8080", "flag": "yes", "off": "Off", "tilde": "~", "hex": "0x1F", "time": "1:20",
  "created": "2026-12-07T01:38:50Z", "day": "2026-01-01", "spaced": "2026-1-2 3:04:05", "inf": ".inf", "empty": "", "colon": "a: b", "value": "=", "merge": "<<", "script": "print('hi')\n", "crlf": "a\r\n",
  "n": 8080, "big": 18446744073709551615, "neg": -3, "ratio": 0.5, "yes": true, "none": null,
  "list": ["x", 1]
})j");

TEST(Yaml, ReadsBackAsTheSameValues) {
  for (auto style : {YamlStrings::kReadable, YamlStrings::kQuoted}) {
    const auto doc = YAML::Load(to_yaml(kValue, style));
    for (const auto& [key, value] : kValue.items()) {
      ASSERT_TRUE(doc[key]) << key;
      if (value.is_string()) {
        EXPECT_EQ(doc[key].as<std::string>(), value.get<std::string>()) << key;
      }
    }
    EXPECT_EQ(doc["n"].as<int>(), 8080);
    EXPECT_EQ(doc["big"].as<unsigned long long>(), 18446744073709551615ULL);
    EXPECT_EQ(doc["neg"].as<int>(), -3);
    EXPECT_DOUBLE_EQ(doc["ratio"].as<double>(), 0.5);
    EXPECT_TRUE(doc["yes"].as<bool>());
    EXPECT_TRUE(doc["none"].IsNull());
    EXPECT_EQ(doc["list"][0].as<std::string>(), "x");
  }
}

// A plain scalar has the tag "?" and is resolved by the reader: only safe strings may be plain.
TEST(Yaml, ReadableQuotesOnlyStringsThatWouldReadAsAnotherType) {
  const std::string text = to_yaml(kValue, YamlStrings::kReadable);
  EXPECT_NE(text.find("name: alpha\n"), std::string::npos) << text;
  const auto doc = YAML::Load(text);
  EXPECT_EQ(doc["name"].Tag(), "?");
  for (const char* key : {"port", "flag", "off", "tilde", "hex", "time", "created", "day", "spaced", "inf", "empty", "value",
                          "merge"}) {
    EXPECT_EQ(doc[key].Tag(), "!") << key << " must be quoted";
  }
  EXPECT_EQ(doc["script"].Tag(), "!") << "a literal block";
  EXPECT_NE(text.find("script: |\n"), std::string::npos) << text;
}

// YAML allows no raw control characters, and YAML 1.1 readers (kubectl's) break lines at NEL,
// U+2028 and U+2029: such strings are escaped in double quotes, whatever else they hold.
TEST(Yaml, UnprintableCharactersAreEscaped) {
  for (const std::string& s : {std::string("page\x0c two\n"), std::string("esc \x1b[0m\n"), std::string("del \x7f"),
                              std::string("nel \xc2\x85 here\n"), std::string("ls \xe2\x80\xa8 ps \xe2\x80\xa9\n"),
                              std::string("nul \0 byte", 10)}) {
    const std::string text = to_yaml(Json{{"script", s}}, YamlStrings::kReadable);
    for (char raw : {'\x0c', '\x1b', '\x7f', '\0'}) EXPECT_EQ(text.find(raw), std::string::npos) << text;
    EXPECT_EQ(text.find("\xe2\x80\xa8"), std::string::npos) << text;
    EXPECT_EQ(text.find("\xc2\x85"), std::string::npos) << text;
    EXPECT_EQ(YAML::Load(text)["script"].as<std::string>(), s) << text;
  }
  // Other text outside ASCII stays as it is.
  EXPECT_NE(to_yaml(Json{{"s", "héllo ✓\n"}}, YamlStrings::kReadable).find("héllo ✓"), std::string::npos);
}

// PyYAML reads a plain "-.inf" as a float, and takes a raw CR in a plain scalar for a line
// break; a key is resolved as a value is ("NO:" is false to a YAML 1.1 reader).
TEST(Yaml, SignedInfinitiesCarriageReturnsAndKeysReadBackAsStrings) {
  const Json value = Json::parse(R"j({"a": "-.inf", "b": "+.Inf", "c": "-", "d": "cr\rx", "NO": "1", "ON": "hello",
                                      "keys": ["-.INF", "a\rb"], "plain-key": "hello"})j");
  const std::string text = to_yaml(value, YamlStrings::kReadable);
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  const auto doc = YAML::Load(text);
  for (const char* key : {"a", "b", "c", "d"}) EXPECT_EQ(doc[key].Tag(), "!") << key << " must be quoted";
  EXPECT_EQ(doc["d"].as<std::string>(), "cr\rx");
  EXPECT_EQ(doc["keys"][1].as<std::string>(), "a\rb");
  EXPECT_NE(text.find("\"NO\": \"1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"ON\": hello"), std::string::npos) << text;
  EXPECT_NE(text.find("plain-key: hello"), std::string::npos) << text;
  EXPECT_NE(to_yaml(value, YamlStrings::kQuoted).find("plain-key: \"hello\""), std::string::npos) << "keys stay readable";
}

TEST(Yaml, QuotedQuotesEveryString) {
  const auto doc = YAML::Load(to_yaml(kValue, YamlStrings::kQuoted));
  for (const auto& [key, value] : kValue.items()) {
    if (value.is_string()) {
      EXPECT_EQ(doc[key].Tag(), "!") << key;
    }
  }
  EXPECT_EQ(doc["n"].Tag(), "?") << "numbers stay numbers";
}

}  // namespace
}  // namespace prisn::model
