// Running an exec on a hijacked connection: docker's POST /exec/{id}/start and the Zero-OS
// API's interactive exec (POST /zos/v1/containers/{id}/exec, `zos container ID shell`) are one
// machinery, so a terminal behaves the same whichever API opened it.
#pragma once

#include <cstdint>

#include "api/engine_api.hpp"
#include "api/exec_store.hpp"

namespace tiffin::api {

// How an exec ended: the program's exit code, or docker's 126 with the runtime's message when
// it could not run the program (no such program, not executable …).
struct ExecEnd {
  int code = 0;
  std::string failure;
};
// Waits for the runtime's exec and reads its failure, if any.
ExecEnd exec_end(engine::PipedExec& p);

// The response that runs `x` (already marked started in api.execs()) once its head went out:
// with a terminal raw bytes both ways, without docker's multiplexed frames. Its end (exit code)
// is recorded in api.execs(). `rows`/`cols`: the terminal's size to start with (0: leave it).
Response hijacked_exec(EngineApi& api, const ExecInstance& x, uint16_t rows = 0, uint16_t cols = 0);

}  // namespace tiffin::api
