#pragma once
// Frame-parallel execution on a fixed number of threads. Work is split into
// chunks of a range; each call gets a worker index in [0, workers) so callers
// keep per-worker scratch without locks. Results must be written by index, so
// they do not depend on which worker ran which chunk.

#include <cstddef>
#include <functional>

namespace nmc::runtime {

// Number of hardware threads (>= 1).
int hardware_threads();

// Runs body(begin, end, worker) over [0, n) on `threads` threads (0: all
// hardware threads), in chunks of about `grain` items.
void parallel_chunks(std::size_t n, int threads, std::size_t grain,
                     const std::function<void(std::size_t, std::size_t, int)>& body);

}  // namespace nmc::runtime
