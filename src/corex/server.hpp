// coreX's listeners and connections (Boost.Beast, one io_context thread): HTTP/1.1 with
// keep-alive answered by handle_http, and WebSocket terminals on /ws/<id> attached to the
// ProcessTable. A terminal that cannot keep up (over 4 MiB queued) is dropped rather than
// letting its backlog grow; when its process exits it is closed with the reason
// ("exited: code N" / "exited: signal N").
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <vector>

#include "common/error.hpp"
#include "corex/auth.hpp"
#include "corex/process_table.hpp"

namespace tiffin::corex {

class Server {
 public:
  Server(boost::asio::io_context& io, Credentials credentials, ProcessTable& table, int debug);
  ~Server();
  // Binds each address (port 0: one free port, the same on every address where it can be).
  Result<std::vector<boost::asio::ip::tcp::endpoint>> listen(const std::vector<boost::asio::ip::address>& addresses, uint16_t port);
  void stop_accepting();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tiffin::corex
