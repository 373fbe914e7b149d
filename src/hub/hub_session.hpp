// One connection to the hub: reads requests, applies the limits hub_server.hpp lists, hands each
// request to HubApi (inline when it answers quickly, else on the worker pool) and writes the
// answer back: files with sendfile on plain TCP, streamed bodies chunk by chunk.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "hub/client_limits.hpp"
#include "hub/hub_api.hpp"
#include "hub/hub_metrics.hpp"
#include "hub/hub_server.hpp"

namespace tiffin::hub {

// What every connection of one server shares.
struct HubServerContext {
  HubServeOptions opts;
  HubRepository& repo;
  HubApi api;
  HubMetrics metrics;
  ClientLimits limits;
  boost::asio::thread_pool& workers;
  boost::asio::ssl::context* tls = nullptr;  // set: HTTPS
  std::atomic<unsigned> queued{0};           // requests on or waiting for a worker
  std::atomic<uint64_t> body_memory{0};      // bytes reserved for in-memory request bodies
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> streaming{0};  // streamed answers in progress (each holds a worker)
  // Set by stop() before it joins the workers: work offered after that is not run.
  std::mutex workers_mu;
  bool workers_closed = false;
  // Open connections by socket, with the execution context (I/O thread) that owns each, so that
  // stop() can shut each down on its own thread. A connection registers once its stream holds
  // the socket and leaves before the stream closes it.
  std::mutex sockets_mu;
  std::unordered_map<boost::asio::ip::tcp::socket*, boost::asio::execution_context*> sockets;
};

// Serves `socket` (whose peer is `client`, an address) until it closes, fails or times out.
// The caller has counted the connection (metrics, limits); this uncounts it when it ends.
boost::asio::awaitable<void> serve_connection(HubServerContext& ctx, boost::asio::ip::tcp::socket socket, std::string client);

// The bytes of a minimal HTTP/1.1 answer that refuses a connection before it is read from.
std::string refusal_response(unsigned status, unsigned retry_after_seconds, const std::string& message);

}  // namespace tiffin::hub
