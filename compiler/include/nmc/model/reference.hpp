#pragma once
// The golden model: the network's own integer forward pass. Every later target
// (compiled program + simulator) must reproduce it bit for bit.
//
// reference_net prepares a verified network once: every binary tensor is held
// as a bit array in pixel-major layout (bit (y * W + x) * C + c), and every
// conv/dense neuron becomes a pair of bit masks (+1 synapses, -1 synapses) over
// its input patch, with the threshold layer's sign folded in. A neuron's sum is
// then popcount(patch & plus) - popcount(patch & minus). reference_net is
// immutable and can be shared by threads; each thread owns a workspace.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <nmc/model/network.hpp>

namespace nmc::model {

class reference_net;

// Per-thread scratch and the results of the last frame run in it.
class workspace {
public:
  // Spike count per class.
  std::span<const std::int32_t> counts() const { return counts_; }
  // The winning class: highest count, lowest index on ties.
  int predicted() const;
  // One binary activation of a binary layer (not of conv2d/dense layers, whose
  // sums are consumed inside their threshold layer).
  bool bit(layer_id id, int c, int y, int x) const;
  // All activations of a binary layer in flattened (c, y, x) order, 0 or 1 each.
  std::vector<std::uint8_t> activations(layer_id id) const;

private:
  friend class reference_net;
  const reference_net* net_ = nullptr;
  std::vector<std::vector<std::uint64_t>> buffers_;
  std::vector<std::uint64_t> patch_;
  std::vector<std::int32_t> scratch_;
  std::vector<std::int32_t> counts_;
};

class reference_net {
public:
  // `net` must have passed check(); throws model_error otherwise.
  explicit reference_net(const network& net);
  ~reference_net();
  reference_net(const reference_net&) = delete;
  reference_net& operator=(const reference_net&) = delete;

  workspace make_workspace() const;
  // Runs one frame. `pixels` is the image in (c, y, x) order, 8-bit intensities.
  void run(std::span<const std::uint8_t> pixels, workspace& ws) const;

  int classes() const { return classes_; }
  std::size_t pixels_per_frame() const { return pixels_; }

  struct stage;  // one step of the evaluation (defined in reference.cpp)

private:
  friend class workspace;
  std::vector<std::unique_ptr<stage>> stages_;
  std::vector<tensor_shape> shapes_;  // per layer
  std::vector<int> buffer_of_;  // layer index -> buffer index, -1 if none
  std::vector<std::size_t> buffer_words_;
  std::size_t patch_words_ = 0;
  std::size_t scratch_size_ = 0;
  int classes_ = 0;
  std::size_t pixels_ = 0;
};

}  // namespace nmc::model
