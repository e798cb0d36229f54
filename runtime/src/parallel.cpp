#include <nmc/runtime/parallel.hpp>

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <nmc/error.hpp>

namespace nmc::runtime {

int hardware_threads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void parallel_chunks(std::size_t n, int threads, std::size_t grain,
                     const std::function<void(std::size_t, std::size_t, int)>& body) {
  if (threads < 0) throw usage_error(fmt::format("--threads {} must be >= 0", threads));
  const int workers = threads == 0 ? hardware_threads() : threads;
  if (workers == 1) {
    body(0, n, 0);
    return;
  }
  tbb::task_arena arena(workers);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, std::max<std::size_t>(grain, 1)),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        body(r.begin(), r.end(), tbb::this_task_arena::current_thread_index());
                      });
  });
}

}  // namespace nmc::runtime
