// Whole-pipeline benchmark: compile time and simulated frames/s at 1 and 2
// threads, for the shipped models and a one-chip-sized synthetic network with
// random weights (an activity stress case), on Fashion-MNIST test frames. Prints JSON lines; bench/run.sh turns
// them into bench/RESULTS.md.
//
//   nmc_bench_pipeline [--frames N] [--source-dir DIR]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include <nmc/compiler/pipeline.hpp>
#include <nmc/convert/load.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "measure.hpp"
#include "synthetic.hpp"

namespace {

using nmc::bench::seconds_since;

void bench_model(const std::string& name, const nmc::model::network& net, const nmc::runtime::dataset& data) {
  const std::string text = nmc::read_file(nmc::hw::default_truenorth_path());
  const auto target = nmc::hw::parse_truenorth(text, "truenorth.yaml");
  const auto t0 = std::chrono::steady_clock::now();
  const auto state = nmc::compiler::compile_truenorth(net, target, text, nmc::convert::to_yaml(net), {});
  const double compile_s = seconds_since(t0);
  std::int64_t lb = 0;
  for (const auto& u : state.units) lb += u.lower_bound;
  for (int threads : {1, 2}) {
    nmc::runtime::sim_options o;
    o.threads = threads;
    const auto r = nmc::runtime::run_frames(state.program, data, o);
    const auto e = nmc::runtime::energy(state.program, r.per_layer, r.ticks, r.frames);
    fmt::print(
        "{{\"model\": \"{}\", \"cores\": {}, \"cores_lower_bound\": {}, \"compile_s\": {:.3f}, \"mean_hops\": {:.2f}, "
        "\"naive_mean_hops\": {:.2f}, \"threads\": {}, \"frames\": {}, \"sim_frames_per_s\": {:.1f}, "
        "\"synaptic_events_per_frame\": {:.0f}, \"energy_per_frame_uj\": {:.3f}}}\n",
        name, state.program.cores.size(), lb, compile_s, state.routes.mean_hops, state.routes.naive_mean_hops, threads,
        r.frames, r.frames / r.wall_s, static_cast<double>(r.totals.synaptic_events) / static_cast<double>(r.frames),
        e.per_frame_uj);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t frames = 2000;
  std::string source = NMC_SOURCE_DIR;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--frames")) frames = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--source-dir")) source = argv[++i];
  }
  try {
    auto data = nmc::runtime::load_dataset("fashion-mnist:test");
    nmc::runtime::limit_frames(data, frames);
    // The synthetic network (random weights, about half its neurons firing) is
    // slow: fewer frames keep the run short. The shipped models run them all.
    auto fewer = [&](std::size_t n) {
      auto d = data;
      nmc::runtime::limit_frames(d, std::min(frames, n));
      return d;
    };
    bench_model("models/fmnist_small.onnx", nmc::convert::load_model(source + "/models/fmnist_small.onnx"), data);
    bench_model("models/fmnist_1chip.onnx", nmc::convert::load_model(source + "/models/fmnist_1chip.onnx"), data);
    bench_model("synthetic one-chip network, random weights (bench/synthetic.hpp)", nmc::bench::one_chip_network(),
                fewer(500));
  } catch (const std::exception& e) {
    fmt::print(stderr, "nmc_bench_pipeline: {}\n", e.what());
    return 1;
  }
}
