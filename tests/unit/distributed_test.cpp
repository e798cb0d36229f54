// Distributed simulation (nmc/runtime/distributed.hpp), with ranks as threads
// of this process: the same counts, events and spikes as one process, for
// 1 to 3 ranks, 1 and 2 threads per rank, in both modes; the exchange seam
// proved by an exchange that serialises every spike; errors agreed on by
// every rank. The same code runs under mpirun in the mpi_* ctest entries.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <thread>

#include <nmc/hw/synthetic.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/distributed.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "common/builders.hpp"
#include "common/compile.hpp"
#include "common/run_nmc.hpp"
#include "common/sample_data.hpp"

using namespace nmc;

namespace {

// Runs fn(rank, comm) on `ranks` threads, one communicator each; returns what
// each produced.
template <class Fn>
auto on_ranks(int ranks, Fn fn) {
  auto comms = runtime::thread_ranks(ranks);
  using result = decltype(fn(0, *comms[0]));
  std::vector<result> out(static_cast<std::size_t>(ranks));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        out[static_cast<std::size_t>(r)] = fn(r, *comms[static_cast<std::size_t>(r)]);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

void check_same(const runtime::frame_results& a, const runtime::frame_results& b) {
  CHECK(a.frames == b.frames);
  CHECK(a.counts == b.counts);
  CHECK(a.predicted == b.predicted);
  CHECK(a.ticks == b.ticks);
  CHECK(a.totals == b.totals);
  CHECK(a.per_layer == b.per_layer);
}

// An exchange that turns every spike into bytes and back before delivering
// it: a tick loop that bypassed the seam, or handed it a spike twice or not
// at all, would give other counts.
class serialising_exchange final : public runtime::spike_exchange {
public:
  void exchange(std::span<const std::span<const runtime::spike>> buffers,
                const runtime::spike_delivery& local) override {
    bytes_.clear();
    for (const auto& b : buffers)
      for (const auto& s : b) {
        char rec[8];
        std::memcpy(rec, &s.core, 4);
        std::memcpy(rec + 4, &s.axon, 2);
        std::memcpy(rec + 6, &s.slot, 2);
        bytes_.append(rec, 8);
      }
    for (std::size_t at = 0; at < bytes_.size(); at += 8) {
      runtime::spike s{};
      std::memcpy(&s.core, bytes_.data() + at, 4);
      std::memcpy(&s.axon, bytes_.data() + at + 4, 2);
      std::memcpy(&s.slot, bytes_.data() + at + 6, 2);
      local.deliver({&s, 1});
    }
    spikes += static_cast<std::int64_t>(bytes_.size() / 8);
  }
  void outputs(std::span<const std::vector<runtime::output_spike>> per_worker,
               const runtime::output_fn& on_output) override {
    for (const auto& b : per_worker) outputs_seen += static_cast<std::int64_t>(b.size());
    spike_exchange::outputs(per_worker, on_output);
  }
  std::int64_t spikes = 0, outputs_seen = 0;

private:
  std::string bytes_;
};

}  // namespace

TEST_CASE("distributed: an exchange that serialises every spike gives the same run") {
  std::mt19937 rng(5);
  const auto net = test::random_network(rng, 128);
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  const auto state = compiler::compile_truenorth(net, target, text, "", {});
  const auto d = test::random_frames(net, 40, 9);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    runtime::sim_options o;
    o.threads = threads;
    const auto plain = runtime::run_frames(state.program, d, o);
    serialising_exchange ex;
    o.exchange = &ex;
    const auto seamed = runtime::run_frames(state.program, d, o);
    check_same(plain, seamed);
    CHECK(ex.spikes == plain.totals.spikes - plain.totals.offchip_spikes);
    CHECK(ex.outputs_seen == plain.totals.offchip_spikes);
    CHECK(ex.spikes > 0);
  }
}

