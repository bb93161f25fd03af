// SPDX-License-Identifier: MIT
#include "prisn/acme/manager.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <set>

#include "acme/client.hpp"
#include "prisn/core/files.hpp"
#include "prisn/core/log.hpp"

namespace prisn::acme {
namespace asio = boost::asio;

namespace {

constexpr std::chrono::seconds kFirstRetry{30};
constexpr std::chrono::hours kMaxRetry{1};
constexpr std::chrono::hours kRenewalCheck{12};

std::filesystem::path cert_file(const Options& o, const std::string& host) { return o.dir / (host + ".crt"); }
std::filesystem::path key_file(const Options& o, const std::string& host) { return o.dir / (host + ".key"); }

}  // namespace

struct Manager::Impl : std::enable_shared_from_this<Manager::Impl> {
  Impl(asio::any_io_executor ex, Options o, std::function<void()> change)
      : executor(ex), options(std::move(o)), on_change(std::move(change)), tls(asio::ssl::context::tls_client),
        wake(ex), renewal(ex) {}

  asio::any_io_executor executor;
  Options options;
  std::function<void()> on_change;
  asio::ssl::context tls;
  std::unique_ptr<detail::Client> client;
  std::map<std::string, Issued> issued;             // by host
  std::map<std::string, std::string> challenges;    // token → key authorization
  std::set<std::string> wanted;
  std::deque<std::string> queue;
  std::string obtaining;  ///< the host whose order is under way ("" for none)
  std::map<std::string, std::chrono::steady_clock::duration> backoff;
  asio::steady_timer wake;     // the worker sleeps on it while the queue is empty or backing off
  asio::steady_timer renewal;
  bool running = false;
  bool stopped = false;
  std::shared_ptr<spdlog::logger> log = logger("acme");

  bool needs(const std::string& host) const {
    auto it = issued.find(host);
    return it == issued.end() || it->second.not_after - WallClock::now() < options.renew_before;
  }

  void load_stored() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(options.dir, ec)) {
      if (entry.path().extension() != ".crt") continue;
      const std::string host = entry.path().stem().string();
      auto cert = read_file(entry.path());
      auto key = read_file(key_file(options, host));
      if (!cert || !key) continue;
      if (auto expiry = certificate_expiry(*cert)) issued[host] = Issued{host, *cert, *key, *expiry};
    }
  }

  Result<void> make_client() {
    if (client) return {};
    if (auto made = make_dirs(options.dir, 0700); !made) return made.error();
    tls.set_default_verify_paths();
    if (!options.ca_file.empty()) {
      boost::system::error_code ec;
      tls.load_verify_file(options.ca_file, ec);
      if (ec) return Error::invalid(fmt::format("tls.acme.caFile {}: {}", options.ca_file, ec.message()));
    }
    const auto account_file = options.dir / "account.key";
    Result<Key> key = Error::internal("unset");
    if (auto pem = read_file(account_file)) {
      key = Key::from_pem(*pem);
    } else {
      key = Key::generate();
      if (key) {
        if (auto written = write_file_atomic(account_file, key->pem(), 0600); !written) return written.error();
      }
    }
    if (!key) return key.error();
    std::weak_ptr<Impl> weak = shared_from_this();
    client = std::make_unique<detail::Client>(executor, tls, options.directory, options.email, std::move(*key),
                                              [weak](const std::string& token, std::optional<std::string> answer) {
                                                if (auto self = weak.lock()) self->set_challenge(token, answer);
                                              });
    return {};
  }

  void set_challenge(const std::string& token, const std::optional<std::string>& answer) {
    if (answer) challenges[token] = *answer;
    else challenges.erase(token);
    on_change();
  }

  void store(const Issued& cert) {
    (void)write_file_atomic(key_file(options, cert.host), cert.key_pem, 0600);
    (void)write_file_atomic(cert_file(options, cert.host), cert.cert_pem, 0600);
    issued[cert.host] = cert;
    on_change();
  }
};

namespace {

// Works through the queue, one host at a time, until the manager goes away.
asio::awaitable<void> work(std::shared_ptr<Manager::Impl> d) {
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
  while (!d->stopped) {
    if (d->queue.empty()) {
      d->wake.expires_at(std::chrono::steady_clock::time_point::max());
      co_await d->wake.async_wait(kNoThrow);
      continue;
    }
    const std::string host = d->queue.front();
    d->queue.pop_front();
    if (!d->wanted.contains(host) || !d->needs(host)) continue;
    Result<Issued> cert = Error::internal("unset");
    d->obtaining = host;
    if (auto ok = d->make_client(); !ok) cert = ok.error();
    else cert = co_await d->client->obtain(host);
    if (d->stopped) co_return;
    d->obtaining.clear();
    if (cert) {
      d->log->info("certificate for {} issued, valid until {}", host, to_rfc3339(cert->not_after));
      d->backoff.erase(host);
      d->store(*cert);
      continue;
    }
    auto& delay = d->backoff[host];
    delay = delay == std::chrono::steady_clock::duration{} ? std::chrono::steady_clock::duration(kFirstRetry)
                                                            : std::min<std::chrono::steady_clock::duration>(delay * 2, kMaxRetry);
    d->log->warn("certificate for {}: {}; trying again in {}s", host, cert.error().message,
                 std::chrono::duration_cast<std::chrono::seconds>(delay).count());
    auto retry = std::make_shared<asio::steady_timer>(d->executor, delay);
    retry->async_wait([retry, weak = std::weak_ptr(d), host](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped) return;
      self->queue.push_back(host);
      self->wake.cancel();
    });
  }
}

void schedule_renewal(const std::shared_ptr<Manager::Impl>& d) {
  d->renewal.expires_after(kRenewalCheck);
  d->renewal.async_wait([weak = std::weak_ptr(d)](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    for (const auto& host : self->wanted) {
      if (self->needs(host)) self->queue.push_back(host);
    }
    self->wake.cancel();
    schedule_renewal(self);
  });
}

}  // namespace

Manager::Manager(asio::any_io_executor executor, Options options, std::function<void()> on_change)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(on_change))) {
  impl_->load_stored();
}

Manager::~Manager() {
  impl_->stopped = true;
  impl_->wake.cancel();
  impl_->renewal.cancel();
}

Result<void> Manager::prepare() { return impl_->make_client(); }

void Manager::sync(std::vector<std::string> hosts) {
  auto& d = *impl_;
  d.wanted = std::set<std::string>(hosts.begin(), hosts.end());
  for (const auto& host : d.wanted) {
    // A host whose order is under way is not queued again: the challenge that order sets
    // changes the routes, which calls sync() in the middle of it.
    const bool queued = std::find(d.queue.begin(), d.queue.end(), host) != d.queue.end() || d.obtaining == host;
    if (!queued && !d.backoff.contains(host) && d.needs(host)) d.queue.push_back(host);
  }
  if (!d.running) {
    d.running = true;
    asio::co_spawn(d.executor, work(impl_), [log = d.log](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log->error("ACME worker stopped by an unexpected failure: {}", ex.what());
      }
    });
    schedule_renewal(impl_);
  }
  d.wake.cancel();
}

std::map<std::string, std::string> Manager::challenges() const { return impl_->challenges; }

std::vector<Issued> Manager::certificates() const {
  std::vector<Issued> out;
  for (const auto& [host, cert] : impl_->issued) {
    if (impl_->wanted.empty() || impl_->wanted.contains(host)) out.push_back(cert);
  }
  return out;
}

}  // namespace prisn::acme
