// Reference (golden) forward pass: one frame of a one-chip-sized network, and
// 10,000 Fashion-MNIST test frames at 1 and 2 threads (issue: "well under a
// minute on 2 cores"); and run() against run_batch on the shipped
// models/fmnist_1chip.onnx at 1 thread, per batch kernel (items = frames).
#include <benchmark/benchmark.h>

#include <array>
#include <filesystem>
#include <random>

#include <nmc/convert/load.hpp>
#include <nmc/model/reference.hpp>
#include <nmc/model/stats.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/parallel.hpp>

#include "synthetic.hpp"

namespace {

const nmc::model::network& net() {
  static const auto n = nmc::bench::one_chip_network();
  return n;
}

void add_network_counters(benchmark::State& state) {
  auto copy = net();
  nmc::model::check(copy);
  const auto s = nmc::model::compute_stats(copy);
  state.counters["neurons"] = static_cast<double>(s.neurons);
  state.counters["synapses"] = static_cast<double>(s.synapses);
}

void BM_reference_one_frame(benchmark::State& state) {
  const nmc::model::reference_net ref(net());
  auto ws = ref.make_workspace();
  std::vector<std::uint8_t> px(784);
  std::mt19937 rng(1);
  for (auto& p : px) p = static_cast<std::uint8_t>(rng() & 0xff);
  for (auto _ : state) {
    ref.run(px, ws);
    benchmark::DoNotOptimize(ws.counts().data());
  }
  state.SetItemsProcessed(state.iterations());
  add_network_counters(state);
}
BENCHMARK(BM_reference_one_frame)->Unit(benchmark::kMillisecond);

void BM_reference_fmnist_10k(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  if (!std::filesystem::exists(nmc::runtime::fashion_mnist_dir())) {
    state.SkipWithError("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto data = nmc::runtime::load_dataset("fashion-mnist:test");
  const nmc::model::reference_net ref(net());
  std::vector<nmc::model::workspace> ws;
  for (int i = 0; i < threads; ++i) ws.push_back(ref.make_workspace());
  std::vector<int> predicted(data.frames);
  for (auto _ : state) {
    nmc::runtime::parallel_chunks(data.frames, threads, 16, [&](std::size_t lo, std::size_t hi, int w) {
      for (std::size_t i = lo; i < hi; ++i) {
        ref.run(data.frame(i), ws[static_cast<std::size_t>(w)]);
        predicted[i] = ws[static_cast<std::size_t>(w)].predicted();
      }
    });
    benchmark::DoNotOptimize(predicted.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(data.frames));
  state.counters["threads"] = threads;
}
BENCHMARK(BM_reference_fmnist_10k)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

const nmc::model::network& fmnist_1chip() {
  static const auto n =
      nmc::convert::load_model(std::filesystem::path(NMC_SOURCE_DIR) / "models/fmnist_1chip.onnx");
  return n;
}

// The first 1024 test frames (two full batches).
const nmc::runtime::dataset* fmnist_frames(benchmark::State& state) {
  if (!std::filesystem::exists(nmc::runtime::fashion_mnist_dir())) {
    state.SkipWithError("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    return nullptr;
  }
  static const auto d = [] {
    auto data = nmc::runtime::load_dataset("fashion-mnist:test");
    nmc::runtime::limit_frames(data, 1024);
    return data;
  }();
  return &d;
}

void BM_reference_1chip_run(benchmark::State& state) {
  const auto* data = fmnist_frames(state);
  if (!data) return;
  const nmc::model::reference_net ref(fmnist_1chip());
  auto ws = ref.make_workspace();
  std::size_t i = 0;
  for (auto _ : state) {
    ref.run(data->frame(i), ws);
    benchmark::DoNotOptimize(ws.counts().data());
    i = (i + 1) % data->frames;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_reference_1chip_run)->Unit(benchmark::kMillisecond);

// Arg: 0 portable, 1 AVX2, 2 AVX-512. One iteration is 1024 frames.
void BM_reference_1chip_run_batch(benchmark::State& state) {
  using nmc::model::batch_kernel;
  const batch_kernel kernel =
      std::array{batch_kernel::portable, batch_kernel::avx2, batch_kernel::avx512}[static_cast<
          std::size_t>(state.range(0))];
  const auto* data = fmnist_frames(state);
  if (!data) return;
  if (!nmc::model::supported(kernel)) {
    state.SkipWithError("this CPU lacks the kernel's instructions");
    return;
  }
  const nmc::model::reference_net ref(fmnist_1chip());
  auto ws = ref.make_batch_workspace(kernel);
  std::vector<std::int32_t> counts(data->frames * static_cast<std::size_t>(ref.classes()));
  for (auto _ : state) {
    ref.run_batch(data->pixels, data->frames, ws, counts);
    benchmark::DoNotOptimize(counts.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(data->frames));
}
BENCHMARK(BM_reference_1chip_run_batch)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
