#pragma once
// Runs the reference forward pass of a model over a dataset, frame-parallel.

#include <cstdint>
#include <functional>
#include <vector>

#include <nmc/model/network.hpp>
#include <nmc/runtime/dataset.hpp>

namespace nmc::cli {

struct evaluation {
  std::size_t frames = 0;
  std::size_t correct = 0;
  int classes = 0;
  std::vector<std::int32_t> counts;     // frames x classes spike counts
  std::vector<std::int32_t> predicted;  // frames
  std::vector<std::int64_t> confusion;  // classes x classes, [label][predicted]
  double wall_s = 0;
  int threads = 0;

  double accuracy() const { return frames ? static_cast<double>(correct) / frames : 0.0; }
};

// `on_progress(done)` is called between blocks of frames.
evaluation evaluate_reference(const model::network& net, const runtime::dataset& data,
                              int threads,
                              const std::function<void(std::size_t)>& on_progress = {});

}  // namespace nmc::cli
