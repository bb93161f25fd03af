// SPDX-License-Identifier: MIT
#include "prisn/core/names.hpp"

#include <algorithm>
#include <filesystem>

namespace prisn {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return false;
  }
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) {
    return false;
  }
  for (char c : name) {
    if (!is_lower_alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

namespace {

// "FIELD is required", or "FIELD: 'VALUE' is not a valid WHAT" (VALUE cut at 80 characters).
Error invalid_name(std::string_view field, std::string_view value, std::string_view what) {
  std::string msg(field);
  if (value.empty()) {
    msg += " is required";
  } else {
    msg += ": '" + std::string(value.substr(0, 80)) + "' is not a valid " + std::string(what);
  }
  return Error::invalid(std::move(msg));
}

}  // namespace

Result<void> validate_name(std::string_view field, std::string_view value) {
  if (is_valid_name(value)) return {};
  return invalid_name(field, value,
                      "name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 "
                      "characters)");
}

bool is_valid_port_name(std::string_view name) {
  if (name.size() > 15 || !is_valid_name(name) || name.find("--") != std::string_view::npos) {
    return false;
  }
  return std::any_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

Result<void> validate_port_name(std::string_view field, std::string_view value) {
  if (is_valid_port_name(value)) return {};
  return invalid_name(field, value,
                      "port name (at most 15 lowercase letters, digits and '-', with at least one letter, not starting "
                      "or ending with '-', no '--')");
}

std::string default_name_for_file(std::string_view path) {
  std::string stem = std::filesystem::path(path).stem().string();
  for (char& c : stem) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (c == '_' || c == '.') {
      c = '-';
    }
  }
  return stem;
}

}  // namespace prisn
