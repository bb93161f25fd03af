// SPDX-License-Identifier: MIT
// The server's query path on any datagram: respond() must never crash, its fast query parser
// must accept only what the full parser accepts, and every reply must itself parse and fit.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "prisn/dns/codec.hpp"
#include "prisn/dns/responder.hpp"

namespace {

const prisn::dns::Zone& zone() {
  using namespace prisn::dns;
  static const auto z = [] {
    ServiceEntry api{"default", "api", {"http"}, {}};
    for (int i = 0; i < 30; ++i) {
      api.instances.push_back({"api-" + std::to_string(i), {10, 209, 0, static_cast<std::uint8_t>(i)},
                               {static_cast<std::uint16_t>(40000 + i)}, i % 3 != 0});
    }
    return Zone::build({}, {api}, 1);
  }();
  return *z;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace prisn::dns;
  const std::span<const std::uint8_t> query(data, size);
  QueryHead head;
  if (parse_query_head(query, head) == QueryStatus::kOk && !parse(query)) {
    std::abort();  // the fast path accepted what the strict parser rejects
  }
  for (bool tcp : {false, true}) {
    std::vector<std::uint8_t> out;
    const Reply reply = respond(zone(), query, {.tcp = tcp, .may_forward = (size & 1) != 0}, out);
    if (reply.outcome != Outcome::kAnswered) continue;
    if (!parse(out)) std::abort();
    if (!tcp && out.size() > udp_reply_limit(head, 4096) && out.size() > 512) std::abort();
  }
  return 0;
}
