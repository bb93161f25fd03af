// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "prisn/model/json.hpp"

namespace prisn::model {

/// How `to_yaml` writes strings other than byte-exact literal blocks.
enum class YamlStrings {
  kReadable,  ///< plain where that reads back as the same string ("alpha"), else quoted ("8080", "true", "~")
  kQuoted,    ///< always double-quoted: manifests for tools with their own YAML resolvers
};

/// `value` as one YAML document, ending in a newline. Strings that end in one newline (scripts)
/// become literal blocks when that keeps them byte-exact; numbers, booleans and null stay typed.
std::string to_yaml(const Json& value, YamlStrings strings);

}  // namespace prisn::model
