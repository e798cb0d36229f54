// Grid simulator throughput: element-cycles per second at 1 and 2 threads on
// a synthetic DANNA-style program that configures every element of a W x H
// grid (rows of relay chains fed by input neurons every other cycle, with a
// neuron every 4th element), so about half the elements carry a value each
// cycle. Each thread count runs twice: stepping every element, and with relay
// chains run as delay lines (the default; here 3 of 4 elements are relays).
// Element-cycles count every configured element, stepped or not. The two runs
// must count the same events (exit 1 otherwise). Prints JSON lines;
// bench/run.sh puts them in bench/RESULTS.md.
//
// With --program, a compiled grid program instead (nmc compile --target
// danna), run with relay chains as delay lines only (stepping every element of
// a laid-out model takes hours), each input port given a pseudo-random bit
// (fixed seed) every cycle: bench/run.sh times grid_fmnist laid out in
// stripes, and builds can be compared on larger layouts by hand.
//
//   nmc_bench_grid [--size N] [--cycles C] [--program FILE]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include <nmc/files.hpp>
#include <nmc/hw/danna.hpp>
#include <nmc/hw/dn_program.hpp>
#include <nmc/runtime/dn_sim.hpp>

namespace {

nmc::hw::dn_program synthetic(int size) {
  const std::string base = nmc::read_file(nmc::hw::default_danna_path());
  nmc::hw::dn_program p;
  p.mode = nmc::hw::dn_mode::spikes;
  p.target_text = nmc::hw::with_geometry(base, "danna.yaml", size, size, 1, 1);
  p.target = nmc::hw::parse_danna(p.target_text, "danna.yaml");
  p.layers = {"synthetic"};
  int left = -1;  // the neighbour index of offset (-1, 0)
  for (std::size_t k = 0; k < p.target.neighbours.size(); ++k)
    if (p.target.neighbours[k] == std::array<int, 2>{-1, 0}) left = static_cast<int>(k);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      nmc::hw::dn_element e;
      e.x = static_cast<std::uint32_t>(x), e.y = static_cast<std::uint32_t>(y);
      const bool neuron = x % 4 == 0;
      e.kind = neuron ? nmc::hw::element_kind::neuron : nmc::hw::element_kind::synapse;
      e.listen = x > 0 ? static_cast<std::uint16_t>(1U << left) : 0;
      e.delay = static_cast<std::uint8_t>(1 + (x + y) % 3);
      e.threshold = 1;
      e.charge_min = -100;
      e.leak = nmc::hw::leak_kind::reset;
      if (x == 0) p.inputs.push_back({static_cast<std::uint32_t>(p.elements.size()), -1, 0});
      p.elements.push_back(e);
    }
  }
  nmc::hw::verify_program(p, true);
  return p;
}

}  // namespace

// A compiled program, delay lines only, random input bits.
int run_program(const std::string& path, std::int64_t cycles) {
  const auto p = nmc::hw::read_dn_program(path);
  for (int threads : {1, 2}) {
    nmc::runtime::dn_simulator sim(p, threads, {.fold_relays = true});
    std::mt19937_64 rng(1);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t c = 0; c < cycles; ++c) {
      for (std::uint32_t i = 0; i < p.inputs.size(); ++i)
        if (rng() & 1) sim.inject(i);
      sim.step();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto t = sim.totals();
    fmt::print("{{\"grid\": \"{} ({}x{})\", \"program\": \"{}\", \"elements\": {}, \"relays\": \"delay lines\", \"stepped\": {}, \"threads\": {}, "
               "\"cycles\": {}, \"wall_s\": {:.3f}, \"ms_per_cycle\": {:.3f}, \"element_cycles_per_s\": {:.0f}, "
               "\"synapse_activations\": {}, \"fires\": {}}}\n",
               std::filesystem::path(path).filename().string(), p.target.width(), p.target.height(), path, p.elements.size(),
               sim.stepped_elements(), threads, cycles, s, 1e3 * s / static_cast<double>(cycles),
               static_cast<double>(p.elements.size()) * static_cast<double>(cycles) / s, t.synaptic_events, t.spikes);
    std::fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  int size = 300;
  std::int64_t cycles = 2000;
  std::string program;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--size")) size = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--cycles")) cycles = std::stoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--program")) program = argv[++i];
  }
  try {
    if (!program.empty()) return run_program(program, cycles);
    const auto p = synthetic(size);
    for (int threads : {1, 2}) {
      nmc::runtime::event_counts stepped_totals;
      for (const bool fold : {false, true}) {
        nmc::runtime::dn_simulator sim(p, threads, {.fold_relays = fold});
        const auto t0 = std::chrono::steady_clock::now();
        for (std::int64_t c = 0; c < cycles; ++c) {
          if (c % 2 == 0)
            for (std::uint32_t i = 0; i < p.inputs.size(); ++i) sim.inject(i);
          sim.step();
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto t = sim.totals();
        if (!fold) stepped_totals = t;
        if (fold && !(t == stepped_totals)) {
          fmt::print(stderr, "nmc_bench_grid: the delay-line run counted other events than stepping every element\n");
          return 1;
        }
        fmt::print("{{\"grid\": \"{}x{}\", \"elements\": {}, \"relays\": \"{}\", \"stepped\": {}, \"threads\": {}, "
                   "\"cycles\": {}, \"wall_s\": {:.3f}, \"element_cycles_per_s\": {:.0f}, \"synapse_activations\": {}, "
                   "\"fires\": {}}}\n",
                   size, size, p.elements.size(), fold ? "delay lines" : "stepped", sim.stepped_elements(), threads, cycles, s,
                   static_cast<double>(p.elements.size()) * static_cast<double>(cycles) / s, t.synaptic_events, t.spikes);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "nmc_bench_grid: {}\n", e.what());
    return 1;
  }
}
