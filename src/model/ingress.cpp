// SPDX-License-Identifier: MIT
#include "prisn/model/ingress.hpp"

#include <fmt/format.h>

#include <set>

#include "prisn/core/names.hpp"
#include "prisn/model/document.hpp"

namespace prisn::model {
namespace {

constexpr std::size_t kMaxRules = 100;
constexpr std::size_t kMaxPaths = 100;
constexpr std::size_t kMaxPathLength = 1024;

Error invalid(std::string m) { return Error::invalid(std::move(m)); }

bool is_host_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<std::string> host_field(ObjectReader& r, const char* key) {
  auto host = r.string(key);
  if (!host) return host.error();
  if (!host->empty() && !is_valid_ingress_host(*host)) {
    return invalid(fmt::format("{}: '{}' is not a host name (lowercase, or *.example.com)", r.path(key),
                               host->substr(0, 80)));
  }
  return host;
}

Result<IngressPath> decode_path(const Json& v, const std::string& at) {
  if (!v.is_object()) return invalid(at + ": must be an object with path, deployment and port");
  ObjectReader r(v, at);
  IngressPath p;
  auto path = r.string("path", "/");
  if (!path) return path.error();
  if (!is_valid_ingress_path(*path)) {
    return invalid(fmt::format("{}: must start with '/' and hold no spaces, '?' or '#'", r.path("path")));
  }
  p.path = *path;
  auto deployment = r.string("deployment");
  if (!deployment) return deployment.error();
  if (auto ok = validate_name(r.path("deployment"), *deployment); !ok) return ok.error();
  p.deployment = *deployment;
  auto port = r.integer("port", 0, 1, 65535);
  if (!port) return port.error();
  p.port = static_cast<std::uint16_t>(*port);
  if (auto ok = r.finish(); !ok) return ok.error();
  return p;
}

Result<IngressRule> decode_rule(const Json& v, const std::string& at) {
  if (!v.is_object()) return invalid(at + ": must be an object with host and paths");
  ObjectReader r(v, at);
  IngressRule rule;
  auto host = host_field(r, "host");
  if (!host) return host.error();
  rule.host = *host;
  const Json* paths = r.get("paths");
  if (paths == nullptr || !paths->is_array() || paths->empty() || paths->size() > kMaxPaths) {
    return invalid(fmt::format("{}: must be a list of 1 to {} paths", r.path("paths"), kMaxPaths));
  }
  for (std::size_t i = 0; i < paths->size(); ++i) {
    auto p = decode_path((*paths)[i], fmt::format("{}[{}]", r.path("paths"), i));
    if (!p) return p.error();
    rule.paths.push_back(*p);
  }
  if (auto ok = r.finish(); !ok) return ok.error();
  return rule;
}

Result<IngressTls> decode_tls(const Json& v, const std::string& at) {
  if (!v.is_object()) return invalid(at + ": must be an object with hosts and secretName");
  ObjectReader r(v, at);
  IngressTls tls;
  const Json* hosts = r.get("hosts");
  if (hosts == nullptr || !hosts->is_array() || hosts->empty()) return invalid(r.path("hosts") + ": must be a list of hosts");
  for (std::size_t i = 0; i < hosts->size(); ++i) {
    const Json& h = (*hosts)[i];
    if (!h.is_string() || !is_valid_ingress_host(h.get<std::string>())) {
      return invalid(fmt::format("{}[{}]: must be a host name (lowercase, or *.example.com)", r.path("hosts"), i));
    }
    tls.hosts.push_back(h.get<std::string>());
  }
  auto secret = r.string("secretName");
  if (!secret) return secret.error();
  if (auto ok = validate_name(r.path("secretName"), *secret); !ok) return ok.error();
  tls.secret_name = *secret;
  if (auto ok = r.finish(); !ok) return ok.error();
  return tls;
}

// The same host and path twice would leave the choice of deployment to chance.
Result<void> check_unique_routes(const IngressSpec& spec) {
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < spec.rules.size(); ++i) {
    for (std::size_t j = 0; j < spec.rules[i].paths.size(); ++j) {
      if (!seen.insert({spec.rules[i].host, spec.rules[i].paths[j].path}).second) {
        return invalid(fmt::format("rules[{}].paths[{}]: host '{}' path '{}' is routed twice", i, j,
                                   spec.rules[i].host, spec.rules[i].paths[j].path));
      }
    }
  }
  return {};
}

}  // namespace

bool is_valid_ingress_path(std::string_view path) {
  return !path.empty() && path.front() == '/' && path.size() <= kMaxPathLength &&
         path.find_first_of(" \t\r\n?#") == std::string_view::npos;
}

bool is_valid_ingress_host(std::string_view host) {
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    const auto dot = std::min(host.find('.', start), host.size());
    if (!is_host_label(host.substr(start, dot - start))) return false;
    start = dot + 1;
  }
  return true;
}

Result<IngressSpec> decode_ingress(const Json& input, const DecodeContext& ctx) {
  Json flat;
  if (is_document(input)) {
    auto doc = flatten_document(input, "Ingress");
    if (!doc) return doc.error();
    flat = std::move(doc->body);
  }
  const Json& body = flat.is_null() ? input : flat;
  if (!body.is_object()) return invalid("body: must be a JSON object");
  ObjectReader r(body, "");
  r.ignore({"created_at", "updated_at", "kind", "apiVersion"});
  IngressSpec spec;
  if (auto ok = read_names(r, ctx, spec.name, spec.ns); !ok) return ok.error();
  const Json* rules = r.get("rules");
  if (rules == nullptr || !rules->is_array() || rules->empty() || rules->size() > kMaxRules) {
    return invalid(fmt::format("rules: must be a list of 1 to {} rules", kMaxRules));
  }
  for (std::size_t i = 0; i < rules->size(); ++i) {
    auto rule = decode_rule((*rules)[i], fmt::format("rules[{}]", i));
    if (!rule) return rule.error();
    spec.rules.push_back(*rule);
  }
  if (const Json* tls = r.get("tls")) {
    if (!tls->is_array() || tls->size() > kMaxRules) return invalid("tls: must be a list of {hosts, secretName}");
    for (std::size_t i = 0; i < tls->size(); ++i) {
      auto t = decode_tls((*tls)[i], fmt::format("tls[{}]", i));
      if (!t) return t.error();
      spec.tls.push_back(*t);
    }
  }
  if (auto ok = r.finish(); !ok) return ok.error();
  if (auto ok = check_unique_routes(spec); !ok) return ok.error();
  return spec;
}

Json encode_ingress(const IngressSpec& spec) {
  Json rules = Json::array();
  for (const auto& rule : spec.rules) {
    Json paths = Json::array();
    for (const auto& p : rule.paths) {
      Json item = {{"path", p.path}, {"deployment", p.deployment}};
      if (p.port != 0) item["port"] = p.port;
      paths.push_back(item);
    }
    rules.push_back({{"host", rule.host}, {"paths", paths}});
  }
  Json tls = Json::array();
  for (const auto& t : spec.tls) tls.push_back({{"hosts", t.hosts}, {"secretName", t.secret_name}});
  return {{"name", spec.name}, {"namespace", spec.ns}, {"rules", rules}, {"tls", tls}};
}

}  // namespace prisn::model
