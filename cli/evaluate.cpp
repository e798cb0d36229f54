#include "evaluate.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/model/reference.hpp>
#include <nmc/runtime/parallel.hpp>

namespace nmc::cli {

evaluation evaluate_reference(const model::network& net, const runtime::dataset& data,
                              int threads, const std::function<void(std::size_t)>& on_progress) {
  const model::reference_net ref(net);
  if (ref.pixels_per_frame() != data.pixels_per_frame()) {
    const auto& img = net[net.input()].as<model::input_op>().image;
    throw data_error(
        fmt::format("{} frames are {}x{}x{}, but the input layer '{}' of {} expects {}x{}x{}",
                    data.where(), data.channels, data.height, data.width, net[net.input()].name,
                    net.source.empty() ? net.name : net.source, img.channels, img.height,
                    img.width),
        "use a model trained for this dataset");
  }
  evaluation ev;
  ev.frames = data.frames;
  ev.classes = ref.classes();
  ev.threads = threads == 0 ? runtime::hardware_threads() : threads;
  for (std::size_t i = 0; i < data.frames; ++i) {
    if (data.labels[i] >= ev.classes) {
      throw data_error(fmt::format("{}: frame {} has label {}, but the model has {} classes",
                                   data.where(), i, data.labels[i], ev.classes),
                       "use a model whose output layer covers every label of the dataset");
    }
  }
  const auto classes = static_cast<std::size_t>(ev.classes);
  ev.counts.assign(data.frames * classes, 0);
  ev.predicted.assign(data.frames, 0);

  std::vector<model::workspace> workspaces;
  for (int w = 0; w < ev.threads; ++w) workspaces.push_back(ref.make_workspace());
  // Timed from here: frames/s measures the forward pass, not the preparation.
  const auto start = std::chrono::steady_clock::now();
  // Blocks keep the progress display moving; inside a block frames run in parallel.
  constexpr std::size_t block = 1024;
  for (std::size_t b0 = 0; b0 < data.frames; b0 += block) {
    const std::size_t b1 = std::min(data.frames, b0 + block);
    runtime::parallel_chunks(b1 - b0, ev.threads, 16, [&](std::size_t lo, std::size_t hi, int w) {
      auto& ws = workspaces[static_cast<std::size_t>(w)];
      for (std::size_t i = b0 + lo; i < b0 + hi; ++i) {
        ref.run(data.frame(i), ws);
        std::copy(ws.counts().begin(), ws.counts().end(),
                  ev.counts.begin() + static_cast<std::ptrdiff_t>(i * classes));
        ev.predicted[i] = ws.predicted();
      }
    });
    if (on_progress) on_progress(b1);
  }
  ev.confusion.assign(classes * classes, 0);
  for (std::size_t i = 0; i < data.frames; ++i) {
    ev.correct += ev.predicted[i] == data.labels[i];
    ++ev.confusion[data.labels[i] * classes + static_cast<std::size_t>(ev.predicted[i])];
  }
  ev.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return ev;
}

}  // namespace nmc::cli
