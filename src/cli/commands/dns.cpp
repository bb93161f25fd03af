// SPDX-License-Identifier: MIT
// prisn dns lookup: what prisn DNS answers for a name, through the API.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <set>

#include "cli/commands/commands.hpp"
#include "cli/table.hpp"
#include "prisn/client/http_client.hpp"

namespace prisn::cli {

namespace {

// The types prisn DNS looks up (as the API lists them), or TYPEn (RFC 3597), in any case.
bool is_lookup_type(std::string type) {
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::set<std::string> kNamed = {"A", "AAAA", "SRV", "SOA", "NS", "CNAME", "PTR", "MX", "TXT", "ANY"};
  if (kNamed.contains(type)) return true;
  return type.size() > 4 && type.size() <= 9 && type.starts_with("TYPE") &&
         std::all_of(type.begin() + 4, type.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

int dns_lookup_command(Cli& cli, const std::string& name, const std::string& type) {
  if (!is_lookup_type(type)) {
    throw UsageError(fmt::format("--type {}: expected A, AAAA, SRV, SOA, NS, CNAME, PTR, MX, TXT or ANY", type));
  }
  const Json r = cli.call("GET", "/api/v1/dns/lookup?name=" + client::url_encode(name) +
                                     "&type=" + client::url_encode(type));
  if (cli.structured_output()) {
    cli.print_structured(r);
    return r.value("rcode", "") == "NOERROR" ? 0 : 1;
  }
  const std::string rcode = r.value("rcode", "");
  if (rcode == "NXDOMAIN") Cli::fail(fmt::format("{}: NXDOMAIN (no such name)", name));
  if (rcode != "NOERROR") Cli::fail(fmt::format("{}: {} from the DNS server", name, rcode));
  if (r["answers"].empty()) {
    std::cout << fmt::format("{}: no {} records (NODATA: the name exists, nothing of this type is healthy)\n",
                             name, r.value("type", type));
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
