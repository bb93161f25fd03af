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
    // Names are validated upstream; one that still cannot be a DNS name is left out.
    if (!apex.can_prepend(svc.ns) || !apex.prepend(svc.ns).can_prepend(svc.name)) continue;
    const Name svc_name = apex.prepend(svc.ns).prepend(svc.name);
    Node& service = zone->node(svc_name);
    for (const auto& inst : svc.instances) {
      // A 63-byte label is the longest (RFC 1035 2.3.4): the instances of a service whose
      // name has 62 or 63 characters (api-0 is two more) have no names of their own.
      Node* own = svc_name.can_prepend(inst.name) ? &zone->node(svc_name.prepend(inst.name)) : nullptr;
      if (!inst.healthy) continue;
      if (own != nullptr) own->a.push_back(inst.ip);
      if (std::find(service.a.begin(), service.a.end(), inst.ip) == service.a.end()) service.a.push_back(inst.ip);
    }
    if (!svc_name.can_prepend("_tcp")) continue;
    const Name tcp = svc_name.prepend("_tcp");
    for (std::size_t p = 0; p < svc.port_names.size(); ++p) {
      if (!tcp.can_prepend("_" + svc.port_names[p])) continue;
      Node& srv = zone->node(tcp.prepend("_" + svc.port_names[p]));
      for (const auto& inst : svc.instances) {
        if (!inst.healthy || p >= inst.ports.size()) continue;
        // An instance without a name of its own is reached by the service's: in host mode
        // every instance is 127.0.0.1, in bridge mode every one listens on the same port.
        const bool own_name = svc_name.can_prepend(inst.name);
        std::string target = (own_name ? svc_name.prepend(inst.name) : svc_name).wire();
        target.push_back('\0');
        const bool glue = own_name || std::none_of(srv.srv.begin(), srv.srv.end(), [&](const Srv& s) {
                            return s.target == target && s.ip == inst.ip;
                          });
        srv.srv.push_back({inst.ports[p], std::move(target), inst.ip, glue});
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