TEST_CASE("distributed: both modes give the single run's counts for 1, 2 and 3 ranks and 1 and 2 threads") {
  std::mt19937 rng(21);
  const auto net = test::random_network(rng, 128);
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  for (int chips : {1, 2}) {
    CAPTURE(chips);
    compiler::pipeline_options po;
    po.opts.chips = chips;
    const auto state = compiler::compile_truenorth(net, target, text, "", po);
    const auto& p = state.program;
    CHECK(runtime::frame_sharding_obstacle(p).empty());
    const auto d = test::random_frames(net, 37, 3);  // not a multiple of the ranks
    runtime::sim_options one;
    const auto single = runtime::run_frames(p, d, one);
    CHECK(single.totals.spikes > 0);
    for (auto mode : {runtime::distribution_mode::cores, runtime::distribution_mode::frames})
      for (int ranks : {1, 2, 3})
        for (int threads : {1, 2}) {
          CAPTURE(runtime::to_string(mode));
          CAPTURE(ranks);
          CAPTURE(threads);
          runtime::sim_options o;
          o.threads = threads;
          const auto all = on_ranks(ranks, [&](int, runtime::communicator& comm) {
            return runtime::run_distributed(p, d, o, comm, mode);
          });
          for (const auto& r : all) check_same(r.results, single);
          REQUIRE(all[0].ranks.size() == static_cast<std::size_t>(ranks));
          if (mode == runtime::distribution_mode::cores && ranks > 1) {
            std::int64_t sent = 0, received = 0;
            std::size_t cores = 0;
            for (const auto& f : all[0].ranks) sent += f.spikes_sent, received += f.spikes_received, cores += f.cores;
            CHECK(sent == received);
            CHECK(sent > 0);  // spikes did cross ranks
            CHECK(cores == p.cores.size());
          }
          if (mode == runtime::distribution_mode::frames) {
            CHECK(all[0].ranks.front().frame_begin == 0);
            CHECK(all[0].ranks.back().frame_end == d.frames);
          }
        }
  }
}

TEST_CASE("distributed: frames mode with more ranks than frames, and a slice of no frames") {
  std::mt19937 rng(2);
  const auto net = test::random_network(rng, 64);
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  const auto state = compiler::compile_truenorth(net, target, text, "", {});
  const auto d = test::random_frames(net, 2, 4);
  const auto single = runtime::run_frames(state.program, d, {});
  const auto all = on_ranks(3, [&](int, runtime::communicator& comm) {
    return runtime::run_distributed(state.program, d, {}, comm, runtime::distribution_mode::frames);
  });
  check_same(all[2].results, single);
  CHECK(all[0].ranks[2].frame_begin == all[0].ranks[2].frame_end);
}

TEST_CASE("distributed: cores mode on a recurrent, stateful chip matches one process spike for spike") {
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  // Neurons keep potentials and the core graph has cycles: frames mode cannot
  // split it, and a lost, doubled or late spike changes every later tick.
  const auto p = hw::random_chip(target, text, 48, 0.1, 2, 6, 3);
  CHECK_FALSE(runtime::frame_sharding_obstacle(p).empty());
  auto run = [&](runtime::tn_simulator& sim, const runtime::tn_partition* part) {
    std::mt19937_64 rng(17);
    std::vector<runtime::fired_neuron> fired;
    for (int t = 0; t < 30; ++t) {
      for (int k = 0; k < 48; ++k) {
        const auto core = static_cast<std::uint32_t>(rng() % p.cores.size());
        const auto axon = static_cast<std::uint16_t>(rng() % 256);
        if (!part || part->owns(core)) sim.inject(core, axon, 0);
      }
      sim.step();
      for (const auto& f : sim.fired()) fired.push_back(f);
    }
    return std::pair(fired, sim.totals());
  };
  runtime::sim_options o;
  o.record_spikes = true;
  runtime::tn_simulator one(p, o);
  const auto single = run(one, nullptr);
  CHECK(single.first.size() > 300);
  for (int ranks : {2, 3}) {
    CAPTURE(ranks);
    const auto all = on_ranks(ranks, [&](int rank, runtime::communicator& comm) {
      const auto part = runtime::partition_cores(p, ranks, rank);
      runtime::distributed_exchange ex(comm, part);
      runtime::sim_options ro = o;
      ro.threads = 2;
      ro.partition = &part;
      ro.exchange = &ex;
      runtime::tn_simulator sim(p, ro);
      return run(sim, &part);
    });
    std::vector<runtime::fired_neuron> merged;
    runtime::event_counts totals;
    for (const auto& [fired, t] : all) {
      merged.insert(merged.end(), fired.begin(), fired.end());
      totals += t;
    }
    std::sort(merged.begin(), merged.end());
    auto expected = single.first;
    std::sort(expected.begin(), expected.end());
    CHECK(merged == expected);
    CHECK(totals == single.second);
  }
  // Frames mode refuses it, on every rank, with the reason.
  runtime::dataset d;
  CHECK_THROWS_AS(on_ranks(2,
                           [&](int, runtime::communicator& comm) {
                             return runtime::run_distributed(p, d, {}, comm, runtime::distribution_mode::frames);
                           }),
                  usage_error);
}

