// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <map>
#include <string>

#include "prisn/model/json.hpp"

namespace prisn::control {

/// A resource change, as `GET /api/v1/events?watch=true` streams it.
struct Event {
  std::string type;  ///< ADDED | MODIFIED | DELETED
  std::string kind;  ///< deployment | execution | secret
  model::Json object;
};

/// Fan-out of resource changes to watchers. Thread: control thread.
class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;

  int subscribe(Subscriber s);
  void unsubscribe(int id);
  bool has_subscribers() const { return !subscribers_.empty(); }
  void publish(const Event& e);

 private:
  int next_id_ = 1;
  std::map<int, Subscriber> subscribers_;
};

}  // namespace prisn::control
