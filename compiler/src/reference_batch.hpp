#pragma once
// run_batch's form of a network (reference_batch.cpp): every binary activation
// is a "slot" of reference_net::batch_frames bits in the batch workspace, bit f
// for frame f, and each binary layer is a map from its flattened (c, y, x)
// index to a slot. Flatten and concat are only maps (they reorder or join
// other layers' slots and move no data); encode, conv2d/dense with their
// threshold, pool and output are the stages that compute.

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include <nmc/model/network.hpp>
#include <nmc/model/reference.hpp>

namespace nmc::model {

namespace batch {

// Slot 0 is all zeros in every batch: padding reads it.
inline constexpr std::uint32_t zero_slot = 0;

// A list of neuron inputs ("taps") over the current window, the slots of its
// inputs in patch order: tap t reads patch[t >> 1], negated if t & 1. Every
// neuron's taps are padded to a multiple of 8 with the window's last entry,
// which is always the zero slot.
struct neuron_taps {
  std::vector<std::uint32_t> begin;  // neuron n: taps [begin[n], begin[n + 1])
  std::vector<std::uint32_t> taps;
  // The neuron fires iff (#+1 inputs set) + (#-1 inputs clear) >= need[n],
  // i.e. iff its signed sum >= its threshold (need = threshold + #-1 inputs).
  std::vector<std::int32_t> need;
  std::vector<std::uint8_t> count_bits;  // bits of the neuron's counter
};

struct encode_stage {
  tensor_shape image;
  std::vector<int> thresholds;
  std::vector<std::uint32_t> slot;  // pixel p (image (c, y, x) order), level k: [p * levels + k]
};

// conv2d + threshold. A dense layer is the 1x1 conv of its input viewed as
// (size, 1, 1): its flattened order is the dense weights' order.
struct conv_stage {
  int in = 0, out = 0;  // layers
  tensor_shape in_shape, out_shape;
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, groups = 1, cin_g = 0, cout_g = 0;
  // Window index (ci * kh + ky) * kw + kx, PyTorch's weight order; index
  // kh * kw * cin_g is the zero slot.
  neuron_taps neurons;
};

struct pool_stage {
  int in = 0, out = 0;
  tensor_shape in_shape, out_shape;
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, threshold = 1;
  int window = 0;     // kh * kw rounded up to a multiple of 8
  neuron_taps count;  // one neuron over the window's slots (threshold > 1 only)
};

// Class counts: class k counts the set slots of slots[k] (padded with the zero slot).
struct output_stage {
  std::vector<std::vector<std::uint32_t>> slots;
  std::vector<std::uint32_t> taps;  // 0, 2, 4, ...: every entry of a class's list, not negated
  std::vector<std::uint8_t> count_bits;
};

}  // namespace batch

struct reference_net::batch_plan {
  std::size_t slots = 1;
  std::vector<std::vector<std::uint32_t>> slot_of;  // per layer; empty for integer layers
  batch::encode_stage encode;
  std::vector<std::variant<batch::conv_stage, batch::pool_stage>> stages;
  batch::output_stage output;
  std::size_t patch = 0;  // the longest window, with room for the zero slot
};

// `net` has passed check().
std::unique_ptr<reference_net::batch_plan> make_batch_plan(const network& net);

}  // namespace nmc::model
