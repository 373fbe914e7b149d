#define FUSE_USE_VERSION 312
#include "fuse/session_loop.hpp"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace tiffin {
namespace {

// Interrupts a worker's blocking read of the device (no SA_RESTART: the read fails with EINTR).
constexpr int kWakeSignal = SIGUSR1;
void on_wake(int) {}

}  // namespace

Result<void> run_session_loop(fuse_session* se, const SessionLoopOptions& opts) {
  sigset_t stop, old_mask;
  sigemptyset(&stop);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop, s);
  // Blocked before the workers start, so they inherit it and only this thread takes them.
  pthread_sigmask(SIG_BLOCK, &stop, &old_mask);
  struct sigaction wake {
  }, old_wake{};
  wake.sa_handler = on_wake;
  sigaction(kWakeSignal, &wake, &old_wake);

  std::atomic<unsigned> alive{0};
  std::atomic<int> failure{0};
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < std::max(1u, opts.threads); ++i) {
    ++alive;
    workers.emplace_back([&] {
      fuse_buf buf{};
      while (!fuse_session_exited(se)) {
        int n = fuse_session_receive_buf(se, &buf);
        if (n == -EINTR || n == -EAGAIN) continue;
        if (n <= 0) {  // 0: unmounted (ENODEV) or exiting
          if (n < 0) failure = -n;
          fuse_session_exit(se);
          break;
        }
        if (opts.intercept && opts.intercept(buf)) continue;
        fuse_session_process_buf(se, &buf);
      }
      std::free(buf.mem);
      --alive;
    });
  }
  const timespec tick{0, 200'000'000};
  while (alive == workers.size() && !fuse_session_exited(se))
    if (sigtimedwait(&stop, nullptr, &tick) > 0) fuse_session_exit(se);
  // Workers blocked in read(2) learn of the exit only when woken.
  while (alive > 0) {
    for (auto& w : workers) pthread_kill(w.native_handle(), kWakeSignal);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : workers) w.join();
  sigaction(kWakeSignal, &old_wake, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (failure) return fail(Errc::io, std::string("reading /dev/fuse: ") + std::strerror(failure));
  return {};
}

}  // namespace tiffin
