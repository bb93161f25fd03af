// SPDX-License-Identifier: MIT
// prisn dns lookup: what prisn DNS answers for a name, through the API.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands/commands.hpp"
#include "cli/table.hpp"
#include "prisn/client/http_client.hpp"
#include "prisn/dns/message.hpp"

namespace prisn::cli {

int dns_lookup_command(Cli& cli, const std::string& name, const std::string& type) {
  if (!dns::lookup_type(type)) {  // as the API would refuse it, but a usage error
    throw UsageError(fmt::format("--type {}: expected {}", type, dns::kLookupTypeNames));
  }
  const Json r = cli.call("GET", "/api/v1/dns/lookup?name=" + client::url_encode(name) +
                                     "&type=" + client::url_encode(type) + cli.ns_query(true));
  if (cli.structured_output()) {
    cli.print_structured(r);
    return r.value("rcode", "") == "NOERROR" ? 0 : 1;
  }
  const std::string rcode = r.value("rcode", "");
  const std::string asked = r.value("name", name);  // a bare name as completed from the search list
  if (rcode == "NXDOMAIN") Cli::fail(fmt::format("{}: NXDOMAIN (no such name)", asked));
  if (rcode != "NOERROR") Cli::fail(fmt::format("{}: {} from the DNS server", asked, rcode));
  if (r["answers"].empty()) {
    // "Healthy" speaks of prisn's own zone; an upstream's NODATA only says the name exists.
    const bool own_zone = r.value("authoritative", false);
    std::cout << fmt::format("{}: no {} records (NODATA: the name exists, {})\n", asked, r.value("type", type),
                             own_zone ? "nothing of this type is healthy" : "without records of this type, says the upstream");
    return 0;
  }
  std::vector<std::string> headers = {"NAME", "TYPE", "TTL", "DATA"};
  if (cli.wide()) headers.emplace_back("SECTION");
  Table table(headers);
  for (const char* section : {"answers", "additional"}) {
    for (const auto& rr : r[section]) {
      std::vector<std::string> row = {rr.value("name", ""), rr.value("type", ""),
                                      std::to_string(rr.value("ttl", 0)), rr.value("data", "")};
      if (cli.wide()) row.emplace_back(section == std::string("answers") ? "answer" : "additional");
      table.add(std::move(row));
    }
  }
  std::cout << table.render();
  return 0;
}

}  // namespace prisn::cli
