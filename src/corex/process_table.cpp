#include "corex/process_table.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <deque>

#include "corex/output_ring.hpp"
#include "corex/pty_process.hpp"

namespace tiffin::corex {

namespace asio = boost::asio;

const char* state_name(ProcessState s) {
  switch (s) {
    case ProcessState::running: return "running";
    case ProcessState::stopping: return "stopping";
    case ProcessState::stopped: return "stopped";
    case ProcessState::crashed: return "crashed";
  }
  return "unknown";
}

struct ProcessTable::Process {
  Process(asio::io_context& io, size_t ring_bytes) : master(io), ring(ring_bytes), kill_timer(io) {}
  ProcessInfo info;
  asio::posix::stream_descriptor master;
  OutputRing ring;
  std::map<uint64_t, TerminalListener> listeners;
  std::array<char, 16384> buf{};
  std::deque<std::string> pending_input;
  bool writing = false;
  asio::steady_timer kill_timer;
};

ProcessTable::ProcessTable(asio::io_context& io, size_t ring_bytes, std::vector<std::string> env)
    : io_(io), ring_bytes_(ring_bytes), env_(std::move(env)) {}

ProcessTable::~ProcessTable() {
  for (auto& [id, p] : processes_) {
    boost::system::error_code ec;
    p->kill_timer.cancel();
    p->master.close(ec);
    p->listeners.clear();
  }
}

Result<std::shared_ptr<ProcessTable::Process>> ProcessTable::get(uint64_t id) const {
  auto it = processes_.find(id);
  if (it == processes_.end()) return fail(Errc::not_found, "no process " + std::to_string(id));
  return it->second;
}

Result<ProcessInfo> ProcessTable::start(const std::vector<std::string>& argv) {
  PtyChild child = TRY(spawn_on_pty(argv, env_, 24, 80));
  auto p = std::make_shared<Process>(io_, ring_bytes_);
  p->info.id = next_id_++;
  p->info.pid = child.pid;
  for (const auto& a : argv) p->info.command += (p->info.command.empty() ? "" : " ") + a;
  p->master.assign(child.master.release());
  processes_[p->info.id] = p;
  read_more(p);
  return p->info;
}

void ProcessTable::read_more(const std::shared_ptr<Process>& p) {
  p->master.async_read_some(asio::buffer(p->buf), [this, p](const boost::system::error_code& ec, size_t n) {
    if (ec) return;  // EIO once the terminal has no process left, or closed by exited()
    deliver(*p, std::string_view(p->buf.data(), n));
    read_more(p);
  });
}

void ProcessTable::deliver(Process& p, std::string_view data) {
  if (data.empty()) return;
  p.ring.append(data);
  // A listener may detach (or others attach) from inside its callback: call a copy.
  auto listeners = p.listeners;
  for (auto& [id, l] : listeners)
    if (l.output) l.output(data);
}

std::vector<ProcessInfo> ProcessTable::list() const {
  std::vector<ProcessInfo> out;
  for (const auto& [id, p] : processes_) out.push_back(p->info);
  return out;
}

Result<ProcessInfo> ProcessTable::find(uint64_t id) const { return TRY(get(id))->info; }

Result<void> ProcessTable::kill(uint64_t id, int signal) {
  auto p = TRY(get(id));
  if (p->info.exited()) return fail(Errc::conflict, "process " + std::to_string(id) + " has exited");
  if (::kill(p->info.pid, signal) != 0) return fail_errno("signalling process " + std::to_string(id));
  if (signal == SIGKILL || signal == SIGTERM || signal == SIGHUP || signal == SIGINT || signal == SIGQUIT)
    p->info.state = ProcessState::stopping;
  return {};
}

Result<void> ProcessTable::stop(uint64_t id, std::chrono::milliseconds grace) {
  auto p = TRY(get(id));
  if (p->info.exited()) return fail(Errc::conflict, "process " + std::to_string(id) + " has exited");
  // Its group, as a terminal hangup reaches it: the session leader got a group of its own.
  ::kill(-p->info.pid, SIGHUP);
  ::kill(-p->info.pid, SIGTERM);
  ::kill(-p->info.pid, SIGCONT);
  p->info.state = ProcessState::stopping;
  p->kill_timer.expires_after(grace);
  p->kill_timer.async_wait([p](const boost::system::error_code& ec) {
    if (!ec && !p->info.exited()) ::kill(-p->info.pid, SIGKILL);
  });
  return {};
}

Result<std::string> ProcessTable::logs(uint64_t id) const { return TRY(get(id))->ring.contents(); }

size_t ProcessTable::clean() {
  size_t n = 0;
  for (auto it = processes_.begin(); it != processes_.end();) {
    if (it->second->info.exited()) {
      it = processes_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

Result<ProcessTable::Attached> ProcessTable::attach(uint64_t id, TerminalListener listener) {
  auto p = TRY(get(id));
  Attached a{next_listener_++, p->ring.contents(), p->info};
  if (!p->info.exited()) p->listeners[a.listener] = std::move(listener);
  return a;
}

void ProcessTable::detach(uint64_t id, uint64_t listener) {
  auto it = processes_.find(id);
  if (it != processes_.end()) it->second->listeners.erase(listener);
}

Result<void> ProcessTable::input(uint64_t id, std::string data) {
  auto p = TRY(get(id));
  if (p->info.exited()) return fail(Errc::conflict, "process " + std::to_string(id) + " has exited");
  if (data.empty()) return {};
  p->pending_input.push_back(std::move(data));
  if (!p->writing) write_more(p);
  return {};
}

void ProcessTable::write_more(const std::shared_ptr<Process>& p) {
  if (p->pending_input.empty() || !p->master.is_open()) {
    p->writing = false;
    return;
  }
  p->writing = true;
  asio::async_write(p->master, asio::buffer(p->pending_input.front()), [this, p](const boost::system::error_code& ec, size_t) {
    // exited() clears the queue while a write is in flight (its completion comes after, with
    // success or operation_aborted): nothing left to pop then.
    if (ec || p->pending_input.empty()) {
      p->pending_input.clear();
      p->writing = false;
      return;
    }
    p->pending_input.pop_front();
    write_more(p);
  });
}

Result<void> ProcessTable::resize(uint64_t id, uint16_t rows, uint16_t cols) {
  auto p = TRY(get(id));
  if (p->info.exited() || !p->master.is_open()) return fail(Errc::conflict, "process " + std::to_string(id) + " has exited");
  return set_window_size(p->master.native_handle(), rows, cols);
}

void ProcessTable::exited(Process& p, int status) {
  bool asked = p.info.state == ProcessState::stopping;
  if (WIFEXITED(status)) {
    p.info.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    p.info.signal = WTERMSIG(status);
  }
  p.info.state = asked || p.info.exit_code == 0 ? ProcessState::stopped : ProcessState::crashed;
  p.kill_timer.cancel();
  // What the program wrote last is still in the pty: read it before the listeners hear the end.
  // A background child still writing would keep this going without end: no more than the ring
  // holds (what came before it would fall out anyway).
  if (p.master.is_open()) {
    int fd = p.master.native_handle();
    for (size_t drained = 0; drained < ring_bytes_;) {
      ssize_t n = ::read(fd, p.buf.data(), std::min(p.buf.size(), ring_bytes_ - drained));
      if (n <= 0) break;
      drained += static_cast<size_t>(n);
      deliver(p, std::string_view(p.buf.data(), static_cast<size_t>(n)));
    }
    boost::system::error_code ec;
    p.master.close(ec);  // a background child still holding the terminal gets its hangup
  }
  p.pending_input.clear();
  auto listeners = std::move(p.listeners);
  p.listeners.clear();
  for (auto& [id, l] : listeners)
    if (l.exited) l.exited(p.info);
}

void ProcessTable::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;  // none left that exited (or no children at all)
    for (auto& [id, p] : processes_) {
      if (p->info.pid == pid && !p->info.exited()) {
        auto keep = p;  // a listener may clean() from its callback
        exited(*keep, status);
        break;
      }
    }
  }
}

size_t ProcessTable::running() const {
  size_t n = 0;
  for (const auto& [id, p] : processes_) n += !p->info.exited();
  return n;
}

void ProcessTable::signal_all(int signal) {
  for (auto& [id, p] : processes_) {
    if (p->info.exited()) continue;
    ::kill(-p->info.pid, signal);
    ::kill(p->info.pid, signal);
    p->info.state = ProcessState::stopping;
  }
}

}  // namespace tiffin::corex
