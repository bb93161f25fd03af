// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prisn::proxy {

/// Host and path matching for the L7 router (SPEC §3, §7.5), sans-IO. The host group is
/// chosen first — an exact host beats a `*.` wildcard (one extra label, not the bare
/// domain), which beats rules without a host — then the longest path prefix within it, on
/// whole segments ("/app" matches "/app" and "/app/x", not "/apple").
///
///   RouteTable<Target> t;
///   t.add("api.example.com", "/", api);
///   t.add("*.example.com", "/app", app);
///   const Target* hit = t.match("API.example.com:8080", "/app/x?y=1");
template <class Target>
class RouteTable {
 public:
  /// Adds a route; a later add of the same host and path replaces the earlier one.
  void add(std::string host, std::string path, Target target);
  /// The route for a request's Host header (port and case ignored) and target, or nullptr.
  const Target* match(std::string_view host, std::string_view target) const;
  bool empty() const { return exact_.empty() && wildcard_.empty() && any_.empty(); }

 private:
  struct Entry {
    std::string path;  // route_path(): no trailing '/' except for "/"
    Target target;
  };
  using Group = std::vector<Entry>;  // longest path first
  static void insert(Group& group, std::string path, Target target);
  static const Target* longest(const Group& group, std::string_view path);

  std::map<std::string, Group, std::less<>> exact_;
  std::map<std::string, Group, std::less<>> wildcard_;  // keyed by the suffix after "*."
  Group any_;
};

/// Lowercases a Host header and drops its port ("API.example.com:8080" → "api.example.com").
std::string normalise_host(std::string_view host);
/// The path of a request target, without the query ("/a/b?x" → "/a/b").
std::string_view request_path(std::string_view target);
/// The host[:port] of an absolute-form request target ("http://a.example:8080/x" → "a.example:8080"),
/// empty for the usual origin-form ("/x").
std::string_view absolute_authority(std::string_view target);
/// An absolute-form target as the origin-form an instance expects ("http://a.example/x?y" →
/// "/x?y", "http://a.example" → "/"); any other target as it is.
std::string origin_form(std::string_view target);
/// Whether a Host value (or an absolute-form target's authority) is a valid `host[:port]`
/// (RFC 3986 §3.2.2): a request with any other is answered 400 (RFC 9112 §3.2).
bool is_valid_authority(std::string_view authority);
/// `path` as routes compare it: unreserved %XX decoded, "." and ".." segments resolved and
/// repeated slashes merged ("/admin/../%61pi//x" → "/api/x"), so that no spelling of a path
/// reaches another route's instances. Returns `path` itself when there is nothing to change,
/// else a view of `scratch`.
std::string_view normalise_path(std::string_view path, std::string& scratch);
/// True when `path` is `prefix` or lies below it on a segment boundary.
bool path_has_prefix(std::string_view path, std::string_view prefix);
/// A route's path as requests are matched against it: normalised as a request's path is,
/// without a trailing "/*" (the seed writes a prefix as "/app/*") or a trailing '/' (paths
/// match on whole segments either way). Two routes of one host with the same route_path()
/// match the same requests.
std::string route_path(std::string_view path);

// --- implementation -------------------------------------------------------------------------

template <class Target>
void RouteTable<Target>::insert(Group& group, std::string rule_path, Target target) {
  std::string path = route_path(rule_path);
  for (auto& e : group) {
    if (e.path == path) {
      e.target = std::move(target);
      return;
    }
  }
  auto at = group.begin();
  while (at != group.end() && at->path.size() >= path.size()) ++at;
  group.insert(at, Entry{std::move(path), std::move(target)});
}

template <class Target>
void RouteTable<Target>::add(std::string host, std::string path, Target target) {
  host = normalise_host(host);
  if (host.empty()) {
    insert(any_, std::move(path), std::move(target));
  } else if (host.starts_with("*.")) {
    insert(wildcard_[host.substr(2)], std::move(path), std::move(target));
  } else {
    insert(exact_[host], std::move(path), std::move(target));
  }
}

template <class Target>
const Target* RouteTable<Target>::longest(const Group& group, std::string_view path) {
  for (const auto& e : group) {
    if (path_has_prefix(path, e.path)) return &e.target;
  }
  return nullptr;
}

template <class Target>
const Target* RouteTable<Target>::match(std::string_view host_header, std::string_view target) const {
  const std::string host = normalise_host(host_header);
  std::string scratch;
  const std::string_view path = normalise_path(request_path(target), scratch);
  if (auto it = exact_.find(host); it != exact_.end()) return longest(it->second, path);
  if (const auto dot = host.find('.'); dot != std::string::npos && dot > 0) {
    if (auto it = wildcard_.find(std::string_view(host).substr(dot + 1)); it != wildcard_.end()) {
      return longest(it->second, path);
    }
  }
  return longest(any_, path);
}

}  // namespace prisn::proxy
