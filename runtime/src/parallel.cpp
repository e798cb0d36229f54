#include <nmc/runtime/parallel.hpp>

#include <algorithm>
#include <cstdint>
#include <thread>

#include <sched.h>

#include <fmt/format.h>

#if NMC_PARALLEL_STD
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>
#else
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#endif

#include <nmc/error.hpp>

namespace nmc::runtime {

// The CPUs this process may run on (taskset, cgroups, an MPI launcher's
// binding), not all the machine has: more workers than that only queue up.
int hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

#if NMC_PARALLEL_STD

const char* parallel_backend() { return "std"; }

// Helpers wait on a condition variable for a new job (a generation number);
// every worker, the caller included, then takes chunks from one atomic
// counter, and the last one to finish wakes the caller. All hand-overs go
// through the mutex, which is what lets ThreadSanitizer check the callers.
struct worker_team::impl {
  int workers;
  std::vector<std::thread> helpers;
  std::mutex m;
  std::condition_variable wake, done;
  std::uint64_t generation = 0;  // guarded by m
  int running = 0;               // helpers still on the current job, guarded by m
  bool stop = false;             // guarded by m
  // The current job, written by the caller under m before the generation moves.
  std::size_t n = 0, grain = 1;
  const chunk_body_ref* body = nullptr;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;  // the first exception of the current job, guarded by m

  // Runs chunks until none is left; an exception is kept for the caller (as
  // TBB does) and the remaining chunks are skipped.
  void work(int worker) {
    try {
      for (;;) {
        const std::size_t begin = next.fetch_add(grain, std::memory_order_relaxed);
        if (begin >= n) return;
        (*body)(begin, std::min(n, begin + grain), worker);
      }
    } catch (...) {
      next.store(n, std::memory_order_relaxed);
      std::lock_guard lock(m);
      if (!failure) failure = std::current_exception();
    }
  }

  void helper(int worker) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(m);
        wake.wait(lock, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
      }
      work(worker);
      std::lock_guard lock(m);
      if (--running == 0) done.notify_one();
    }
  }
};

worker_team::worker_team(int workers) : impl_(std::make_unique<impl>()) {
  if (workers < 1) throw usage_error(fmt::format("--threads {} must be at least 1", workers));
  impl_->workers = workers;
  for (int w = 1; w < workers; ++w) impl_->helpers.emplace_back([this, w] { impl_->helper(w); });
}

worker_team::~worker_team() {
  {
    std::lock_guard lock(impl_->m);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->helpers) t.join();
}

void worker_team::for_chunks(std::size_t n, std::size_t grain, chunk_body_ref body) {
  auto& s = *impl_;
  if (s.workers == 1 || n <= grain) {
    if (n > 0) body(0, n, 0);
    return;
  }
  {
    std::lock_guard lock(s.m);
    s.n = n;
    s.grain = std::max<std::size_t>(grain, 1);
    s.body = &body;
    s.next.store(0, std::memory_order_relaxed);
    s.running = static_cast<int>(s.helpers.size());
    ++s.generation;
  }
  s.wake.notify_all();
  s.work(0);
  // Wait even if a chunk failed: the helpers still use `body`.
  std::unique_lock lock(s.m);
  s.done.wait(lock, [&] { return s.running == 0; });
  s.body = nullptr;
  if (s.failure) std::rethrow_exception(std::exchange(s.failure, nullptr));
}

#else  // TBB

const char* parallel_backend() { return "tbb"; }

struct worker_team::impl {
  int workers;
  tbb::task_arena arena;
  explicit impl(int w) : workers(w), arena(w) {}
};

worker_team::worker_team(int workers) {
  if (workers < 1) throw usage_error(fmt::format("--threads {} must be at least 1", workers));
  impl_ = std::make_unique<impl>(workers);
}

worker_team::~worker_team() = default;

void worker_team::for_chunks(std::size_t n, std::size_t grain, chunk_body_ref body) {
  if (impl_->workers == 1) {
    if (n > 0) body(0, n, 0);
    return;
  }
  impl_->arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, std::max<std::size_t>(grain, 1)),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        body(r.begin(), r.end(), tbb::this_task_arena::current_thread_index());
                      });
  });
}

#endif

int worker_team::workers() const { return impl_->workers; }

void parallel_chunks(std::size_t n, int threads, std::size_t grain,
                     const std::function<void(std::size_t, std::size_t, int)>& body) {
  if (threads < 0) throw usage_error(fmt::format("--threads {} must be >= 0", threads));
  const int workers = threads == 0 ? hardware_threads() : threads;
  if (workers == 1) {
    body(0, n, 0);
    return;
  }
  worker_team team(workers);
  auto call = [&](std::size_t b, std::size_t e, int w) { body(b, e, w); };
  team.for_chunks(n, grain, call);
}

}  // namespace nmc::runtime
