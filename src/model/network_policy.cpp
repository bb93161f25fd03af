// SPDX-License-Identifier: MIT
#include "prisn/model/network_policy.hpp"

#include <fmt/format.h>

#include "prisn/core/names.hpp"
#include "prisn/model/document.hpp"

namespace prisn::model {
namespace {

constexpr std::size_t kMaxRules = 100;

Error invalid(std::string m) { return Error::invalid(std::move(m)); }

// {"deployment": NAME}
Result<std::string> deployment_ref(const Json& v, const std::string& at) {
  if (!v.is_object()) return invalid(at + ": must be {\"deployment\": NAME}");
  ObjectReader r(v, at);
  auto name = r.string("deployment");
  if (!name) return name.error();
  if (auto ok = validate_name(r.path("deployment"), *name); !ok) return ok.error();
  if (auto ok = r.finish(); !ok) return ok.error();
  return name;
}

// 5432, or {"port": 5432, "protocol": "TCP"} as in Kubernetes.
Result<std::uint16_t> policy_port(const Json& v, const std::string& at) {
  const Json* port = &v;
  if (v.is_object()) {
    ObjectReader r(v, at);
    auto protocol = r.string("protocol", "TCP");
    if (!protocol) return protocol.error();
    if (*protocol != "TCP" && *protocol != "tcp") return invalid(r.path("protocol") + ": only TCP");
    port = r.get("port");
    if (auto ok = r.finish(); !ok) return ok.error();
    if (port == nullptr) return invalid(at + ".port is required");
  }
  if (!port->is_number_integer() || port->get<long long>() < 1 || port->get<long long>() > 65535) {
    return invalid(at + ": must be a port number from 1 to 65535");
  }
  return static_cast<std::uint16_t>(port->get<long long>());
}

Result<PolicyRule> decode_rule(const Json& v, const std::string& at) {
  if (!v.is_object()) return invalid(at + ": must be an object with from and ports");
  ObjectReader r(v, at);
  PolicyRule rule;
  const Json* from = r.get("from");
  if (from == nullptr || !from->is_array() || from->empty() || from->size() > kMaxRules) {
    return invalid(r.path("from") + ": must be a list of {deployment: NAME}");
  }
  for (std::size_t i = 0; i < from->size(); ++i) {
    auto name = deployment_ref((*from)[i], fmt::format("{}[{}]", r.path("from"), i));
    if (!name) return name.error();
    rule.from.push_back(*name);
  }
  if (const Json* ports = r.get("ports")) {
    if (!ports->is_array() || ports->size() > kMaxRules) return invalid(r.path("ports") + ": must be a list of ports");
    for (std::size_t i = 0; i < ports->size(); ++i) {
      auto port = policy_port((*ports)[i], fmt::format("{}[{}]", r.path("ports"), i));
      if (!port) return port.error();
      rule.ports.push_back(*port);
    }
  }
  if (auto ok = r.finish(); !ok) return ok.error();
  return rule;
}

}  // namespace

Result<NetworkPolicySpec> decode_network_policy(const Json& input, const DecodeContext& ctx) {
  Json flat;
  if (is_document(input)) {
    auto doc = flatten_document(input, "NetworkPolicy");
    if (!doc) return doc.error();
    flat = std::move(doc->body);
  }
  const Json& body = flat.is_null() ? input : flat;
  if (!body.is_object()) return invalid("body: must be a JSON object");
  ObjectReader r(body, "");
  r.ignore({"created_at", "updated_at", "kind", "apiVersion", "enforced", "reason"});
  NetworkPolicySpec spec;
  if (auto ok = read_names(r, ctx, spec.name, spec.ns); !ok) return ok.error();
  const Json* target = r.get("target");
  if (target == nullptr) return invalid("target is required: {\"deployment\": NAME}");
  auto name = deployment_ref(*target, "target");
  if (!name) return name.error();
  spec.target = *name;
  if (const Json* ingress = r.get("ingress")) {
    if (!ingress->is_array() || ingress->size() > kMaxRules) return invalid("ingress: must be a list of rules");
    for (std::size_t i = 0; i < ingress->size(); ++i) {
      auto rule = decode_rule((*ingress)[i], fmt::format("ingress[{}]", i));
      if (!rule) return rule.error();
      spec.ingress.push_back(*rule);
    }
  }
  if (auto ok = r.finish(); !ok) return ok.error();
  return spec;
}

Json encode_network_policy(const NetworkPolicySpec& spec) {
  Json rules = Json::array();
  for (const auto& rule : spec.ingress) {
    Json from = Json::array();
    for (const auto& d : rule.from) from.push_back({{"deployment", d}});
    rules.push_back({{"from", from}, {"ports", rule.ports}});
  }
  return {{"name", spec.name}, {"namespace", spec.ns}, {"target", {{"deployment", spec.target}}}, {"ingress", rules}};
}

}  // namespace prisn::model
