// coreX's processes: each on a pty of its own, its recent output in a bounded ring, any number
// of terminals (browsers) attached. Everything runs on one io_context thread: the pty reads,
// the input writes, the exits (PID 1 reaps every child: the table's and orphans).
//
// States (threefoldtech/corex's names): running; stopping (a stop or kill was sent); stopped (it
// exited after coreX signalled it, or with code 0); crashed (any other exit). An exited process
// stays listed, with its code or signal and its output, until /api/process/clean.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::corex {

enum class ProcessState { running, stopping, stopped, crashed };
const char* state_name(ProcessState s);

struct ProcessInfo {
  uint64_t id = 0;
  pid_t pid = 0;
  std::string command;  // argv joined by spaces
  ProcessState state = ProcessState::running;
  int exit_code = -1;  // once exited normally
  int signal = 0;      // once killed by a signal
  bool exited() const { return state == ProcessState::stopped || state == ProcessState::crashed; }
};

struct TerminalListener {
  std::function<void(std::string_view)> output;
  std::function<void(const ProcessInfo&)> exited;  // after the last output
};

class ProcessTable {
 public:
  // `env`: the processes' environment (KEY=value).
  ProcessTable(boost::asio::io_context& io, size_t ring_bytes, std::vector<std::string> env);
  ~ProcessTable();
  ProcessTable(const ProcessTable&) = delete;
  ProcessTable& operator=(const ProcessTable&) = delete;

  Result<ProcessInfo> start(const std::vector<std::string>& argv);
  std::vector<ProcessInfo> list() const;
  Result<ProcessInfo> find(uint64_t id) const;
  // A signal to the process (a running one: conflict once it exited).
  Result<void> kill(uint64_t id, int signal);
  // A hangup and SIGTERM to its process group (a shell ignores SIGTERM alone), SIGKILL after
  // `grace` if it is still there.
  Result<void> stop(uint64_t id, std::chrono::milliseconds grace = std::chrono::seconds(5));
  Result<std::string> logs(uint64_t id) const;
  // Forgets exited processes; how many.
  size_t clean();

  // The output so far (the ring) and a listener for what follows; detach with the returned id.
  struct Attached {
    uint64_t listener = 0;
    std::string backlog;
    ProcessInfo info;
  };
  Result<Attached> attach(uint64_t id, TerminalListener listener);
  void detach(uint64_t id, uint64_t listener);
  Result<void> input(uint64_t id, std::string data);
  Result<void> resize(uint64_t id, uint16_t rows, uint16_t cols);

  // Reaps every child that exited (waitpid(-1, WNOHANG)): call on SIGCHLD.
  void reap();
  size_t running() const;
  // `signal` to every running process's group (shutdown).
  void signal_all(int signal);

 private:
  struct Process;
  void read_more(const std::shared_ptr<Process>& p);
  void deliver(Process& p, std::string_view data);
  void exited(Process& p, int status);
  void write_more(const std::shared_ptr<Process>& p);
  Result<std::shared_ptr<Process>> get(uint64_t id) const;

  boost::asio::io_context& io_;
  size_t ring_bytes_;
  std::vector<std::string> env_;
  uint64_t next_id_ = 1, next_listener_ = 1;
  std::map<uint64_t, std::shared_ptr<Process>> processes_;
};

}  // namespace tiffin::corex
