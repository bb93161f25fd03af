// SPDX-License-Identifier: MIT
#include "prisn/model/json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "prisn/core/duration.hpp"

namespace prisn::model {

namespace {

// The library's message without its "[json.exception.…]" tag and without the "last read"
// excerpt of the input: that excerpt may be a secret's value (a PEM pasted with raw
// newlines stops the parser inside it), and no response may echo one (SPEC §3 Secret).
std::string describe_without_input(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    if (const auto tag_end = what.find("] "); tag_end != std::string_view::npos) what.remove_prefix(tag_end + 2);
  }
  if (const auto excerpt = what.find("; last read:"); excerpt != std::string_view::npos) what = what.substr(0, excerpt);
  return std::string(what);
}

}  // namespace

Result<std::chrono::milliseconds> duration_value(const Json& v) {
  if (v.is_number_unsigned()) {
    // Over what a long long holds is over the limit too.
    return duration_from_seconds(static_cast<long long>(std::min<unsigned long long>(
        v.get<unsigned long long>(), static_cast<unsigned long long>(std::numeric_limits<long long>::max()))));
  }
  if (v.is_number_integer()) return duration_from_seconds(v.get<long long>());
  if (v.is_string()) return parse_duration(v.get_ref<const std::string&>());
  return Error::invalid("must be a duration such as \"30s\" or \"10m\"");
}

Result<Json> parse_json_body(std::string_view body) {
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // Re-parse for the position; the second pass only happens on bad input.
    try {
      const Json reparsed = Json::parse(body);
      (void)reparsed;
    } catch (const Json::exception& e) {
      // parse_error for bad syntax, out_of_range for a number too large for a double.
      return Error::bad_request(fmt::format("malformed JSON: {}", describe_without_input(e.what())));
    }
    return Error::bad_request("malformed JSON");
  }
  return Result<Json>(boost::system::in_place_value, std::move(parsed));
}

ObjectReader::ObjectReader(const Json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

bool ObjectReader::has(const char* key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const Json* ObjectReader::get(const char* key) {
  known_.emplace_back(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

void ObjectReader::ignore(std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    known_.emplace_back(k);
  }
}

std::string ObjectReader::path(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

Result<std::string> ObjectReader::string(const char* key, std::string fallback) {
  const Json* v = get(key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_string()) {
    return Error::invalid(fmt::format("{}: must be a string", path(key)));
  }
  return v->get<std::string>();
}

Result<bool> ObjectReader::boolean(const char* key, bool fallback) {
  const Json* v = get(key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_boolean()) {
    return Error::invalid(fmt::format("{}: must be true or false", path(key)));
  }
  return v->get<bool>();
}

Result<long long> ObjectReader::integer(const char* key, long long fallback, long long lo,
                                        long long hi) {
  const Json* v = get(key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_number_integer()) {
    return Error::invalid(fmt::format("{}: must be an integer", path(key)));
  }
  const long long value = v->get<long long>();
  if (value < lo || value > hi) {
    return Error::invalid(fmt::format("{}: must be between {} and {}", path(key), lo, hi));
  }
  return value;
}

Result<void> ObjectReader::finish() const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      return Error::invalid(fmt::format("{}: unknown field", path_.empty() ? key : path_ + "." + key));
    }
  }
  return {};
}

}  // namespace prisn::model
