// The worker team under the simulator and the reference pass: every index
// runs exactly once, worker ids stay in range, and a team is reused across
// many loops (as the tick loop does). Run under ThreadSanitizer by
// scripts/tsan.sh with the std backend.
#include <doctest/doctest.h>

#include <atomic>
#include <vector>

#include <nmc/error.hpp>
#include <nmc/runtime/parallel.hpp>

using namespace nmc;
using namespace nmc::runtime;

TEST_CASE("parallel: for_chunks covers every index once, on workers in range, loop after loop") {
  for (int workers : {1, 2, 3, 5}) {
    CAPTURE(workers);
    worker_team team(workers);
    CHECK(team.workers() == workers);
    std::vector<int> hits(1000);
    std::vector<std::vector<std::size_t>> per_worker(static_cast<std::size_t>(workers));
    for (int loop = 0; loop < 200; ++loop) {
      const std::size_t n = static_cast<std::size_t>(loop * 5 % 1000), grain = 1 + static_cast<std::size_t>(loop % 7);
      std::atomic<bool> bad_worker{false};
      auto body = [&](std::size_t b, std::size_t e, int w) {
        if (w < 0 || w >= workers || e > n || b >= e) bad_worker = true;
        // Per-worker scratch without locks: only worker w touches per_worker[w].
        auto& mine = per_worker[static_cast<std::size_t>(std::max(0, std::min(w, workers - 1)))];
        for (std::size_t i = b; i < e; ++i) mine.push_back(i);
      };
      team.for_chunks(n, grain, body);
      CHECK_FALSE(bad_worker.load());
      std::fill(hits.begin(), hits.end(), 0);
      for (auto& v : per_worker) {
        for (auto i : v) ++hits[i];
        v.clear();
      }
      for (std::size_t i = 0; i < hits.size(); ++i) REQUIRE(hits[i] == (i < n ? 1 : 0));
    }
  }
}

TEST_CASE("parallel: parallel_chunks sums like a plain loop for any thread count") {
  std::vector<std::int64_t> v(100000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>(i * i % 977);
  std::int64_t plain = 0;
  for (auto x : v) plain += x;
  for (int threads : {1, 2, 4}) {
    std::vector<std::int64_t> partial(static_cast<std::size_t>(threads), 0);
    parallel_chunks(v.size(), threads, 64, [&](std::size_t b, std::size_t e, int w) {
      for (std::size_t i = b; i < e; ++i) partial[static_cast<std::size_t>(w)] += v[i];
    });
    std::int64_t sum = 0;
    for (auto p : partial) sum += p;
    CHECK(sum == plain);
  }
  CHECK_THROWS_AS(parallel_chunks(10, -1, 1, [](std::size_t, std::size_t, int) {}), usage_error);
  CHECK_THROWS_AS(worker_team(0), usage_error);
  CHECK((std::string(parallel_backend()) == "tbb" || std::string(parallel_backend()) == "std"));
}

TEST_CASE("parallel: an exception in a chunk reaches the caller and the team stays usable") {
  worker_team team(3);
  auto failing = [](std::size_t b, std::size_t e, int) {
    if (b <= 40 && 40 < e) throw data_error("chunk 40");
  };
  CHECK_THROWS_WITH_AS(team.for_chunks(100, 10, failing), "chunk 40", data_error);
  std::atomic<std::size_t> sum{0};
  auto adding = [&](std::size_t b, std::size_t e, int) {
    for (std::size_t i = b; i < e; ++i) sum += i;
  };
  team.for_chunks(100, 10, adding);
  CHECK(sum == 4950);
}
