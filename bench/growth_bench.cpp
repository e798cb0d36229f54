// How cost grows with chips: the synthetic one-chip Eedn network made k times
// as wide (bench/synthetic.hpp, chips_network), compiled for the fewest chips
// it fits (--chips 0), then simulated on
// Fashion-MNIST test frames at each thread count. Prints one JSON line per
// thread count: compile seconds and peak memory, cores and chips, chip
// crossings, simulator memory per chip, ticks/s, chip-ticks/s and frames/s.
// bench/run.sh turns the lines into the growth table of bench/RESULTS.md.
//
//   nmc_bench_growth --scale K [--frames F] [--threads 1,2] [--seed S]

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <malloc.h>

#include <fmt/format.h>

#include <nmc/compiler/pipeline.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "measure.hpp"
#include "synthetic.hpp"

using nmc::bench::peak_rss_mib;
using nmc::bench::rss_mib;
using nmc::bench::seconds_since;

int main(int argc, char** argv) {
  try {
    int scale = 1;
    std::size_t frames = 200;
    std::vector<int> threads = {1, 2};
    std::uint32_t seed = 1;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (i + 1 >= argc) throw nmc::usage_error(fmt::format("{} needs a value", a));
      const std::string v = argv[++i];
      if (a == "--scale") scale = std::stoi(v);
      else if (a == "--frames") frames = std::stoul(v);
      else if (a == "--threads") {
        threads.clear();
        for (double t : nmc::bench::parse_list(v, "--threads")) threads.push_back(static_cast<int>(t));
      }
      else if (a == "--seed") seed = static_cast<std::uint32_t>(std::stoul(v));
      else throw nmc::usage_error(fmt::format("unknown option {}", a));
    }
    if (scale < 1 || frames < 1 || threads.empty()) throw nmc::usage_error("--scale and --frames must be at least 1");

    const std::string text = nmc::read_file(nmc::hw::default_truenorth_path());
    const auto target = nmc::hw::parse_truenorth(text, "truenorth.yaml");
    const auto net = nmc::bench::chips_network(scale, seed);
    const std::string model_text = nmc::convert::to_yaml(net);

    // The fewest chips that hold the cores (--chips 0).
    const double rss0 = rss_mib();
    const auto t0 = std::chrono::steady_clock::now();
    nmc::compiler::pipeline_options po;
    po.opts.chips = 0;
    auto state = nmc::compiler::compile_truenorth(net, target, text, model_text, po);
    const double compile_s = seconds_since(t0);
    const double compile_peak = peak_rss_mib() - rss0;
    std::int64_t lower = 0;
    for (const auto& u : state.units) lower += u.lower_bound;
    // Only the program is kept (the compile state of a 64-chip model is GBs).
    const nmc::hw::tn_program p = std::move(state.program);
    const auto routes = state.routes;
    const auto chips_x = state.chips_x, chips_y = state.chips_y;
    std::string passes;
    for (const auto& pt : state.times) passes += fmt::format("{}\"{}\": {:.2f}", passes.empty() ? "" : ", ", pt.pass, pt.seconds);
    state = {};
    malloc_trim(0);  // give the compiler's memory back before the simulator asks how much is free

    auto data = nmc::runtime::load_dataset("fashion-mnist:test");
    nmc::runtime::limit_frames(data, frames);
    // The simulator's memory: what constructing one adds to the resident set
    // (measured once, first: later ones reuse the pages freed by this one).
    double before = rss_mib(), after = before;
    {
      const nmc::runtime::tn_simulator sim(p, nmc::runtime::sim_options{});
      after = rss_mib();
    }
    for (int t : threads) {
      nmc::runtime::sim_options o;
      o.threads = t;
      const auto r = nmc::runtime::run_frames(p, data, o);
      fmt::print("{{\"bench\": \"growth\", \"scale\": {}, \"chips\": {}, \"board\": \"{}x{}\", \"cores\": {}, "
                 "\"cores_lower_bound\": {}, \"compile_s\": {:.2f}, \"compile_s_per_kcore\": {:.3f}, "
                 "\"compile_peak_mib\": {:.0f}, \"mean_hops\": {:.2f}, \"max_hops\": {}, "
                 "\"crossing_connections\": {}, \"connections\": {}, \"threads\": {}, \"frames\": {}, \"ticks\": {}, "
                 "\"wall_s\": {:.3f}, \"ticks_per_s\": {:.2f}, \"chip_ticks_per_s\": {:.2f}, \"frames_per_s\": {:.2f}, "
                 "\"sim_mib\": {:.0f}, \"sim_mib_per_chip\": {:.1f}, \"spikes\": {}, \"chip_crossings\": {}, \"pass_s\": {{{}}}}}\n",
                 scale, p.chips, chips_x, chips_y, p.cores.size(), lower, compile_s,
                 compile_s * 1000.0 / static_cast<double>(p.cores.size()), compile_peak, routes.mean_hops,
                 routes.max_hops, routes.crossing_connections, routes.connections, t, r.frames,
                 r.ticks, r.wall_s, static_cast<double>(r.ticks) / r.wall_s,
                 static_cast<double>(r.ticks) * p.chips / r.wall_s, static_cast<double>(r.frames) / r.wall_s,
                 after - before, (after - before) / p.chips, r.totals.spikes, r.totals.chip_crossings, passes);
      std::fflush(stdout);
    }
    return 0;
  } catch (const nmc::error& e) {
    std::fprintf(stderr, "nmc_bench_growth: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nmc_bench_growth: %s\n", e.what());
    return 1;
  }
}
