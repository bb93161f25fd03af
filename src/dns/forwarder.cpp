// SPDX-License-Identifier: MIT
#include "dns/forwarder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "prisn/core/random.hpp"
#include "prisn/dns/codec.hpp"
#include "prisn/dns/responder.hpp"

namespace prisn::dns::detail {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::chrono::milliseconds kMinTry{400};

std::uint32_t seed() {
  std::uint32_t s = 0;
  random_bytes(&s, sizeof s);
  return s;
}

// The answer's question section equals the query's, name case aside.
bool same_question(std::span<const std::uint8_t> query, std::span<const std::uint8_t> answer) {
  QueryHead head;
  if (parse_query_head(query, head) != QueryStatus::kOk) return false;
  const std::size_t end = head.question_end();
  if (answer.size() < end || answer[4] != 0 || answer[5] != 1) return false;
  for (std::size_t i = 12; i < end; ++i) {
    if (ascii_lower(static_cast<char>(query[i])) != ascii_lower(static_cast<char>(answer[i]))) return false;
  }
  return true;
}

// An answer, from the cache or fresh from an upstream, as prisn gives it to `head`'s asker.
std::vector<std::uint8_t> shaped_reply(Message hit, const QueryHead& head, Question question, std::size_t limit,
                                       ServerStats& stats) {
  hit.id = head.id;
  hit.qr = hit.ra = true;
  hit.tc = false;
  hit.rd = head.rd();
  hit.cd = head.cd();
  hit.questions = {std::move(question)};  // the asker's case, not the first asker's
  if (head.edns) {
    hit.edns = Edns{.udp_size = 1232, .version = 0, .dnssec_ok = head.dnssec_ok, .options = {}};
  } else {
    hit.edns.reset();
  }
  std::vector<std::uint8_t> out;
  if (!serialize(hit, out, {.compress = true, .max_size = limit})) stats.truncated.fetch_add(1, std::memory_order_relaxed);
  return out;
}

}  // namespace

