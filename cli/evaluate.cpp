#include "evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <span>

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

  // Frames go through run_batch in batches of batch_frames, batches in
  // parallel. A batch writes only its own frames' rows, and its counts do not
  // depend on which frames share it, so the result is the same for any
  // thread count. No more workers than batches: a workspace holds a slot per
  // activation of a whole batch (megabytes for a one-chip model).
  const std::size_t batch = model::reference_net::batch_frames;
  const std::size_t batches = (data.frames + batch - 1) / batch;
  const int workers =
      static_cast<int>(std::clamp<std::size_t>(batches, 1, static_cast<std::size_t>(ev.threads)));
  std::vector<model::batch_workspace> workspaces;
  for (int w = 0; w < workers; ++w) workspaces.push_back(ref.make_batch_workspace());
  const std::span<const std::uint8_t> pixels(data.pixels);
  const std::span<std::int32_t> counts(ev.counts);
  const std::size_t ppf = data.pixels_per_frame();
  // Timed from here: frames/s measures the forward pass, not the preparation.
  const auto start = std::chrono::steady_clock::now();
  // Blocks keep the progress display moving; inside a block batches run in parallel.
  const std::size_t block = 2 * static_cast<std::size_t>(workers);
  for (std::size_t b0 = 0; b0 < batches; b0 += block) {
    const std::size_t b1 = std::min(batches, b0 + block);
    runtime::parallel_chunks(b1 - b0, workers, 1, [&](std::size_t lo, std::size_t hi, int w) {
      auto& ws = workspaces[static_cast<std::size_t>(w)];
      for (std::size_t b = b0 + lo; b < b0 + hi; ++b) {
        const std::size_t f0 = b * batch, n = std::min(batch, data.frames - f0);
        ref.run_batch(pixels.subspan(f0 * ppf, n * ppf), n, ws,
                      counts.subspan(f0 * classes, n * classes));
        for (std::size_t i = f0; i < f0 + n; ++i)
          ev.predicted[i] = model::predicted_class(counts.subspan(i * classes, classes));
      }
    });
    if (on_progress) on_progress(std::min(data.frames, b1 * batch));
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
