// SPDX-License-Identifier: MIT
#include "prisn/dns/zone.hpp"

#include <algorithm>

namespace prisn::dns {

Zone::Node& Zone::node(const Name& name) {
  // Every ancestor up to the domain exists too, as an empty non-terminal (RFC 8020).
  const std::size_t domain_labels = Name::from_wire(domain_wire_).label_count();
  auto labels = name.labels();
  Name at = Name::from_wire(domain_wire_);
  for (std::size_t i = labels.size() - domain_labels; i-- > 0;) {
    at = at.prepend(labels[i]);
    nodes_.try_emplace(at.lowered().wire());
  }
  return nodes_[name.lowered().wire()];
}

std::shared_ptr<const Zone> Zone::build(const ZoneOptions& options, const std::vector<ServiceEntry>& services,
                                        std::uint32_t serial) {
  auto zone = std::make_shared<Zone>();
  zone->options_ = options;
  zone->serial_ = serial;
  auto domain = Name::from_text(options.domain);
  const Name apex = domain ? domain->lowered() : *Name::from_text("prisn.local");
  zone->domain_wire_ = apex.wire();
  zone->nodes_[apex.wire()].apex = true;
  zone->node(apex.prepend("ns")).a.push_back(options.server_ip);

  for (const auto& svc : services) {
    auto ns_name = Name::from_text(svc.ns);
    if (!ns_name || svc.name.empty() || svc.ns.empty()) continue;  // names are validated upstream
    const Name svc_name = apex.prepend(svc.ns).prepend(svc.name);
    Node& service = zone->node(svc_name);
    for (const auto& inst : svc.instances) {
      Node& own = zone->node(svc_name.prepend(inst.name));
      if (!inst.healthy) continue;
      own.a.push_back(inst.ip);
      if (std::find(service.a.begin(), service.a.end(), inst.ip) == service.a.end()) service.a.push_back(inst.ip);
    }
    for (std::size_t p = 0; p < svc.port_names.size(); ++p) {
      Node& srv = zone->node(svc_name.prepend("_tcp").prepend("_" + svc.port_names[p]));
      for (const auto& inst : svc.instances) {
        if (!inst.healthy || p >= inst.ports.size()) continue;
        std::string target = svc_name.prepend(inst.name).wire();
        target.push_back('\0');
        srv.srv.push_back({inst.ports[p], std::move(target), inst.ip});
      }
    }
  }
  return zone;
}

const Zone::Node* Zone::find(std::string_view lower_wire) const {
  auto it = nodes_.find(lower_wire);
  return it == nodes_.end() ? nullptr : &it->second;
}

bool Zone::contains(std::string_view lower_wire) const {
  if (!lower_wire.ends_with(domain_wire_)) return false;
  // The domain must start on a label boundary: "xprisn.local" is not in "prisn.local".
  const std::size_t offset = lower_wire.size() - domain_wire_.size();
  std::size_t i = 0;
  while (i < offset) i += 1 + static_cast<unsigned char>(lower_wire[i]);
  return i == offset;
}

}  // namespace prisn::dns
