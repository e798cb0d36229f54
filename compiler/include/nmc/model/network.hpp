#pragma once
// The model IR: an Eedn network as a DAG of layers with shapes.
//
// Tensors are (channels, height, width). A tensor is either binary (spikes:
// every value 0 or 1) or integer (the pre-activation sums of a convolution or
// dense layer). On the chip a convolution/dense layer and the threshold layer
// that consumes it are one set of neurons; in the IR they are two layers so that
// imported graphs (Conv -> BatchNorm -> step) map one node to one layer. The
// verifier (verify.hpp) enforces that every integer tensor is consumed by
// exactly one threshold layer.
//
// Flattening follows PyTorch/ONNX: index = (c * height + y) * width + x.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nmc/strong_id.hpp>

namespace nmc::model {

struct layer_tag {};
using layer_id = strong_id<layer_tag>;

struct tensor_shape {
  int channels = 0;
  int height = 0;
  int width = 0;

  std::int64_t size() const {
    return static_cast<std::int64_t>(channels) * height * width;
  }
  bool operator==(const tensor_shape&) const = default;
};

enum class value_kind { binary, integer };

// Input images are encoded into spikes by a thermometer code: image channel c,
// level k becomes output channel c * levels + k, with bit = (pixel >= thresholds[k]).
struct thermometer_encoding {
  std::vector<int> thresholds;  // strictly increasing, each in 1..255
};

struct input_op {
  tensor_shape image;  // pixel tensor (uint8 values), e.g. 1 x 28 x 28
  thermometer_encoding encoding;
};

// Trinary 2-D convolution, weights in PyTorch order [out][in / groups][kh][kw].
struct conv2d_op {
  int out_channels = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int groups = 1;
  std::vector<std::int8_t> weights;
};

// Trinary fully connected layer over the flattened input, weights [out][in].
struct dense_op {
  int out_features = 0;
  std::vector<std::int8_t> weights;
};

enum class pool_kind { max, average };

// Pooling over a binary map, per channel. Both kinds are threshold neurons: the
// output is 1 iff the number of ones in the window is >= `threshold` (max pool:
// threshold 1; average pool: defaults to half the window, rounded up). Padding
// counts as zeros.
struct pool_op {
  pool_kind kind = pool_kind::max;
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
  int pad_h = 0, pad_w = 0;
  int threshold = 1;
};

// Binary threshold activation with batch norm folded in (fold.hpp): output
// channel c is 1 iff sign[c] * x >= threshold[c]. sign = -1 comes from a
// negative batch-norm scale.
struct threshold_op {
  std::vector<std::int32_t> threshold;
  std::vector<std::int8_t> sign;
};

struct flatten_op {};

// Concatenation of binary tensors along channels (same height and width).
struct concat_op {};

// Class readout: every input neuron (flattened index) counts for one class, or
// for none (-1). Class score = spike count; ties go to the lowest class index.
struct output_op {
  int classes = 0;
  std::vector<std::int32_t> class_of;
};

using layer_op = std::variant<input_op, conv2d_op, dense_op, pool_op, threshold_op, flatten_op,
                              concat_op, output_op>;

enum class layer_kind { input, conv2d, dense, pool, threshold, flatten, concat, output };

struct layer {
  std::string name;
  std::vector<layer_id> inputs;
  layer_op op;
  // Filled by infer_shapes (verify.hpp); meaningless before.
  tensor_shape shape;
  value_kind value = value_kind::binary;

  layer_kind kind() const { return static_cast<layer_kind>(op.index()); }
  template <class Op> const Op& as() const { return std::get<Op>(op); }
  template <class Op> Op& as() { return std::get<Op>(op); }
  template <class Op> bool is() const { return std::holds_alternative<Op>(op); }
};

// Name of a layer kind as used in files and messages ("conv2d", "max_pool", ...).
std::string_view kind_name(const layer& l);

class network {
public:
  std::string name;
  std::string source;  // the file it was read from, for messages ("" if built in code)

  layer_id add(layer l);
  const layer& operator[](layer_id id) const { return layers_.at(id.index()); }
  layer& operator[](layer_id id) { return layers_.at(id.index()); }
  const std::vector<layer>& layers() const { return layers_; }
  std::size_t size() const { return layers_.size(); }
  std::optional<layer_id> find(std::string_view layer_name) const;

  // The unique input and output layers; throw model_error if absent (verify first).
  layer_id input() const;
  layer_id output() const;
  // Layers that read layer `id`, in definition order.
  std::vector<layer_id> consumers(layer_id id) const;
  // Layer ids in a topological order (inputs before consumers); throws on a cycle.
  std::vector<layer_id> topological_order() const;

private:
  std::vector<layer> layers_;
};

// Number of inputs each output neuron of a conv/dense layer sums over.
int fan_in(const network& net, const layer& l);

// A stable content hash of the network (structure, parameters, weights), used to
// tie compiled programs and reports to the model they came from.
std::uint64_t content_hash(const network& net);

}  // namespace nmc::model
