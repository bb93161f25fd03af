// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/model/json.hpp"

namespace prisn::model {

/// One path of an ingress rule: requests under `path` go to `deployment` on `port`.
struct IngressPath {
  std::string path = "/";  ///< prefix on whole segments: "/app" matches "/app" and "/app/x"
  std::string deployment;
  std::uint16_t port = 0;  ///< one of the deployment's ports; 0 = its first
  bool operator==(const IngressPath&) const = default;
};

struct IngressRule {
  std::string host;  ///< "api.example.com", "*.example.com" (one extra label), or "" = any host
  std::vector<IngressPath> paths;
  bool operator==(const IngressRule&) const = default;
};

struct IngressTls {
  std::vector<std::string> hosts;
  std::string secret_name;  ///< a secret with keys tls.crt and tls.key
  bool operator==(const IngressTls&) const = default;
};

/// The seed's Ingress (SPEC §3): host and path rules to deployments, and TLS certificates.
struct IngressSpec {
  std::string name;
  std::string ns = "default";
  std::vector<IngressRule> rules;
  std::vector<IngressTls> tls;
  bool operator==(const IngressSpec&) const = default;
};

/// Validates an ingress body, flat ({"name", "rules", "tls"}) or in the seed's shape
/// ({"metadata": {...}, "spec": {...}}). Errors name the field ("rules[0].paths[1].path: ...").
Result<IngressSpec> decode_ingress(const Json& body, const DecodeContext& ctx);
Json encode_ingress(const IngressSpec& spec);

/// True for "api.example.com" (lowercase labels) and "*.example.com".
bool is_valid_ingress_host(std::string_view host);
/// True for a route's path prefix: starts with '/', at most 1 KiB, no whitespace, '?' or '#'.
bool is_valid_ingress_path(std::string_view path);

}  // namespace prisn::model
