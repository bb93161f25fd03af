// SPDX-License-Identifier: MIT
#include "api/event_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

namespace prisn::api {
namespace asio = boost::asio;

namespace {

class EventStream final : public control::LogStream {
 public:
  EventStream(control::EventBus& bus, asio::any_io_executor ex, std::optional<std::string> ns)
      : bus_(bus), shared_(std::make_shared<Shared>(ex)) {
    std::weak_ptr<Shared> weak = shared_;
    subscription_ = bus_.subscribe([weak, ns = std::move(ns)](const control::Event& e) {
      auto s = weak.lock();
      if (!s) return;
      if (ns && e.object.value("namespace", "") != *ns) return;
      model::Json data = {{"type", e.type}, {"kind", e.kind}, {"object", e.object}};
      s->pending.push_back("event: " + e.kind + "\ndata: " +
                           data.dump(-1, ' ', false, model::Json::error_handler_t::replace) + "\n\n");
      s->wake.cancel();
    });
  }
  ~EventStream() override { bus_.unsubscribe(subscription_); }

  asio::awaitable<std::optional<std::string>> next() override {
    if (!started_) {
      started_ = true;
      co_return std::string(": watching prisn resources\n\n");
    }
    if (shared_->pending.empty() && finished_) co_return std::nullopt;
    if (shared_->pending.empty()) {
      shared_->wake.expires_after(std::chrono::seconds(15));
      co_await shared_->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      if (co_await control::was_cancelled()) co_return std::nullopt;
    }
    if (shared_->pending.empty()) {
      co_return std::string(": keepalive\n\n");
    }
    std::string out;
    while (!shared_->pending.empty()) {
      out += std::move(shared_->pending.front());
      shared_->pending.pop_front();
    }
    co_return out;
  }

  void finish() override {
    finished_ = true;
    shared_->wake.cancel();
  }

 private:
  struct Shared {
    explicit Shared(asio::any_io_executor ex) : wake(ex) {}
    std::deque<std::string> pending;
    asio::steady_timer wake;
  };
  control::EventBus& bus_;
  std::shared_ptr<Shared> shared_;
  int subscription_ = 0;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<control::LogStream> make_event_stream(control::EventBus& bus, asio::any_io_executor executor,
                                                      std::optional<std::string> ns) {
  return std::make_shared<EventStream>(bus, executor, std::move(ns));
}

}  // namespace prisn::api
