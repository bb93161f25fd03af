// SPDX-License-Identifier: MIT
#include "prisn/model/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <string_view>

namespace prisn::model {
namespace {

// Characters YAML does not allow unescaped (C0 controls but tab and line feed, DEL, C1
// controls), and those YAML 1.1 readers such as kubectl's take for line breaks (NEL, U+2028,
// U+2029): only a double-quoted scalar with escapes carries them.
bool has_unprintable(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    const auto after = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
    // A lone CR is a line break to a reader, and a CR in a quoted scalar is folded away.
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) return true;
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) return true;                  // U+0080..U+009F
    if (c == 0xE2 && next == 0x80 && (after == 0xA8 || after == 0xA9)) return true;  // U+2028, U+2029
  }
  return false;
}

// A literal block reads back byte-exact only for text ending in exactly one newline, without
// leading blanks, trailing spaces on a line, tabs, carriage returns or unprintable characters.
bool fits_literal_block(const std::string& s) {
  return s.size() > 1 && s.back() == '\n' && !s.ends_with("\n\n") && s.find('\r') == std::string::npos &&
         s.find(" \n") == std::string::npos && s.find('\t') == std::string::npos && s.front() != ' ' &&
         s.front() != '\n' && !has_unprintable(s);
}

// Whether `s` begins like a YAML 1.1 timestamp ("2026-12-07", "2026-12-07T01:38:50Z"), which
// PyYAML and others read as a date.
bool starts_like_a_date(const std::string& s) {
  static const std::regex kDate(R"(^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?$)");
  return s.size() >= 8 && std::regex_match(s, kDate);
}

// yaml-cpp writes "8080", "yes" or "2026-12-07" plain, and a reader resolves them as a
// number, a boolean or a date. Conservatively (by hand: yaml-cpp has no resolver to ask), a
// string made only of number characters, one of YAML 1.1's null, boolean, value or merge
// words, or one that starts like a date is quoted.
bool reads_as_another_type(const std::string& s) {
  if (s.empty()) return true;  // null
  // ".inf", "-.inf", "+.Inf", ".nan"; and a lone "-" or "+", which plain is not a string either.
  const std::string_view unsigned_part = s.front() == '-' || s.front() == '+' ? std::string_view(s).substr(1) : s;
  if (unsigned_part.empty() || unsigned_part.front() == '.') return true;
  if (starts_like_a_date(s)) return true;
  constexpr std::string_view kNumberChars = "0123456789abcdefABCDEFxXoO+-._:";
  if (std::all_of(s.begin(), s.end(), [&](char c) { return kNumberChars.find(c) != std::string_view::npos; })) {
    return true;
  }
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // "=" and "<<": YAML 1.1's value and merge keys, which PyYAML will not load as plain strings.
  constexpr std::array<std::string_view, 12> kWords{"~",  "null", "true", "false", "yes", "no",
                                                    "on", "off",  "y",    "n",     "=",   "<<"};
  return std::find(kWords.begin(), kWords.end(), lower) != kWords.end();
}

// A string as a scalar that reads back as the same string; a literal block where that is
// byte-exact and allowed (not for a key).
void emit_string(YAML::Emitter& out, const std::string& s, YamlStrings strings, bool block_allowed) {
  if (has_unprintable(s)) {
    // yaml-cpp escapes C0 and C1 controls in quotes but writes DEL, U+2028 and U+2029 as
    // they are, unless told to escape everything outside ASCII (for this string only).
    out << YAML::DoubleQuoted << YAML::EscapeNonAscii << s;
    return;
  }
  if (block_allowed && fits_literal_block(s)) out << YAML::Literal;
  else if (strings == YamlStrings::kQuoted || reads_as_another_type(s)) out << YAML::DoubleQuoted;
  out << s;
}

void emit(YAML::Emitter& out, const Json& v, YamlStrings strings) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, child] : v.items()) {
        out << YAML::Key;
        // A key is resolved as a value is (an env var NO would read as false); quoted only then.
        emit_string(out, k, YamlStrings::kReadable, false);
        out << YAML::Value;
        emit(out, child, strings);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& child : v) emit(out, child, strings);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string:
      emit_string(out, v.get_ref<const std::string&>(), strings, true);
      break;
    case Json::value_t::boolean:
      out << v.get<bool>();
      break;
    case Json::value_t::number_integer:
      out << v.get<long long>();
      break;
    case Json::value_t::number_unsigned:
      out << v.get<unsigned long long>();
      break;
    case Json::value_t::number_float:
      out << v.get<double>();
      break;
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::string to_yaml(const Json& value, YamlStrings strings) {
  YAML::Emitter out;
  emit(out, value, strings);
  return std::string(out.c_str()) + "\n";
}

}  // namespace prisn::model
