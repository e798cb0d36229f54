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
//
// run_batch is a second, independent evaluation of the same pass for many
// frames at once (reference_batch.cpp): bit-sliced across frames, so one
// binary activation of a batch is batch_frames bits, bit f for frame f, and a
// neuron is a carry-save count of its +1 inputs and its negated -1 inputs
// over whole words of frames. It is the fast path (evaluate_reference); run()
// is the one to read, and the two are tested against each other.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <nmc/model/network.hpp>

namespace nmc::model {

class reference_net;

// The code that evaluates a batch: the best the CPU has (chosen at run time),
// or one forced, so that tests can hold every kind against the others.
enum class batch_kernel { best, portable, avx2, avx512 };
// Whether this build and CPU can run `kernel` (best and portable: always).
bool supported(batch_kernel kernel);

// The winning class of a row of class counts: highest count, lowest index on ties.
int predicted_class(std::span<const std::int32_t> counts);

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

// Per-thread scratch of run_batch, holding the activations of the last batch
// it ran (frames are numbered from 0 within that batch).
class batch_workspace {
public:
  // Frames in the last batch run in it (at most reference_net::batch_frames).
  std::size_t frames() const { return frames_; }
  // The kernel it runs (never batch_kernel::best).
  batch_kernel kernel() const { return kernel_; }
  // One binary activation of frame `frame` of the last batch; as workspace::bit.
  bool bit(layer_id id, std::size_t frame, int c, int y, int x) const;
  // All activations of a binary layer for one frame, in flattened (c, y, x) order.
  std::vector<std::uint8_t> activations(layer_id id, std::size_t frame) const;

private:
  friend class reference_net;
  const std::uint64_t* lanes() const;
  std::uint64_t* lanes();
  const reference_net* net_ = nullptr;
  batch_kernel kernel_ = batch_kernel::portable;
  // batch_frames / 64 words per activation (a "slot"), 64-byte aligned in
  // storage_ (the alignment is recomputed on use, so copies stay valid).
  std::vector<std::uint64_t> storage_;
  std::vector<std::uint64_t> level_;  // encoding scratch: a word per thermometer level
  std::vector<std::uint8_t> rows_;  // encoding scratch: 64 frames of each pixel
  std::size_t frames_ = 0;
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

  // Frames evaluated together by run_batch (bits per activation).
  static constexpr std::size_t batch_frames = 512;
  // A workspace for run_batch; throws internal_error if !supported(kernel).
  batch_workspace make_batch_workspace(batch_kernel kernel = batch_kernel::best) const;
  // Runs `n` frames stored back to back in `pixels` (n * pixels_per_frame()
  // bytes, each frame as for run()) and writes their class counts to
  // `counts_out` (n * classes(), frame-major). Any n: frames go in batches of
  // batch_frames, and `ws` keeps the activations of the last one. Gives the
  // same counts and activations as run() on every frame.
  void run_batch(std::span<const std::uint8_t> pixels, std::size_t n, batch_workspace& ws,
                 std::span<std::int32_t> counts_out) const;

  int classes() const { return classes_; }
  std::size_t pixels_per_frame() const { return pixels_; }

  struct stage;  // one step of the evaluation (defined in reference.cpp)
  struct batch_plan;  // run_batch's form of the network (reference_batch.cpp)

private:
  friend class workspace;
  friend class batch_workspace;
  std::unique_ptr<batch_plan> batch_;
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
