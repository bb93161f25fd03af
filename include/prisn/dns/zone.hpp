// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "prisn/dns/name.hpp"

namespace prisn::dns {

using Ipv4 = std::array<std::uint8_t, 4>;

/// One service as the zone needs it, built by the control plane from its state.
struct ServiceEntry {
  struct Instance {
    std::string name;                  ///< "api-0"
    Ipv4 ip{127, 0, 0, 1};
    std::vector<std::uint16_t> ports;  ///< the instance's own port per named port
    bool healthy = false;              ///< in rotation
  };
  std::string ns;
  std::string name;
  std::vector<std::string> port_names;  ///< in spec order; SRV names are _NAME._tcp
  std::vector<Instance> instances;
};

struct ZoneOptions {
  std::string domain = "prisn.local";
  std::uint32_t ttl = 5;
  Ipv4 server_ip{127, 0, 0, 1};  ///< the address of ns.DOMAIN, the zone's name server
};

/// The authoritative data of `prisn.local`, immutable once built: the control thread builds
/// a new one whenever endpoints change and hands it to the DNS server, whose query path
/// reads it without locks. Names are keyed in lowercase wire form.
///
///   DOMAIN                               SOA, NS ns.DOMAIN
///   ns.DOMAIN                            A server_ip
///   {svc}.{ns}.DOMAIN                    A: distinct IPs of healthy instances
///   {instance}.{svc}.{ns}.DOMAIN         A: the instance's IP while it is healthy
///   _{port}._tcp.{svc}.{ns}.DOMAIN       SRV 0 10 PORT {instance}.{svc}.{ns}.DOMAIN per healthy instance
/// Names in between ({ns}.DOMAIN, _tcp.{svc}.{ns}.DOMAIN) exist with no data (NODATA).
class Zone {
 public:
  struct Srv {
    std::uint16_t port = 0;
    std::string target;  ///< uncompressed wire form, terminating zero included
    Ipv4 ip{};
    bool glue = true;  ///< its A goes in the additional section (not when an earlier record's did)
  };
  struct Node {
    std::vector<Ipv4> a;
    std::vector<Srv> srv;
    bool apex = false;
  };

  static std::shared_ptr<const Zone> build(const ZoneOptions& options, const std::vector<ServiceEntry>& services,
                                           std::uint32_t serial);

  /// The node for a lowercase wire name without its terminating zero, or nullptr.
  const Node* find(std::string_view lower_wire) const;
  /// True when the lowercase wire name is the domain or lies below it.
  bool contains(std::string_view lower_wire) const;

  const ZoneOptions& options() const { return options_; }
  std::uint32_t serial() const { return serial_; }
  /// The domain in lowercase wire form without the terminating zero.
  const std::string& domain_wire() const { return domain_wire_; }
  std::size_t size() const { return nodes_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Node& node(const Name& name);

  ZoneOptions options_;
  std::uint32_t serial_ = 0;
  std::string domain_wire_;
  std::unordered_map<std::string, Node, Hash, std::equal_to<>> nodes_;
};

}  // namespace prisn::dns
