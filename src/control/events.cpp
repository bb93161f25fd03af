// SPDX-License-Identifier: MIT
#include "prisn/control/events.hpp"

#include <vector>

namespace prisn::control {

int EventBus::subscribe(Subscriber s) {
  const int id = next_id_++;
  subscribers_[id] = std::move(s);
  return id;
}

void EventBus::unsubscribe(int id) { subscribers_.erase(id); }

void EventBus::publish(const Event& e) {
  // A subscriber may unsubscribe (or subscribe) while being called: iterate over a copy.
  std::vector<Subscriber> current;
  current.reserve(subscribers_.size());
  for (const auto& [id, s] : subscribers_) current.push_back(s);
  for (const auto& s : current) s(e);
}

}  // namespace prisn::control