Forwarder::Forwarder(asio::any_io_executor executor, std::vector<udp::endpoint> upstreams,
                     std::chrono::milliseconds timeout, std::size_t cache_entries, std::size_t max_in_flight,
                     ServerStats& stats)
    : executor_(executor),
      upstreams_(std::move(upstreams)),
      timeout_(timeout),
      stats_(stats),
      cache_(cache_entries),
      random_(seed()),
      max_in_flight_(std::min<std::size_t>(max_in_flight, 60'000)),  // ids are 16 bits
      quiet_until_(upstreams_.size()) {}

std::vector<udp::endpoint> Forwarder::drop_upstreams(const std::function<bool(const udp::endpoint&)>& drop) {
  std::vector<udp::endpoint> dropped;
  std::erase_if(upstreams_, [&](const udp::endpoint& up) {
    if (!drop(up)) return false;
    dropped.push_back(up);
    return true;
  });
  quiet_until_.assign(upstreams_.size(), {});
  return dropped;
}

void Forwarder::stop() {
  stopped_ = true;
  for (auto* wait : waiting_) wait->cancel();
}

std::uint16_t Forwarder::stamp_fresh_id(std::vector<std::uint8_t>& query) {
  const auto id = static_cast<std::uint16_t>(random_());
  query[0] = static_cast<std::uint8_t>(id >> 8);
  query[1] = static_cast<std::uint8_t>(id);
  return id;
}

std::vector<std::size_t> Forwarder::upstream_order(Clock::time_point now) {
  // Round-robin, but those that did not answer lately come last: a dead first upstream
  // would otherwise cost every other query its share of the timeout.
  const std::size_t n = upstreams_.size();
  const std::size_t first = n == 0 ? 0 : next_upstream_++ % n;
  std::vector<std::size_t> answering, quiet;
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t i = (first + t) % n;
    (quiet_until_[i] > now ? quiet : answering).push_back(i);
  }
  answering.insert(answering.end(), quiet.begin(), quiet.end());
  return answering;
}

// One query's UDP tries. Each has a socket of its own, as in dnsmasq and Unbound: the kernel
// gives it a random source port, so a forger must guess 32 bits (port and id), not 16;
// connected, it only receives from the upstream, and learns at once (ICMP port unreachable)
// when nothing listens there. A try keeps listening after the next one is sent, until the
// query's deadline: an upstream a little slower than its share of the time still answers.
struct Forwarder::Try {
  explicit Try(asio::any_io_executor ex) : socket(ex) {}
  udp::socket socket;
  std::uint16_t id = 0;
  std::size_t upstream = 0;
  bool listening = true;
  bool armed = false;  // a wait for it to be readable is pending
};

struct Forwarder::Tries {
  explicit Tries(asio::any_io_executor ex) : wake(ex) {}
  ~Tries() {
    for (auto& t : tries) t->socket.close();
  }
  asio::steady_timer wake;  // the query waits on it; a readable socket cancels it
  bool readable = false;    // set with that cancel: a wake-up while not waiting is not lost
  std::vector<std::unique_ptr<Try>> tries;

  // Wakes the query when `t` has something to read.
  static void arm(const std::shared_ptr<Tries>& self, Try& t) {
    if (t.armed || !t.listening) return;
    t.armed = true;
    t.socket.async_wait(udp::socket::wait_read, [weak = std::weak_ptr(self), &t](boost::system::error_code ec) {
      auto tries = weak.lock();
      if (!tries || ec == asio::error::operation_aborted) return;
      t.armed = false;
      tries->readable = true;
      tries->wake.cancel();
    });
  }
};

bool Forwarder::send_try(const std::shared_ptr<Tries>& tries, std::size_t index, std::vector<std::uint8_t> query) {
  auto t = std::make_unique<Try>(executor_);
  boost::system::error_code ec;
  t->socket.open(upstreams_[index].protocol(), ec);
  if (!ec) t->socket.connect(upstreams_[index], ec);
  if (!ec) t->socket.non_blocking(true, ec);
  if (ec) return false;
  t->id = stamp_fresh_id(query);
  t->upstream = index;
  t->socket.send(asio::buffer(query), 0, ec);  // a datagram to a fresh socket: never waits
  if (ec) return false;
  Tries::arm(tries, *t);
  tries->tries.push_back(std::move(t));
  return true;
}

Forwarder::Heard Forwarder::read_try(Try& t, std::span<const std::uint8_t> query, std::vector<std::uint8_t>& answer) {
  std::vector<std::uint8_t> buf(65535);
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = t.socket.receive(asio::buffer(buf), 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return Heard::kNothing;
    if (ec) {  // refused: nothing listens at the upstream's port
      t.listening = false;
      return Heard::kFailed;
    }
    const std::span<const std::uint8_t> reply(buf.data(), n);
    if (n < 12 || (buf[2] & 0x80) == 0 || (buf[0] << 8 | buf[1]) != t.id || !same_question(query, reply)) continue;
    t.listening = false;
    // An upstream that cannot answer this (its recursion failed, or it refuses prisn): another may.
    const auto code = buf[3] & 0x0F;
    if (code == rcode::kServFail || code == rcode::kNotImp || code == rcode::kRefused) return Heard::kFailed;
    answer.assign(reply.begin(), reply.end());
    return Heard::kAnswer;
  }
}

asio::awaitable<bool> Forwarder::ask_tcp(udp::endpoint upstream, std::vector<std::uint8_t> query,
                                         Clock::time_point until, std::vector<std::uint8_t>& answer) {
  const std::uint16_t id = stamp_fresh_id(query);
  tcp::socket socket(executor_);
  asio::steady_timer timer(executor_, until);
  auto connected = co_await (socket.async_connect(tcp::endpoint(upstream.address(), upstream.port()), kNoThrow) ||
                             timer.async_wait(kNoThrow));
  if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) co_return false;
  const std::uint8_t length[2] = {static_cast<std::uint8_t>(query.size() >> 8), static_cast<std::uint8_t>(query.size())};
  const std::array<asio::const_buffer, 2> out{asio::buffer(length), asio::buffer(query)};
  auto wrote = co_await (asio::async_write(socket, out, kNoThrow) || timer.async_wait(kNoThrow));
  if (wrote.index() != 0 || std::get<0>(std::get<0>(wrote))) co_return false;
  std::uint8_t reply_length[2];
  auto got = co_await (asio::async_read(socket, asio::buffer(reply_length), kNoThrow) || timer.async_wait(kNoThrow));
  if (got.index() != 0 || std::get<0>(std::get<0>(got))) co_return false;
  std::vector<std::uint8_t> reply(static_cast<std::size_t>(reply_length[0] << 8 | reply_length[1]));
  auto body = co_await (asio::async_read(socket, asio::buffer(reply), kNoThrow) || timer.async_wait(kNoThrow));
  if (body.index() != 0 || std::get<0>(std::get<0>(body))) co_return false;
  if (reply.size() < 12 || (reply[2] & 0x80) == 0 || (reply[0] << 8 | reply[1]) != id || !same_question(query, reply)) {
    co_return false;
  }
  answer = std::move(reply);
  co_return true;
}

