// SPDX-License-Identifier: MIT
#include "api/event_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <utility>

namespace prisn::api {
namespace asio = boost::asio;

namespace {

// What one watcher may have waiting to be sent. A client that stops reading would otherwise
// hold a copy of every change for as long as it stays connected; past this, its stream ends
// (it reconnects and lists again, as a Kubernetes watcher does after "too old").
constexpr std::size_t kMaxPendingBytes = 8 * 1024 * 1024;

class EventStream final : public control::LogStream {
 public:
  EventStream(control::EventBus& bus, asio::any_io_executor ex, std::optional<std::string> ns)
      : bus_(bus), shared_(std::make_shared<Shared>(ex)) {
    std::weak_ptr<Shared> weak = shared_;
    subscription_ = bus_.subscribe([weak, ns = std::move(ns)](const control::Event& e) {
      auto s = weak.lock();
      if (!s) return;
      if (ns && e.object.value("namespace", "") != *ns) return;
      if (s->overflowed) return;
      model::Json data = {{"type", e.type}, {"kind", e.kind}, {"object", e.object}};
      std::string event = "event: " + e.kind + "\ndata: " +
                          data.dump(-1, ' ', false, model::Json::error_handler_t::replace) + "\n\n";
      if (s->pending_bytes + event.size() > kMaxPendingBytes) {
        s->overflowed = true;
        s->pending.clear();
        s->pending_bytes = 0;
      } else {
        s->pending_bytes += event.size();
        s->pending.push_back(std::move(event));
      }
      s->wake.cancel();
    });
  }
  ~EventStream() override { bus_.unsubscribe(subscription_); }

  asio::awaitable<std::optional<std::string>> next() override {
    if (!started_) {
      started_ = true;
      co_return std::string(": watching prisn resources\n\n");
    }
    if (shared_->overflowed) {
      if (std::exchange(said_overflow_, true)) co_return std::nullopt;
      co_return std::string(": this watcher fell too far behind and is closed; watch again\n\n");
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
    shared_->pending_bytes = 0;
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
    std::size_t pending_bytes = 0;
    bool overflowed = false;  // past kMaxPendingBytes: the stream ends
    asio::steady_timer wake;
  };
  control::EventBus& bus_;
  std::shared_ptr<Shared> shared_;
  int subscription_ = 0;
  bool started_ = false;
  bool finished_ = false;
  bool said_overflow_ = false;
};

}  // namespace

std::shared_ptr<control::LogStream> make_event_stream(control::EventBus& bus, asio::any_io_executor executor,
                                                      std::optional<std::string> ns) {
  return std::make_shared<EventStream>(bus, executor, std::move(ns));
}

}  // namespace prisn::api
