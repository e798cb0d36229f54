#pragma once
// Parallel execution on a fixed number of threads. Work is split into chunks
// of a range; each call gets a worker index in [0, workers) so callers keep
// per-worker scratch without locks. Results must be written by index, so they
// do not depend on which worker ran which chunk.
//
// Two backends, chosen at configure time (NMC_PARALLEL_BACKEND): TBB (the
// default) and plain std::thread workers ("std"), which ThreadSanitizer builds
// use: Debian's libtbb is not instrumented, so TSan cannot see TBB's hand-overs,
// while it sees every mutex and condition variable of the std backend.

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>

namespace nmc::runtime {

// Number of hardware threads this process may use (>= 1): the CPUs of its
// affinity mask (taskset, cgroups, an MPI launcher binding ranks to cores).
int hardware_threads();

// The parallel backend this build uses: "tbb" or "std".
const char* parallel_backend();

// A borrowed reference to a chunk body `void(begin, end, worker)`: no
// allocation and no copy, so the tick loop can hand one over every tick.
class chunk_body_ref {
public:
  template <class F>
    requires(!std::is_same_v<std::remove_cv_t<F>, chunk_body_ref>)
  chunk_body_ref(F& f)  // NOLINT(google-explicit-constructor): used like std::function_ref
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, std::size_t b, std::size_t e, int w) { (*static_cast<F*>(o))(b, e, w); }) {}
  void operator()(std::size_t begin, std::size_t end, int worker) const { call_(obj_, begin, end, worker); }

private:
  void* obj_;
  void (*call_)(void*, std::size_t, std::size_t, int);
};

// A team of `workers` threads kept for the life of a simulation, so a tick
// starts no threads. The calling thread takes part as one of the workers.
class worker_team {
public:
  explicit worker_team(int workers);
  ~worker_team();
  worker_team(const worker_team&) = delete;
  worker_team& operator=(const worker_team&) = delete;

  int workers() const;
  // Runs body(begin, end, worker) over [0, n) in chunks of about `grain`
  // items (one chunk when there is one worker) and returns when every chunk
  // is done. Not reentrant.
  void for_chunks(std::size_t n, std::size_t grain, chunk_body_ref body);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// Runs body(begin, end, worker) over [0, n) on `threads` threads (0: all
// hardware threads), in chunks of about `grain` items.
void parallel_chunks(std::size_t n, int threads, std::size_t grain,
                     const std::function<void(std::size_t, std::size_t, int)>& body);

}  // namespace nmc::runtime