asio::awaitable<std::vector<std::uint8_t>> Forwarder::resolve(std::vector<std::uint8_t> query, std::size_t reply_limit,
                                                              bool tcp_client) {
  QueryHead head;
  std::vector<std::uint8_t> reply;
  if (parse_query_head(query, head) != QueryStatus::kOk) {
    write_rcode_reply(head, query, rcode::kFormErr, false, true, reply);
    co_return reply;
  }
  Question question{Name::from_wire(std::string(reinterpret_cast<const char*>(query.data() + 12), head.qname_size - 1)),
                    head.qtype, head.qclass};
  if (auto hit = cache_.lookup(question, head.dnssec_ok, Clock::now())) {
    stats_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    co_return shaped_reply(std::move(*hit), head, std::move(question), reply_limit, stats_);
  }
  if (in_flight_ >= max_in_flight_) {
    stats_.forwards_refused.fetch_add(1, std::memory_order_relaxed);
    write_rcode_reply(head, query, rcode::kServFail, true, true, reply);
    co_return reply;
  }
  ++in_flight_;
  struct Leave {
    std::size_t& n;
    ~Leave() { --n; }
  } leave{in_flight_};
  const auto deadline = Clock::now() + timeout_;
  const std::size_t n = upstreams_.size();
  // Each try gets an equal share of the time before the next is sent; a lone upstream is
  // asked twice.
  const std::size_t count = n == 0 ? 0 : std::max<std::size_t>(n, 2);
  const auto share = count == 0 ? timeout_ : std::max<std::chrono::milliseconds>(timeout_ / count, kMinTry);
  const auto order = upstream_order(Clock::now());
  auto tries = std::make_shared<Tries>(executor_);
  waiting_.insert(&tries->wake);
  struct Unregister {
    std::unordered_set<asio::steady_timer*>& waiting;
    asio::steady_timer* mine;
    ~Unregister() { waiting.erase(mine); }
  } unregister{waiting_, &tries->wake};
  std::vector<std::uint8_t> answer;
  std::optional<Message> parsed;
  std::size_t answered_by = 0;
  std::size_t sent = 0;
  auto next_try_at = Clock::now();
  while (!stopped_ && !parsed && Clock::now() < deadline) {
    if (sent < count && Clock::now() >= next_try_at) {
      const std::size_t index = order[sent % n];
      if (sent > 0 && tries->tries.size() == sent && tries->tries.back()->listening) {
        quiet_until_[tries->tries.back()->upstream] = Clock::now() + kQuietFor;  // silent for its share: asked last a while
      }
      ++sent;
      stats_.forwarded.fetch_add(1, std::memory_order_relaxed);
      if (!send_try(tries, index, query)) {
        quiet_until_[index] = Clock::now() + kQuietFor;
        continue;  // the next one at once
      }
      next_try_at = std::min(deadline, Clock::now() + share);
    }
    const bool all_ended = sent == count && std::none_of(tries->tries.begin(), tries->tries.end(),
                                                         [](const auto& t) { return t->listening; });
    if (all_ended) break;
    if (!tries->readable) {
      tries->wake.expires_at(sent < count ? next_try_at : deadline);
      co_await tries->wake.async_wait(kNoThrow);
    }
    tries->readable = false;
    for (std::size_t i = 0; i < tries->tries.size() && !parsed; ++i) {
      Try& t = *tries->tries[i];
      if (!t.listening) continue;
      const Heard heard = read_try(t, query, answer);
      if (heard == Heard::kNothing) {
        Tries::arm(tries, t);
      } else if (heard == Heard::kFailed) {
        quiet_until_[t.upstream] = Clock::now() + kQuietFor;
        if (i + 1 == tries->tries.size()) next_try_at = Clock::now();  // the latest failed: the next at once
      } else if (auto message = parse(answer)) {
        parsed = std::move(*message);
        answered_by = t.upstream;
      }  // else garbage from an upstream: the others may still answer
    }
  }
  if (parsed && !stopped_) {
    quiet_until_[answered_by] = {};
    if (parsed->tc && tcp_client) {
      std::vector<std::uint8_t> full;
      if (co_await ask_tcp(upstreams_[answered_by], query, deadline, full)) {
        if (auto message = parse(full)) {
          answer = std::move(full);
          parsed = std::move(*message);
        }
      }
    }
    cap_negative_ttl(*parsed);
    cache_.store(*parsed, head.dnssec_ok, Clock::now());
    if (!parsed->tc) {  // in the same shape as the cache will give it: RA set, prisn's own OPT
      co_return shaped_reply(std::move(*parsed), head, std::move(question), reply_limit, stats_);
    }
    // Truncated even so (a UDP client): passed on as it came, for the client to retry over TCP.
    answer[0] = static_cast<std::uint8_t>(head.id >> 8);
    answer[1] = static_cast<std::uint8_t>(head.id);
    answer[3] |= 0x80;  // RA: prisn recurses for its clients, whatever the upstream said
    if (answer.size() <= reply_limit) co_return answer;
    parsed->id = head.id;
    parsed->ra = true;
    serialize(*parsed, reply, {.compress = true, .max_size = reply_limit});
    stats_.truncated.fetch_add(1, std::memory_order_relaxed);
    co_return reply;
  }
  stats_.upstream_failures.fetch_add(1, std::memory_order_relaxed);
  write_rcode_reply(head, query, rcode::kServFail, true, true, reply);
  co_return reply;
}

}  // namespace prisn::dns::detail
