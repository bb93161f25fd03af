// SPDX-License-Identifier: MIT
// Request bodies are untrusted: decoding deployments, executions and secrets must never
// crash or throw, and a deployment that decodes must survive encode → decode unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "prisn/model/deployment_json.hpp"
#include "prisn/model/execution.hpp"
#include "prisn/model/secret.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace prisn::model;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto json = parse_json_body(body);
  if (!json) {
    return 0;
  }
  (void)decode_execution_request(*json, "");
  (void)decode_secret(*json, "", "");
  auto spec = decode_deployment(*json, {});
  if (spec && !spec->port_auto) {
    const Json encoded = encode_spec(*spec, true);
    (void)encoded.dump(-1, ' ', false, Json::error_handler_t::replace);
    auto again = decode_deployment(encoded, {});
    if (!again || !(*again == *spec)) {
      std::abort();  // round-trip property
    }
  }
  return 0;
}
