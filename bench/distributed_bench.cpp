// Whole-run benchmark of distributed simulation on synthetic boards of many
// chips (hw::balanced_board: balanced_chip's self-driven random network, every
// chip full, spikes crossing to neighbouring chips). Run as one process, or
// under mpirun for cores-mode distribution over the ranks (the recurrent
// network cannot be split by frames). Warm-up ticks are untimed; rank 0
// prints one JSON line with ticks/s, the spikes and synaptic events summed
// over the ranks (equal for any ranks and threads: bench/run.sh compares
// them), peak memory per rank, and each rank's compute, exchange and wait.
//
//   nmc_bench_distributed [--chips N] [--ticks T] [--warmup W] [--threshold X] [--threads T] [--seed S]
//   mpirun -n R nmc_bench_distributed ...

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/synthetic.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/runtime/distributed.hpp>
#include <nmc/runtime/mpi.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "measure.hpp"

namespace {

using nmc::bench::peak_rss_mib;

// The board closest to square for `chips` (4 -> 2 x 2, 16 -> 4 x 4, 8 -> 4 x 2).
std::pair<int, int> board_of(int chips) {
  int x = 1;
  for (int k = 1; k * k <= chips; ++k)
    if (chips % k == 0) x = k;
  return {chips / x, x};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto world = nmc::runtime::mpi_world(argc, argv);
    int chips = 16, ticks = 30, warmup = 5, threshold = 12, threads = 1;
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (i + 1 >= argc) throw nmc::usage_error(fmt::format("{} needs a value", a));
      const std::string v = argv[++i];
      if (a == "--chips") chips = std::stoi(v);
      else if (a == "--ticks") ticks = std::stoi(v);
      else if (a == "--warmup") warmup = std::stoi(v);
      else if (a == "--threshold") threshold = std::stoi(v);
      else if (a == "--threads") threads = std::stoi(v);
      else if (a == "--seed") seed = std::stoull(v);
      else throw nmc::usage_error(fmt::format("unknown option {}", a));
    }
    if (chips < 1 || ticks < 1 || warmup < 0 || threads < 1)
      throw nmc::usage_error("--chips, --ticks and --threads must be at least 1, --warmup at least 0");
    const auto text = nmc::read_file(nmc::hw::default_truenorth_path());
    const auto target = nmc::hw::parse_truenorth(text, "truenorth.yaml");
    const auto [bx, by] = board_of(chips);
    const auto build0 = std::chrono::steady_clock::now();
    // Density and delays as in the one-chip synthetic bench (synthetic_bench.cpp).
    const auto p = nmc::hw::balanced_board(target, text, bx, by, 0.25, threshold, 15, 6, seed);
    const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - build0).count();

    const int ranks = world ? world->size() : 1, rank = world ? world->rank() : 0;
    nmc::runtime::tn_partition part;
    std::unique_ptr<nmc::runtime::distributed_exchange> ex;
    nmc::runtime::sim_options o;
    o.threads = threads;
    if (world) {
      part = nmc::runtime::partition_cores(p, ranks, rank);
      ex = std::make_unique<nmc::runtime::distributed_exchange>(*world, part);
      o.partition = &part;
      o.exchange = ex.get();
    }
    nmc::runtime::tn_simulator sim(p, o);
    for (int t = 0; t < warmup; ++t) sim.step();
    const auto before = sim.totals();
    const double wait0 = ex ? ex->wait_s : 0, exch0 = ex ? ex->exchange_s : 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < ticks; ++t) sim.step();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto counts = sim.totals();
    counts -= before;
    std::int64_t sums[2] = {counts.spikes, counts.synaptic_events};
    double figures[3] = {wall, ex ? ex->wait_s - wait0 : 0.0, ex ? ex->exchange_s - exch0 : 0.0};
    const double rss = peak_rss_mib();
    double worst[2] = {wall, rss};
    std::string per_rank;
    if (world) {
      world->sum(sums);
      world->max(worst);
      const std::string mine =
          fmt::format("{{\"rank\": {}, \"compute_s\": {:.4f}, \"exchange_s\": {:.4f}, \"wait_s\": {:.4f}, "
                      "\"spikes_sent\": {}, \"peak_rss_mib\": {:.0f}}}",
                      rank, figures[0] - figures[1] - figures[2], figures[2], figures[1], ex->spikes_sent, rss);
      const auto all = world->gather(mine);
      for (std::size_t k = 0; k < all.size(); ++k) per_rank += (k ? ", " : "") + all[k];
    }
    if (rank == 0) {
      const double neurons = static_cast<double>(p.cores.size()) * target.neurons;
      fmt::print("{{\"bench\": \"distributed\", \"chips\": {}, \"board\": \"{}x{}\", \"cores\": {}, \"ranks\": {}, "
                 "\"threads\": {}, \"mpi\": {}, \"ticks\": {}, \"wall_s\": {:.4f}, \"ticks_per_s\": {:.3f}, "
                 "\"chip_ticks_per_s\": {:.2f}, \"spikes\": {}, \"synaptic_events\": {}, \"activity_pct\": {:.2f}, "
                 "\"build_s\": {:.2f}, \"peak_rss_mib_max\": {:.0f}, \"peak_rss_mib_per_chip\": {:.1f}, "
                 "\"per_rank\": [{}]}}\n",
                 chips, bx, by, p.cores.size(), ranks, threads, world ? "true" : "false", ticks, worst[0],
                 ticks / worst[0], ticks * chips / worst[0], sums[0], sums[1],
                 100.0 * static_cast<double>(sums[0]) / (neurons * ticks), build_s, worst[1],
                 worst[1] * ranks / chips, per_rank);
      std::fflush(stdout);
    }
    return 0;
  } catch (const nmc::error& e) {
    std::fprintf(stderr, "nmc_bench_distributed: %s\n", e.what());
    return static_cast<int>(e.code());
  }
}