TEST_CASE("distributed: partition_cores gives every core one owner and each rank a share of every level") {
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  std::mt19937 rng(8);
  const auto net = test::random_network(rng, 128);
  const auto state = compiler::compile_truenorth(net, target, text, "", {});
  const auto& p = state.program;
  const auto a = runtime::partition_cores(p, 3, 0);
  const auto b = runtime::partition_cores(p, 3, 2);
  CHECK(a.owner == b.owner);  // the same plan on every rank
  CHECK(b.rank == 2);
  for (auto o : a.owner) CHECK(o < 3);
  std::vector<std::size_t> per_rank(3, 0);
  for (auto o : a.owner) ++per_rank[o];
  if (p.cores.size() >= 6)
    for (auto n : per_rank) CHECK(n > 0);
}

TEST_CASE("distributed: an error on one rank reaches every rank, with the same words and exit code") {
  const auto all = on_ranks(3, [&](int rank, runtime::communicator& comm) {
    std::string seen;
    try {
      runtime::agree(comm, [&] {
        if (rank == 1) throw io_error("report.json: cannot write", "check the folder");
        if (rank == 2) throw data_error("frames: bad", "another");
      });
    } catch (const error& e) {
      seen = fmt::format("{}|{}|{}|{}", e.kind(), e.what(), e.hint(), static_cast<int>(e.code()));
    }
    return seen;
  });
  for (const auto& s : all) CHECK(s == "i/o error|report.json: cannot write|check the folder|1");
  const auto fine = on_ranks(2, [&](int, runtime::communicator& comm) {
    runtime::agree(comm, [] {});
    return 1;
  });
  CHECK(fine == std::vector<int>{1, 1});
}

TEST_CASE("distributed: frame_share tiles the frames in contiguous slices") {
  for (std::size_t frames : {0u, 1u, 7u, 100u})
    for (int ranks : {1, 2, 3, 8}) {
      std::size_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const auto [b, e] = runtime::frame_share(frames, ranks, r);
        CHECK(b == next);
        CHECK(e >= b);
        CHECK(e - b <= frames / static_cast<std::size_t>(ranks) + 1);
        next = e;
      }
      CHECK(next == frames);
    }
}

TEST_CASE("distributed: --mpi-mode takes auto, cores or frames; nmc run and a build without MPI refuse ranks") {
  const auto bad = test::run_nmc("simulate x.nmc --mpi-mode spread");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--mpi-mode") != std::string::npos);
#if !defined(NMC_HAVE_MPI)
  // What mpirun would tell each process: a build without MPI must not run the
  // whole simulation on every rank.
  const auto launched = test::run_nmc("simulate x.nmc", "OMPI_COMM_WORLD_SIZE=3 ");
  CHECK(launched.code == 2);
  CHECK(launched.out.find("3 MPI ranks, but this build has no MPI") != std::string::npos);
  CHECK(launched.out.find("hint: ") != std::string::npos);
#endif
}

TEST_CASE("distributed: threads in frames mode give the single thread's run; refused where it would not be exact") {
  std::mt19937 rng(33);
  for (int trial = 0; trial < 6; ++trial) {
    CAPTURE(trial);
    const auto net = test::random_network(rng, 128);
    const auto text = test::default_target_text();
    const auto target = hw::parse_truenorth(text, "truenorth.yaml");
    const auto state = compiler::compile_truenorth(net, target, text, "", {});
    const auto d = test::random_frames(net, 61 + 17 * trial, 40 + trial);  // shares of unequal size
    runtime::sim_options one;
    const auto single = runtime::run_frames(state.program, d, one);
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      runtime::sim_options o;
      o.threads = threads;
      o.threading = runtime::thread_mode::frames;
      check_same(single, runtime::run_frames(state.program, d, o));
      o.threading = runtime::thread_mode::cores;
      check_same(single, runtime::run_frames(state.program, d, o));
    }
    // An error in a share reaches the caller as that error.
    auto bad = d;
    bad.width += 1;
    runtime::sim_options o;
    o.threads = 2;
    o.threading = runtime::thread_mode::frames;
    CHECK_THROWS_AS(runtime::run_frames(state.program, bad, o), data_error);
  }
  // A recurrent program cannot be split by frames: asked for, it is refused with the reason.
  const auto text = test::default_target_text();
  const auto p = hw::balanced_chip(hw::parse_truenorth(text, "truenorth.yaml"), text, 8, 0.25, 12, 15, 1, 1);
  runtime::sim_options o;
  o.threads = 2;
  o.threading = runtime::thread_mode::frames;
  const runtime::dataset none;
  CHECK_THROWS_WITH_AS(runtime::run_frames(p, none, o), doctest::Contains("frames thread mode"), usage_error);
}
