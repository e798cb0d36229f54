#include <nmc/model/verify.hpp>

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::model {

namespace {

class verifier {
public:
  explicit verifier(network& net) : net_(net), ok_(net.size(), false) {}

  std::vector<diagnostic> run() {
    if (!check_graph()) return std::move(diags_);
    std::vector<layer_id> order;
    try {
      order = net_.topological_order();
    } catch (const model_error&) {
      report("graph.cycle", nullptr, "the layer graph has a cycle",
             "an Eedn network is feed-forward: check the layers' inputs");
      return std::move(diags_);
    }
    for (layer_id id : order) {
      layer& l = net_[id];
      if (!std::all_of(l.inputs.begin(), l.inputs.end(), [&](layer_id in) { return ok_[in.index()]; })) {
        continue;  // an input is broken: already reported
      }
      ok_[id.index()] = check_layer(l);
    }
    check_consumers();
    return std::move(diags_);
  }

private:
  network& net_;
  std::vector<bool> ok_;
  std::vector<diagnostic> diags_;

  template <class... Args>
  void report(std::string code, const layer* l, fmt::format_string<Args...> f, std::string hint,
              Args&&... args) {
    std::string prefix = net_.source.empty() ? "" : net_.source + ": ";
    if (l) prefix += fmt::format("layer '{}' ({}): ", l->name, kind_name(*l));
    diags_.push_back({std::move(code), l ? l->name : "",
                      prefix + fmt::format(f, std::forward<Args>(args)...), std::move(hint)});
  }

  // Names, references, number of input/output layers, arity. Returns false if
  // references are broken (no topological order can be computed).
  bool check_graph() {
    bool refs_ok = true;
    std::set<std::string> names;
    int inputs = 0, outputs = 0;
    for (const auto& l : net_.layers()) {
      if (l.name.empty()) {
        report("name.empty", &l, "layer has an empty name", "give every layer a unique name");
      } else if (!names.insert(l.name).second) {
        report("name.duplicate", &l, "the name is used by more than one layer",
               "give every layer a unique name");
      }
      for (layer_id in : l.inputs) {
        if (in.index() >= net_.size()) {
          report("graph.bad-ref", &l, "reads layer #{}, but the network has only {} layers",
                 "check the layer's input", in.value, net_.size());
          refs_ok = false;
        }
      }
      inputs += l.is<input_op>();
      outputs += l.is<output_op>();
      const std::size_t n = l.inputs.size();
      const bool arity_ok = l.is<input_op>()    ? n == 0
                            : l.is<concat_op>() ? n >= 2
                                                : n == 1;
      if (!arity_ok) {
        report("graph.arity", &l, "has {} inputs, expected {}",
               "fix the layer's input list", n,
               l.is<input_op>() ? "none" : l.is<concat_op>() ? "at least 2" : "exactly 1");
        refs_ok = false;
      }
    }
    if (inputs != 1) {
      report("graph.input-count", nullptr, "the network has {} input layers, expected exactly 1",
             "declare one layer of type 'input'", inputs);
    }
    if (outputs != 1) {
      report("graph.output-count", nullptr, "the network has {} output layers, expected exactly 1",
             "declare one layer of type 'output' that maps neurons to classes", outputs);
    }
    return refs_ok;
  }

  const layer& in0(const layer& l) const { return net_[l.inputs.at(0)]; }

  bool expect_binary(const layer& l, const layer& in) {
    if (in.value == value_kind::binary) return true;
    report("value.kind", &l, "reads '{}', which holds integer sums, not spikes",
           "put a threshold layer between a conv2d/dense layer and its consumers", in.name);
    return false;
  }

  bool check_weights(const layer& l, const std::vector<std::int8_t>& w, std::size_t expected,
                     const char* layout) {
    if (w.size() != expected) {
      report("weights.size", &l, "has {} weights, expected {} ({})",
             "the weight list must have one entry per connection", w.size(), expected, layout);
      return false;
    }
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (w[i] < -1 || w[i] > 1) {
        report("weights.value", &l, "weight #{} is {}; weights must be -1, 0 or +1",
               "quantise the weights to trinary values (--quantize when importing)", i, w[i]);
        return false;
      }
    }
    return true;
  }

  // More neurons than 1,024 chips hold: beyond anything nmc can map, and
  // sizes past this would overflow the int shapes and counts downstream.
  static constexpr std::int64_t max_layer_neurons = std::int64_t{1} << 30;

  bool check_layer(layer& l) {
    if (!check_layer_kind(l)) return false;
    if (l.shape.size() > max_layer_neurons) {
      report("shape.too_large", &l, "has {} x {} x {} = {} neurons, more than nmc can map ({})",
             "use fewer channels or a smaller input (1,024 chips hold 2^30 neurons)", l.shape.channels, l.shape.height,
             l.shape.width, l.shape.size(), max_layer_neurons);
      return false;
    }
    return true;
  }

  bool check_layer_kind(layer& l) {
    if (auto* o = std::get_if<input_op>(&l.op)) return check_input(l, *o);
    if (auto* o = std::get_if<conv2d_op>(&l.op)) return check_conv(l, *o);
    if (auto* o = std::get_if<dense_op>(&l.op)) return check_dense(l, *o);
    if (auto* o = std::get_if<pool_op>(&l.op)) return check_pool(l, *o);
    if (auto* o = std::get_if<threshold_op>(&l.op)) return check_threshold(l, *o);
    if (l.is<flatten_op>()) {
      const layer& in = in0(l);
      if (!expect_binary(l, in)) return false;
      if (in.shape.size() > max_layer_neurons) return false;  // reported on `in`
      l.shape = {static_cast<int>(in.shape.size()), 1, 1};
      l.value = value_kind::binary;
      return true;
    }
    if (l.is<concat_op>()) return check_concat(l);
    if (auto* o = std::get_if<output_op>(&l.op)) return check_output(l, *o);
    throw internal_error("verify: unhandled layer kind");
  }

  bool check_input(layer& l, const input_op& o) {
    bool ok = true;
    if (o.image.channels <= 0 || o.image.height <= 0 || o.image.width <= 0) {
      report("shape.nonpositive", &l, "image shape {}x{}x{} has a non-positive dimension",
             "give the image shape as [channels, height, width]", o.image.channels,
             o.image.height, o.image.width);
      ok = false;
    }
    const auto& t = o.encoding.thresholds;
    if (t.empty()) {
      report("encoding.levels", &l, "the thermometer encoding has no levels",
             "give at least one threshold, e.g. levels: [128]");
      ok = false;
    }
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (t[k] < 1 || t[k] > 255) {
        report("encoding.levels", &l, "thermometer threshold #{} is {}, outside 1..255",
               "thresholds compare against 8-bit pixels: use values in 1..255", k, t[k]);
        ok = false;
      } else if (k > 0 && t[k] <= t[k - 1]) {
        report("encoding.levels", &l,
               "thermometer thresholds must increase strictly, but #{} is {} after {}",
               "sort the thresholds and remove duplicates", k, t[k], t[k - 1]);
        ok = false;
      }
    }
    l.shape = {o.image.channels * static_cast<int>(t.size()), o.image.height, o.image.width};
    l.value = value_kind::binary;
    return ok;
  }

  // Output size of a sliding window; reports and returns false if it is empty.
  bool window(const layer& l, const tensor_shape& in, int kh, int kw, int sh, int sw, int ph,
              int pw, int& oh, int& ow) {
    if (kh <= 0 || kw <= 0) {
      report("shape.kernel", &l, "kernel {}x{} must be positive", "use a kernel of at least 1x1",
             kh, kw);
      return false;
    }
    if (sh <= 0 || sw <= 0) {
      report("shape.stride", &l, "stride {}x{} must be positive", "use a stride of at least 1",
             sh, sw);
      return false;
    }
    if (ph < 0 || pw < 0 || ph >= kh || pw >= kw) {
      report("shape.padding", &l, "padding {}x{} must be in 0..kernel-1 (kernel {}x{})",
             "use less padding than the kernel size", ph, pw, kh, kw);
      return false;
    }
    oh = (in.height + 2 * ph - kh) / sh + 1;
    ow = (in.width + 2 * pw - kw) / sw + 1;
    if (in.height + 2 * ph < kh || in.width + 2 * pw < kw) {
      report("shape.kernel", &l, "kernel {}x{} is larger than the padded input {}x{}",
             "use a smaller kernel or more padding", kh, kw, in.height + 2 * ph,
             in.width + 2 * pw);
      return false;
    }
    return true;
  }

  bool check_conv(layer& l, const conv2d_op& o) {
    const layer& in = in0(l);
    if (!expect_binary(l, in)) return false;
    if (o.out_channels <= 0) {
      report("shape.nonpositive", &l, "out_channels is {}", "use at least one output channel",
             o.out_channels);
      return false;
    }
    if (o.groups <= 0 || in.shape.channels % o.groups != 0 || o.out_channels % o.groups != 0) {
      report("shape.groups", &l,
             "groups = {} must divide both the input channels ({}) and the output channels ({})",
             "choose a group count that divides both channel counts", o.groups, in.shape.channels,
             o.out_channels);
      return false;
    }
    int oh = 0, ow = 0;
    if (!window(l, in.shape, o.kernel_h, o.kernel_w, o.stride_h, o.stride_w, o.pad_h, o.pad_w, oh,
                ow))
      return false;
    const std::size_t expected = static_cast<std::size_t>(o.out_channels) *
                                 (in.shape.channels / o.groups) * o.kernel_h * o.kernel_w;
    if (!check_weights(l, o.weights, expected, "out x in/groups x kh x kw")) return false;
    l.shape = {o.out_channels, oh, ow};
    l.value = value_kind::integer;
    return true;
  }

  bool check_dense(layer& l, const dense_op& o) {
    const layer& in = in0(l);
    if (!expect_binary(l, in)) return false;
    if (o.out_features <= 0) {
      report("shape.nonpositive", &l, "out_features is {}", "use at least one output feature",
             o.out_features);
      return false;
    }
    const std::size_t expected = static_cast<std::size_t>(o.out_features) * in.shape.size();
    if (!check_weights(l, o.weights, expected, "out x flattened input")) return false;
    l.shape = {o.out_features, 1, 1};
    l.value = value_kind::integer;
    return true;
  }

  bool check_pool(layer& l, const pool_op& o) {
    const layer& in = in0(l);
    if (!expect_binary(l, in)) return false;
    int oh = 0, ow = 0;
    if (!window(l, in.shape, o.kernel_h, o.kernel_w, o.stride_h, o.stride_w, o.pad_h, o.pad_w, oh,
                ow))
      return false;
    const int area = o.kernel_h * o.kernel_w;
    if (o.threshold < 1 || o.threshold > area) {
      report("pool.threshold", &l, "threshold {} is outside 1..{} (the window area)",
             "max pooling uses 1; average pooling of a binary map usually ceil(area/2)",
             o.threshold, area);
      return false;
    }
    l.shape = {in.shape.channels, oh, ow};
    l.value = value_kind::binary;
    return true;
  }

  bool check_threshold(layer& l, const threshold_op& o) {
    const layer& in = in0(l);
    if (in.value != value_kind::integer) {
      report("value.kind", &l, "reads '{}', which holds spikes, not integer sums",
             "a threshold layer must follow a conv2d or dense layer", in.name);
      return false;
    }
    const auto channels = static_cast<std::size_t>(in.shape.channels);
    if (o.threshold.size() != channels || o.sign.size() != channels) {
      report("threshold.size", &l, "has {} thresholds and {} signs for {} channels of '{}'",
             "give one threshold and one sign per channel", o.threshold.size(), o.sign.size(),
             channels, in.name);
      return false;
    }
    const int n = fan_in(net_, in);
    for (std::size_t c = 0; c < channels; ++c) {
      if (o.sign[c] != 1 && o.sign[c] != -1) {
        report("threshold.sign", &l, "channel {} has sign {}; signs must be +1 or -1",
               "use -1 only for a negative batch-norm scale", c, o.sign[c]);
        return false;
      }
      if (o.threshold[c] < -n || o.threshold[c] > n + 1) {
        report("threshold.range", &l,
               "channel {} has threshold {}, outside -{}..{} (fan-in {}): the neuron is "
               "constant",
               "clamp the threshold into the range (fold_batch_norm does this)", c,
               o.threshold[c], n, n + 1, n);
        return false;
      }
    }
    l.shape = in.shape;
    l.value = value_kind::binary;
    return true;
  }

  bool check_concat(layer& l) {
    tensor_shape s = net_[l.inputs[0]].shape;
    s.channels = 0;
    for (layer_id id : l.inputs) {
      const layer& in = net_[id];
      if (!expect_binary(l, in)) return false;
      if (in.shape.height != s.height || in.shape.width != s.width) {
        report("shape.concat", &l, "input '{}' is {}x{} but the first input is {}x{}",
               "concatenated inputs must have the same height and width", in.name,
               in.shape.height, in.shape.width, s.height, s.width);
        return false;
      }
      s.channels += in.shape.channels;
    }
    l.shape = s;
    l.value = value_kind::binary;
    return true;
  }

  bool check_output(layer& l, const output_op& o) {
    const layer& in = in0(l);
    if (!expect_binary(l, in)) return false;
    if (o.classes < 1) {
      report("output.classes", &l, "classes is {}", "use at least one class", o.classes);
      return false;
    }
    if (static_cast<std::int64_t>(o.class_of.size()) != in.shape.size()) {
      report("output.class-of", &l, "maps {} neurons, but '{}' has {}",
             "give one class (or -1) per neuron of the input", o.class_of.size(), in.name,
             in.shape.size());
      return false;
    }
    std::vector<int> per_class(static_cast<std::size_t>(o.classes), 0);
    for (std::size_t i = 0; i < o.class_of.size(); ++i) {
      const int c = o.class_of[i];
      if (c < -1 || c >= o.classes) {
        report("output.class-of", &l, "neuron {} maps to class {}, outside -1..{}",
               "use -1 for neurons that do not vote", i, c, o.classes - 1);
        return false;
      }
      if (c >= 0) ++per_class[static_cast<std::size_t>(c)];
    }
    for (std::size_t c = 0; c < per_class.size(); ++c) {
      if (per_class[c] == 0) {
        report("output.empty-class", &l, "class {} has no neurons and can never win",
               "assign at least one neuron to every class", c);
        return false;
      }
    }
    l.shape = {o.classes, 1, 1};
    l.value = value_kind::binary;
    return true;
  }

  // Integer tensors feed exactly one threshold layer; nothing reads the output
  // layer; every layer contributes to the output.
  void check_consumers() {
    std::vector<std::vector<layer_id>> readers(net_.size());
    for (std::size_t i = 0; i < net_.size(); ++i) {
      for (layer_id in : net_.layers()[i].inputs) readers[in.index()].emplace_back(static_cast<layer_id::rep>(i));
    }
    std::vector<bool> live(net_.size(), false);
    std::vector<std::size_t> stack;
    for (std::size_t i = 0; i < net_.size(); ++i) {
      if (net_.layers()[i].is<output_op>()) stack.push_back(i), live[i] = true;
    }
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      for (layer_id in : net_.layers()[i].inputs) {
        if (!live[in.index()]) live[in.index()] = true, stack.push_back(in.index());
      }
    }
    for (std::size_t i = 0; i < net_.size(); ++i) {
      const layer& l = net_.layers()[i];
      if (l.is<output_op>() && !readers[i].empty()) {
        report("graph.output-consumed", &l, "is read by '{}'; the output layer must be last",
               "remove the layers after the output layer", net_[readers[i][0]].name);
      }
      if (!live[i] && !l.is<output_op>()) {
        report("graph.unused", &l, "does not feed the output layer",
               "remove the layer or connect it; dead layers would waste cores");
      }
      if (ok_[i] && l.value == value_kind::integer) {
        const auto& r = readers[i];
        if (r.size() != 1 || !net_[r[0]].is<threshold_op>()) {
          report("value.consumers", &l,
                 "its integer sums must be read by exactly one threshold layer, but {} layers "
                 "read them",
                 "follow every conv2d/dense layer with one threshold layer", r.size());
        }
      }
    }
  }
};

}  // namespace

std::vector<diagnostic> verify(network& net) { return verifier(net).run(); }

void check(network& net) {
  const auto diags = verify(net);
  if (diags.empty()) return;
  std::string msg = diags.front().message;
  for (std::size_t i = 1; i < diags.size(); ++i) msg += "\n" + diags[i].message;
  throw model_error(msg, diags.front().hint);
}

}  // namespace nmc::model
