// SPDX-License-Identifier: MIT
#include "api/dns_routes.hpp"

#include <fmt/format.h>

#include "api/handlers.hpp"
#include "prisn/dns/client.hpp"

namespace prisn::api {
namespace {

using model::Json;
constexpr std::chrono::milliseconds kLookupTimeout{3000};  // the forwarder gives up after 1.8 s

Json records_json(const std::vector<dns::Record>& records) {
  Json out = Json::array();
  for (const auto& rr : records) {
    out.push_back({{"name", rr.name.to_text()}, {"type", dns::type_name(rr.type)}, {"ttl", rr.ttl},
                   {"data", dns::rdata_text(rr)}});
  }
  return out;
}

// A coroutine with its inputs as values (never a capturing coroutine lambda).
boost::asio::awaitable<Response> lookup_response(boost::asio::any_io_executor executor, std::string server,
                                                 dns::Name name, std::uint16_t type) {
  auto reply = co_await dns::lookup(executor, server, name, type, kLookupTimeout);
  if (!reply) {
    co_return error(Error::unavailable(
        fmt::format("no answer from the DNS server on {}: {}", server, reply.error().message())));
  }
  co_return json(200, {{"name", name.to_text()},
                       {"type", dns::type_name(type)},
                       {"server", server},
                       {"rcode", dns::rcode_name(reply->rcode)},
                       {"authoritative", reply->aa},
                       {"truncated", reply->tc},
                       {"answers", records_json(reply->answers)},
                       {"authority", records_json(reply->authority)},
                       {"additional", records_json(reply->additional)}});
}

}  // namespace

void add_dns_routes(Router& r, control::Controller& ctl, boost::asio::any_io_executor executor) {
  r.add("GET", "/api/v1/dns/lookup", [&ctl, executor](const Request& req, const Params&) {
    std::string text = req.param("name");
    if (text.empty()) return error(Error::invalid("name is required (?name=api.default.prisn.local)"));
    // A bare name is looked up as a workload's resolver does, through the first entry of its
    // search list: `api` is api.NS.DOMAIN, as `dig +search` or nslookup would ask for it.
    if (text.find('.') == std::string::npos) {
      auto ns = namespace_of(req);
      if (!ns) return error(ns.error());
      text += "." + *ns + "." + ctl.dns_domain();
    }
    auto name = dns::Name::from_text(text);
    if (!name) return error(Error::invalid(fmt::format("name: {}", name.error().message)));
    const std::string type_text = req.param("type", "A");
    const auto type = dns::lookup_type(type_text);
    if (!type) {
      return error(Error::invalid(fmt::format("type: '{}' is not a record type to look up ({})", type_text.substr(0, 20),
                                              dns::kLookupTypeNames)));
    }
    if (ctl.dns_address().empty()) {
      return error(Error::unavailable("prisn DNS is off (prisnd was started with --dns off)"));
    }
    Response out;
    out.deferred = [executor, server = ctl.dns_address(), n = *name, t = *type]() {
      return lookup_response(executor, server, n, t);
    };
    return out;
  });
}

}  // namespace prisn::api
