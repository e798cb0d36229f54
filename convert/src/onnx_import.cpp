// Reads ONNX graphs into the model IR.
//
// Values flowing through the graph are tracked by what they are on the chip:
// a binary map (spikes of some layer), a linear map (a conv/dense layer's
// integer sums under a per-channel affine transform a * x + b accumulated from
// biases, BatchNormalization and constant Add/Sub/Mul/Div), an average over a
// pooling window of spikes, or class populations. A comparison with a constant
// turns a linear map into a threshold layer (folded exactly into integers) and
// an average into an average-pool layer.

#include <nmc/convert/onnx_import.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/model/fold.hpp>
#include <nmc/model/verify.hpp>

namespace nmc::convert {

using namespace nmc::model;

namespace {

constexpr const char* supported_ops =
    "Conv, Gemm, MatMul, BatchNormalization, Add, Sub, Mul, Div (by constants), GreaterOrEqual, Greater, "
    "LessOrEqual, Less (with constants), Cast, MaxPool, AveragePool, Flatten, Reshape, ReduceSum, Concat, "
    "Identity, Dropout, Constant";

struct tensor {
  std::vector<std::int64_t> dims;
  std::vector<double> values;
  std::size_t size() const { return values.size(); }
};

struct value {
  enum kind_t { binary, linear, average, populations, output } kind = binary;
  layer_id layer;                 // binary/average/populations: the spikes; linear: the conv/dense layer
  int rank = 4;                   // 4: N x C x H x W, 2: N x C
  std::vector<double> a, b;       // linear: per-channel affine transform of the integer sums
  pool_op pool;                   // average: the window
  int classes = 0;                // populations
};

class importer {
public:
  importer(std::string source, const import_options& opts) : source_(std::move(source)), opts_(opts) {}

  network run(const std::string& bytes) {
    onnx::ModelProto m;
    if (bytes.empty() || !m.ParseFromString(bytes)) {
      throw model_error(fmt::format("{}: not an ONNX model (the protobuf does not parse; the file may be "
                                    "truncated or of another format)",
                                    source_),
                        "export the model with torch.onnx.export or convert/python/export_onnx.py");
    }
    if (!m.has_graph() || m.graph().node_size() == 0) {
      throw model_error(fmt::format("{}: the ONNX model has no graph nodes", source_),
                        "export the model again; the file may be truncated");
    }
    // Operator semantics change between opsets: refuse one newer than the
    // newest this importer was written against, rather than guess.
    constexpr std::int64_t known_min = 7, known_max = 21;
    for (const auto& o : m.opset_import()) {
      if ((o.domain().empty() || o.domain() == "ai.onnx") && (o.version() < known_min || o.version() > known_max)) {
        throw model_error(fmt::format("{}: ONNX opset {} is outside the opsets nmc knows ({} to {})", source_, o.version(),
                                      known_min, known_max),
                          fmt::format("export with torch.onnx.export(..., opset_version={}) or lower (17 is well tested)",
                                      known_max));
      }
    }
    for (const auto& p : m.metadata_props()) meta_[p.key()] = p.value();
    const auto& g = m.graph();
    for (const auto& t : g.initializer()) consts_[t.name()] = to_tensor(t, "initializer");
    net_.source = source_;
    net_.name = g.name();
    add_input(g);
    for (int i = 0; i < g.node_size(); ++i) node(g.node(i), i);
    add_output(g);
    check(net_);
    return std::move(net_);
  }

private:
  std::string source_;
  import_options opts_;
  network net_;
  std::map<std::string, std::string> meta_;
  std::map<std::string, tensor> consts_;
  std::map<std::string, value> values_;
  std::set<std::string> names_;

  [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& what, const std::string& hint = "") const {
    throw model_error(fmt::format("{}: node '{}' ({}): {}", source_, n.name(), n.op_type(), what), hint);
  }

  // The integers of a constant that holds them (shapes, axes): each value
  // must be a whole number that fits, or the node is refused (a cast of NaN
  // or of 1e300 to an integer is undefined).
  std::vector<std::int64_t> integers(const onnx::NodeProto& n, const tensor& t, const char* what) const {
    std::vector<std::int64_t> out;
    out.reserve(t.values.size());
    for (double d : t.values) {
      if (!(std::abs(d) < 9.0e15) || d != std::floor(d)) {
        fail(n, fmt::format("its {} holds {}, not an integer", what, d),
             "export the model again: the exporter writes shapes and axes as int64 constants");
      }
      out.push_back(static_cast<std::int64_t>(d));
    }
    return out;
  }

  tensor to_tensor(const onnx::TensorProto& t, const char* what) const {
    tensor r;
    r.dims.assign(t.dims().begin(), t.dims().end());
    // Sizes come from the file: bound them before multiplying or allocating.
    constexpr std::size_t max_elements = std::size_t{1} << 31;
    std::size_t n = 1;
    for (auto d : r.dims) {
      if (d < 0 || static_cast<std::size_t>(d) > max_elements || (d > 0 && n > max_elements / static_cast<std::size_t>(d))) {
        throw model_error(fmt::format("{}: {} '{}' has dimensions [{}], beyond {} elements", source_, what, t.name(),
                                      fmt::join(r.dims, ", "), max_elements),
                          "the file may be corrupt");
      }
      n *= static_cast<std::size_t>(d);
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      throw model_error(fmt::format("{}: {} '{}' keeps its data in an external file", source_, what, t.name()),
                        "save the model with all tensors inside the .onnx file");
    }
    const std::string& raw = t.raw_data();
    auto from_raw = [&](auto sample) {
      using T = decltype(sample);
      if (raw.size() != n * sizeof(T)) {
        throw model_error(fmt::format("{}: {} '{}' has {} bytes of data for {} values (truncated file?)", source_,
                                      what, t.name(), raw.size(), n));
      }
      for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
        r.values.push_back(static_cast<double>(v));
      }
    };
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        if (!raw.empty()) from_raw(float{});
        else r.values.assign(t.float_data().begin(), t.float_data().end());
        break;
      case onnx::TensorProto::DOUBLE:
        if (!raw.empty()) from_raw(double{});
        else r.values.assign(t.double_data().begin(), t.double_data().end());
        break;
      case onnx::TensorProto::INT64:
        if (!raw.empty()) from_raw(std::int64_t{});
        else for (auto v : t.int64_data()) r.values.push_back(static_cast<double>(v));
        break;
      case onnx::TensorProto::INT32:
        if (!raw.empty()) from_raw(std::int32_t{});
        else for (auto v : t.int32_data()) r.values.push_back(static_cast<double>(v));
        break;
      default:
        throw model_error(fmt::format("{}: {} '{}' has element type {}, expected float or integer", source_, what,
                                      t.name(), t.data_type()));
    }
    if (r.values.size() != n) {
      throw model_error(fmt::format("{}: {} '{}' has {} values for shape of {} elements (truncated file?)", source_,
                                    what, t.name(), r.values.size(), n));
    }
    return r;
  }

  std::string unique_name(const onnx::NodeProto& n, int index) {
    std::string base = n.name().empty() ? fmt::format("{}_{}", n.op_type(), index) : n.name();
    std::string name = base;
    for (int k = 2; names_.count(name); ++k) name = fmt::format("{}_{}", base, k);
    names_.insert(name);
    return name;
  }

  layer_id add(std::string name, layer_op op, std::vector<layer_id> inputs) {
    layer l;
    l.name = std::move(name);
    l.op = std::move(op);
    l.inputs = std::move(inputs);
    const auto id = net_.add(std::move(l));
    const auto diags = verify(net_);  // shapes of what exists so far; errors surface in check()
    (void)diags;
    return id;
  }

  const value& in(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size()) fail(n, fmt::format("expects at least {} inputs", i + 1));
    const auto it = values_.find(n.input(i));
    if (it == values_.end()) {
      if (consts_.count(n.input(i))) fail(n, fmt::format("input '{}' is a constant where a tensor of the network is expected", n.input(i)));
      fail(n, fmt::format("reads '{}', which no earlier node produces", n.input(i)), "the graph must be topologically sorted");
    }
    return it->second;
  }
  const tensor* constant(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    const auto it = consts_.find(n.input(i));
    return it == consts_.end() ? nullptr : &it->second;
  }
  const tensor& need_constant(const onnx::NodeProto& n, int i, const char* what) const {
    const tensor* t = constant(n, i);
    if (!t) fail(n, fmt::format("its {} ('{}') must be a constant (an initializer)", what, i < n.input_size() ? n.input(i) : ""));
    return *t;
  }

  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static std::int64_t attr_int(const onnx::NodeProto& n, const char* name, std::int64_t def) {
    const auto* a = attr(n, name);
    return a ? a->i() : def;
  }
  static float attr_float(const onnx::NodeProto& n, const char* name, float def) {
    const auto* a = attr(n, name);
    return a ? a->f() : def;
  }
  static std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, const char* name, std::vector<std::int64_t> def) {
    const auto* a = attr(n, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : def;
  }

  int channels(const value& v) const { return net_[v.layer].shape.channels; }

  // Window attributes shared by Conv, MaxPool and AveragePool.
  void window(const onnx::NodeProto& n, int& kh, int& kw, int& sh, int& sw, int& ph, int& pw) const {
    const auto k = attr_ints(n, "kernel_shape", {kh, kw});
    const auto s = attr_ints(n, "strides", {1, 1});
    const auto p = attr_ints(n, "pads", {0, 0, 0, 0});
    const auto d = attr_ints(n, "dilations", {1, 1});
    const auto* ap = attr(n, "auto_pad");
    if (ap && ap->s() != "NOTSET") fail(n, fmt::format("auto_pad {} is not supported", ap->s()), "export with explicit pads");
    if (k.size() != 2 || s.size() != 2 || p.size() != 4) fail(n, "only 2-D windows are supported");
    if (d[0] != 1 || d[1] != 1) fail(n, "dilated windows are not supported");
    if (p[0] != p[2] || p[1] != p[3]) fail(n, fmt::format("asymmetric pads [{}] are not supported", fmt::join(p, ", ")));
    if (attr_int(n, "ceil_mode", 0) != 0) {
      fail(n, "ceil_mode 1 is not supported (a window past the input's edge has no Eedn core)",
           "export with ceil_mode=False (PyTorch's default); pad the input instead if the output size must stay");
    }
    for (std::size_t i = 0; i < 2; ++i) {
      if (k[i] < 1 || k[i] > 1024) fail(n, fmt::format("kernel_shape [{}]: each side must be 1 to 1024", fmt::join(k, ", ")));
      if (s[i] < 1 || s[i] > 1024) {
        fail(n, fmt::format("strides [{}]: each stride must be 1 to 1024", fmt::join(s, ", ")),
             "export the layer with strides of at least 1");
      }
    }
    if (p[0] < 0 || p[1] < 0 || p[0] > 1024 || p[1] > 1024) fail(n, fmt::format("pads [{}] must be 0 to 1024", fmt::join(p, ", ")));
    kh = static_cast<int>(k[0]), kw = static_cast<int>(k[1]);
    sh = static_cast<int>(s[0]), sw = static_cast<int>(s[1]);
    ph = static_cast<int>(p[0]), pw = static_cast<int>(p[1]);
  }

  // Trinary weights, or quantised ones (returning the per-channel scale).
  std::vector<std::int8_t> trinary(const onnx::NodeProto& n, int input, const tensor& w, int out,
                                   std::vector<double>& scale) const {
    std::vector<std::int8_t> q(w.size());
    scale.assign(static_cast<std::size_t>(out), 1.0);
    std::size_t bad = 0, first_bad = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double v = w.values[i];
      if (v == -1.0 || v == 0.0 || v == 1.0) {
        q[i] = static_cast<std::int8_t>(v);
      } else if (bad++ == 0) {
        first_bad = i;
      }
    }
    if (bad == 0) return q;
    if (!opts_.quantize) {
      std::string examples;
      for (std::size_t i = first_bad, shown = 0; i < w.size() && shown < 3; ++i) {
        const double v = w.values[i];
        if (v == -1.0 || v == 0.0 || v == 1.0) continue;
        examples += fmt::format("{}{} at index {}", shown ? ", " : "", v, i);
        ++shown;
      }
      fail(n, fmt::format("weight tensor '{}' has {} of {} values that are not -1, 0 or 1 ({})", n.input(input), bad,
                          w.size(), examples),
           "export trinary weights (the Eedn recipe), or pass --quantize to round them");
    }
    const std::size_t per = w.size() / static_cast<std::size_t>(out);
    for (std::size_t o = 0; o < static_cast<std::size_t>(out); ++o) {
      double mean_abs = 0;
      for (std::size_t i = 0; i < per; ++i) mean_abs += std::abs(w.values[o * per + i]);
      mean_abs /= static_cast<double>(per);
      const double delta = 0.7 * mean_abs;
      double kept = 0;
      std::size_t count = 0;
      for (std::size_t i = 0; i < per; ++i) {
        const double v = w.values[o * per + i];
        q[o * per + i] = static_cast<std::int8_t>(std::abs(v) > delta ? (v > 0 ? 1 : -1) : 0);
        if (std::abs(v) > delta) kept += std::abs(v), ++count;
      }
      scale[o] = count ? kept / static_cast<double>(count) : 1.0;
    }
    return q;
  }

  // A constant that broadcasts per channel: scalar, [C], [1, C], [C, 1, 1] or [1, C, 1, 1].
  std::vector<double> per_channel(const onnx::NodeProto& n, const tensor& t, int c) const {
    if (t.size() == 1) return std::vector<double>(static_cast<std::size_t>(c), t.values[0]);
    if (t.size() == static_cast<std::size_t>(c)) {
      std::int64_t non_one = 0;
      for (auto d : t.dims) non_one += d != 1;
      if (non_one <= 1) return t.values;
    }
    fail(n, fmt::format("a constant of shape [{}] does not broadcast per channel ({} channels)", fmt::join(t.dims, ", "), c));
  }

  void add_input(const onnx::GraphProto& g) {
    const onnx::ValueInfoProto* input = nullptr;
    for (const auto& i : g.input())
      if (!consts_.count(i.name())) {
        if (input) throw model_error(fmt::format("{}: the graph has more than one input ('{}', '{}')", source_, input->name(), i.name()),
                                     "an Eedn network reads one encoded image");
        input = &i;
      }
    if (!input) throw model_error(fmt::format("{}: the graph has no input", source_));
    auto need = [&](const char* key) {
      const auto it = meta_.find(key);
      if (it == meta_.end()) {
        throw model_error(fmt::format("{}: metadata '{}' is missing: nmc needs the input encoding", source_, key),
                          "add metadata_props nmc.input.levels (e.g. \"64,128,192\") and nmc.input.shape (e.g. "
                          "\"1,28,28\"), as convert/python/export_onnx.py writes them");
      }
      std::vector<int> v;
      std::size_t pos = 0;
      const std::string& s = it->second;
      while (pos <= s.size()) {
        const auto end = std::min(s.find(',', pos), s.size());
        try {
          v.push_back(std::stoi(s.substr(pos, end - pos)));
        } catch (const std::exception&) {
          throw model_error(fmt::format("{}: metadata '{}' = '{}' is not a list of integers", source_, key, s));
        }
        pos = end + 1;
      }
      return v;
    };
    if (auto it = meta_.find("nmc.input.encoding"); it != meta_.end() && it->second != "thermometer") {
      throw model_error(fmt::format("{}: input encoding '{}' is not supported", source_, it->second), "use thermometer");
    }
    input_op op;
    op.encoding.thresholds = need("nmc.input.levels");
    const auto shape = need("nmc.input.shape");
    if (shape.size() != 3) throw model_error(fmt::format("{}: metadata nmc.input.shape must be C,H,W", source_));
    op.image = {shape[0], shape[1], shape[2]};
    const auto& dims = input->type().tensor_type().shape().dim();
    if (dims.size() == 4 && dims[1].has_dim_value() &&
        dims[1].dim_value() != static_cast<std::int64_t>(shape[0]) * static_cast<std::int64_t>(op.encoding.thresholds.size())) {
      throw model_error(fmt::format("{}: graph input '{}' has {} channels, but {} image channels x {} levels = {}", source_,
                                    input->name(), dims[1].dim_value(), shape[0], op.encoding.thresholds.size(),
                                    shape[0] * static_cast<int>(op.encoding.thresholds.size())),
                        "the graph input carries the thermometer-coded image, one channel per image channel and "
                        "level: set metadata nmc.input.levels to the levels the model was trained with, or export "
                        "the network after its encoder (convert/EEDN_ONNX_PROFILE.md)");
    }
    if (dims.size() != 4 && dims.size() != 0) {
      std::vector<std::string> d;
      for (const auto& x : dims) d.push_back(x.has_dim_value() ? std::to_string(x.dim_value()) : x.dim_param());
      throw model_error(fmt::format("{}: graph input '{}' has rank {} ([{}]); nmc reads N x C x H x W images", source_,
                                    input->name(), dims.size(), fmt::join(d, ", ")),
                        fmt::format("export with an input of shape [N, {}, {}, {}] and flatten inside the model where "
                                    "it needs a vector",
                                    shape[0] * static_cast<int>(op.encoding.thresholds.size()), shape[1], shape[2]));
    }
    if (dims.size() == 4) {
      for (int k : {2, 3}) {
        if (dims[k].has_dim_value() && dims[k].dim_value() != shape[static_cast<std::size_t>(k - 1)]) {
          throw model_error(fmt::format("{}: graph input '{}' is {} x {} pixels, but metadata nmc.input.shape says {} x {}",
                                        source_, input->name(), dims[2].dim_value(), dims[3].dim_value(), shape[1], shape[2]),
                            "make nmc.input.shape the size of the graph input (C,H,W)");
        }
      }
    }
    names_.insert(input->name());
    values_[input->name()] = {value::binary, add(input->name(), op, {}), 4, {}, {}, {}, 0};
  }

  void node(const onnx::NodeProto& n, int index) {
    const std::string& op = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx") fail(n, fmt::format("domain '{}' is not supported", n.domain()));
    if (n.output_size() < 1) fail(n, "has no output");
    const std::string& out = n.output(0);
    if (op == "Constant") {
      const auto* a = attr(n, "value");
      if (!a || !a->has_t()) fail(n, "only Constant nodes with a 'value' tensor are supported");
      consts_[out] = to_tensor(a->t(), "constant");
    } else if (op == "Identity" || op == "Dropout") {
      if (const tensor* t = constant(n, 0)) consts_[out] = *t;
      else values_[out] = in(n, 0);
    } else if (op == "Cast") {
      const value& v = in(n, 0);
      if (v.kind != value::binary) fail(n, "only casts of spikes (comparison results) are supported");
      values_[out] = v;
    } else if (op == "Conv") {
      conv(n, index);
    } else if (op == "Gemm" || op == "MatMul") {
      dense(n, index);
    } else if (op == "BatchNormalization") {
      value v = in(n, 0);
      if (v.kind != value::linear) fail(n, "batch norm must follow a Conv or Gemm");
      const int c = channels(v);
      const auto scale = per_channel(n, need_constant(n, 1, "scale"), c);
      const auto bias = per_channel(n, need_constant(n, 2, "bias"), c);
      const auto mean = per_channel(n, need_constant(n, 3, "mean"), c);
      const auto var = per_channel(n, need_constant(n, 4, "variance"), c);
      const double eps = attr_float(n, "epsilon", 1e-5f);
      for (std::size_t k = 0; k < static_cast<std::size_t>(c); ++k) {
        if (!(var[k] + eps > 0)) fail(n, fmt::format("channel {} has variance {}", k, var[k]));
        const double s = scale[k] / std::sqrt(var[k] + eps);
        v.a[k] *= s;
        v.b[k] = (v.b[k] - mean[k]) * s + bias[k];
      }
      values_[out] = v;
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      arithmetic(n);
    } else if (op == "GreaterOrEqual" || op == "Greater" || op == "LessOrEqual" || op == "Less") {
      compare(n, index);
    } else if (op == "MaxPool" || op == "AveragePool") {
      const value& v = in(n, 0);
      if (v.kind != value::binary || v.rank != 4) fail(n, "pooling must read a map of spikes");
      pool_op p;
      p.kernel_h = p.kernel_w = 0;
      window(n, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w);
      if (op == "MaxPool") {
        p.kind = pool_kind::max;
        p.threshold = 1;
        values_[out] = {value::binary, add(unique_name(n, index), p, {v.layer}), 4, {}, {}, {}, 0};
      } else {
        if ((p.pad_h || p.pad_w) && attr_int(n, "count_include_pad", 0) == 0) {
          fail(n, "with padding, AveragePool must count the padding (count_include_pad = 1)",
               "export with count_include_pad=True, or pad explicitly");
        }
        p.kind = pool_kind::average;
        value a;
        a.kind = value::average;
        a.layer = v.layer;
        a.pool = p;
        values_[out] = a;
      }
    } else if (op == "Flatten") {
      const value& v = in(n, 0);
      if (v.kind != value::binary) fail(n, "only spikes can be flattened");
      if (attr_int(n, "axis", 1) != 1) fail(n, "only Flatten with axis 1 is supported");
      values_[out] = v.rank == 2 ? v : value{value::binary, add(unique_name(n, index), flatten_op{}, {v.layer}), 2, {}, {}, {}, 0};
    } else if (op == "Reshape") {
      reshape(n, index);
    } else if (op == "ReduceSum") {
      const value& v = in(n, 0);
      std::vector<std::int64_t> axes = attr_ints(n, "axes", {});
      if (const tensor* t = constant(n, 1))
        for (auto a : integers(n, *t, "axes")) axes.push_back(a);
      if (v.kind != value::populations || axes.size() != 1 || (axes[0] != 2 && axes[0] != -1)) {
        fail(n, "only the class readout ReduceSum (axis 2 of N x classes x population) is supported");
      }
      const auto n_in = net_[v.layer].shape.size();
      output_op o;
      o.classes = v.classes;
      for (std::int64_t k = 0; k < n_in; ++k) o.class_of.push_back(static_cast<std::int32_t>(k / (n_in / v.classes)));
      values_[out] = {value::output, add(unique_name(n, index), o, {v.layer}), 2, {}, {}, {}, 0};
    } else if (op == "Concat") {
      if (attr_int(n, "axis", 1) != 1) fail(n, "only Concat along channels (axis 1) is supported");
      std::vector<layer_id> parts;
      int rank = 0;
      for (int i = 0; i < n.input_size(); ++i) {
        const value& v = in(n, i);
        if (v.kind != value::binary) fail(n, "only spikes can be concatenated");
        parts.push_back(v.layer);
        rank = v.rank;
      }
      values_[out] = {value::binary, add(unique_name(n, index), concat_op{}, parts), rank, {}, {}, {}, 0};
    } else {
      fail(n, "this op is not supported", fmt::format("supported ops: {}", supported_ops));
    }
  }

  void conv(const onnx::NodeProto& n, int index) {
    const value& v = in(n, 0);
    if (v.kind != value::binary || v.rank != 4) fail(n, "a convolution must read a map of spikes");
    const tensor& w = need_constant(n, 1, "weight");
    if (w.dims.size() != 4) fail(n, fmt::format("weight '{}' has {} dimensions, expected 4", n.input(1), w.dims.size()));
    conv2d_op c;
    c.out_channels = static_cast<int>(w.dims[0]);
    c.kernel_h = static_cast<int>(w.dims[2]), c.kernel_w = static_cast<int>(w.dims[3]);
    window(n, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h, c.pad_w);
    const std::int64_t groups = attr_int(n, "group", 1);
    const std::int64_t in_channels = channels(v);
    if (w.dims[0] < 1) fail(n, fmt::format("weight '{}' has {} output channels", n.input(1), w.dims[0]), "a convolution needs at least one filter");
    if (groups < 1 || groups > in_channels || in_channels % groups != 0 || w.dims[0] % groups != 0) {
      fail(n, fmt::format("group {} does not divide its {} input and {} output channels", groups, in_channels, w.dims[0]),
           "export with group >= 1 dividing both channel counts (1 for a dense convolution)");
    }
    if (w.dims[1] * groups != in_channels) {
      fail(n, fmt::format("weight '{}' has {} input channels per group, but {} input channels / group {} = {}", n.input(1),
                          w.dims[1], in_channels, groups, in_channels / groups));
    }
    c.groups = static_cast<int>(groups);
    std::vector<double> scale;
    c.weights = trinary(n, 1, w, c.out_channels, scale);
    value lin;
    lin.kind = value::linear;
    lin.a = scale;
    lin.b.assign(static_cast<std::size_t>(c.out_channels), 0.0);
    if (const tensor* bias = constant(n, 2)) lin.b = per_channel(n, *bias, c.out_channels);
    lin.layer = add(unique_name(n, index), c, {v.layer});
    lin.rank = 4;
    values_[n.output(0)] = lin;
  }

  void dense(const onnx::NodeProto& n, int index) {
    const value& v = in(n, 0);
    if (v.kind != value::binary) fail(n, "a fully connected layer must read spikes");
    const tensor& w = need_constant(n, 1, "weight");
    if (w.dims.size() != 2) fail(n, fmt::format("weight '{}' must be 2-D", n.input(1)));
    const bool gemm = n.op_type() == "Gemm";
    if (gemm && attr_int(n, "transA", 0)) fail(n, "transA is not supported");
    // ONNX computes A x B (+ C): B is [in, out], or [out, in] with transB.
    const bool trans = gemm && attr_int(n, "transB", 0);
    const auto out = static_cast<int>(trans ? w.dims[0] : w.dims[1]);
    const auto inputs = static_cast<std::size_t>(trans ? w.dims[1] : w.dims[0]);
    tensor rows;  // [out][in]
    rows.dims = {out, static_cast<std::int64_t>(inputs)};
    rows.values.resize(w.size());
    for (std::size_t o = 0; o < static_cast<std::size_t>(out); ++o)
      for (std::size_t i = 0; i < inputs; ++i)
        rows.values[o * inputs + i] = trans ? w.values[o * inputs + i] : w.values[i * static_cast<std::size_t>(out) + o];
    dense_op d;
    d.out_features = out;
    std::vector<double> scale;
    d.weights = trinary(n, 1, rows, out, scale);
    value lin;
    lin.kind = value::linear;
    const double alpha = gemm ? attr_float(n, "alpha", 1.0f) : 1.0, beta = gemm ? attr_float(n, "beta", 1.0f) : 1.0;
    lin.a = scale;
    for (auto& s : lin.a) s *= alpha;
    lin.b.assign(static_cast<std::size_t>(out), 0.0);
    if (const tensor* bias = gemm ? constant(n, 2) : nullptr) {
      lin.b = per_channel(n, *bias, out);
      for (auto& b : lin.b) b *= beta;
    }
    layer_id src = v.layer;
    if (v.rank == 4) src = add(unique_name(n, index) + "_flatten", flatten_op{}, {v.layer});
    lin.layer = add(unique_name(n, index), d, {src});
    lin.rank = 2;
    values_[n.output(0)] = lin;
  }

  void arithmetic(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const bool const_first = constant(n, 0) != nullptr;
    const value& v = in(n, const_first ? 1 : 0);
    const tensor* t = constant(n, const_first ? 0 : 1);
    if (v.kind != value::linear || !t) {
      fail(n, "arithmetic is supported only between the sums of a Conv/Gemm and a constant",
           "fold it into the weights or the batch norm before export");
    }
    const auto k = per_channel(n, *t, channels(v));
    value r = v;
    for (std::size_t c = 0; c < k.size(); ++c) {
      if (op == "Add") {
        r.b[c] += k[c];
      } else if (op == "Sub") {
        if (const_first) r.a[c] = -r.a[c], r.b[c] = k[c] - r.b[c];
        else r.b[c] -= k[c];
      } else if (op == "Mul") {
        r.a[c] *= k[c], r.b[c] *= k[c];
      } else {  // Div
        if (const_first) fail(n, "dividing a constant by the sums is not supported");
        if (k[c] == 0) fail(n, fmt::format("divides channel {} by zero", c));
        r.a[c] /= k[c], r.b[c] /= k[c];
      }
    }
    values_[n.output(0)] = r;
  }

  void compare(const onnx::NodeProto& n, int index) {
    const std::string& op = n.op_type();
    const bool const_first = constant(n, 0) != nullptr;
    const value& v = in(n, const_first ? 1 : 0);
    const tensor* t = constant(n, const_first ? 0 : 1);
    if (!t) fail(n, "a comparison must compare with a constant");
    compare_op cmp = op == "GreaterOrEqual" ? compare_op::ge
                     : op == "Greater"      ? compare_op::gt
                     : op == "LessOrEqual"  ? compare_op::le
                                            : compare_op::lt;
    if (const_first) {  // c OP x  <=>  x OP' c
      cmp = cmp == compare_op::ge ? compare_op::le : cmp == compare_op::gt ? compare_op::lt
            : cmp == compare_op::le ? compare_op::ge : compare_op::gt;
    }
    if (v.kind == value::linear) {
      const layer& comp = net_[v.layer];
      const int c = comp.shape.channels;
      const auto k = per_channel(n, *t, c);
      const int fan = fan_in(net_, comp);
      threshold_op th;
      for (std::size_t ch = 0; ch < static_cast<std::size_t>(c); ++ch) {
        if (!std::isfinite(v.a[ch]) || !std::isfinite(v.b[ch]) || !std::isfinite(k[ch])) {
          fail(n, fmt::format("channel {}: the step compares {} * x + {} with {}, which is not finite", ch, v.a[ch],
                              v.b[ch], k[ch]),
               "a threshold, scale or batch-norm value of this channel is NaN or infinite (a diverged training "
               "run?): check those tensors, retrain or export again");
        }
        const auto f = fold_affine_step(v.a[ch], v.b[ch], cmp, k[ch], fan);
        th.sign.push_back(f.sign);
        th.threshold.push_back(f.threshold);
      }
      values_[n.output(0)] = {value::binary, add(unique_name(n, index), th, {v.layer}), v.rank, {}, {}, {}, 0};
    } else if (v.kind == value::average) {
      if (cmp != compare_op::ge && cmp != compare_op::gt) fail(n, "only 'average >= c' or 'average > c' is supported");
      pool_op p = v.pool;
      const int area = p.kernel_h * p.kernel_w;
      if (t->size() != 1) fail(n, "the pooling threshold must be one scalar");
      const double c = t->values[0];
      int thr = area + 1;
      for (int k = 0; k <= area; ++k) {
        const double avg = static_cast<double>(k) / area;
        if (cmp == compare_op::ge ? avg >= c : avg > c) {
          thr = k;
          break;
        }
      }
      if (thr < 1 || thr > area) {
        fail(n, fmt::format("average >= {} over a {}-element window is constant", c, area), "remove the constant pooling");
      }
      p.threshold = thr;
      values_[n.output(0)] = {value::binary, add(unique_name(n, index), p, {v.layer}), 4, {}, {}, {}, 0};
    } else {
      fail(n, "a comparison must follow a Conv/Gemm (and batch norm) or an AveragePool");
    }
  }

  void reshape(const onnx::NodeProto& n, int index) {
    const value& v = in(n, 0);
    const tensor& shape = need_constant(n, 1, "shape");
    if (v.kind != value::binary) fail(n, "only spikes can be reshaped");
    const auto size = net_[v.layer].shape.size();
    const std::vector<std::int64_t> s = integers(n, shape, "shape");
    if (s.size() == 2 && (s[1] == -1 || s[1] == size)) {
      values_[n.output(0)] = v.rank == 2 ? v : value{value::binary, add(unique_name(n, index), flatten_op{}, {v.layer}), 2, {}, {}, {}, 0};
      return;
    }
    if (s.size() == 3 && s[1] > 0 && s[1] <= size && size % s[1] == 0 && (s[2] == -1 || (s[2] > 0 && s[2] <= size && s[1] * s[2] == size))) {
      value p = v;
      p.kind = value::populations;
      p.classes = static_cast<int>(s[1]);
      values_[n.output(0)] = p;
      return;
    }
    fail(n, fmt::format("reshape to [{}] is not supported (a map of {} values)", fmt::join(s, ", "), size),
         "supported: [N, -1] (flatten) and [N, classes, -1] before the class ReduceSum");
  }

  void add_output(const onnx::GraphProto& g) {
    if (g.output_size() != 1) {
      throw model_error(fmt::format("{}: the graph has {} outputs, expected 1 (the class counts)", source_, g.output_size()));
    }
    const auto& name = g.output(0).name();
    const auto it = values_.find(name);
    if (it == values_.end()) throw model_error(fmt::format("{}: graph output '{}' is not produced by any node", source_, name));
    if (it->second.kind == value::output) return;
    if (it->second.kind == value::binary) {
      const auto m = meta_.find("nmc.output.classes");
      if (m != meta_.end()) {
        const int classes = std::stoi(m->second);
        const auto n_in = net_[it->second.layer].shape.size();
        if (classes < 1 || n_in % classes != 0) {
          throw model_error(fmt::format("{}: {} output neurons do not divide into {} classes", source_, n_in, classes));
        }
        output_op o;
        o.classes = classes;
        for (std::int64_t k = 0; k < n_in; ++k) o.class_of.push_back(static_cast<std::int32_t>(k / (n_in / classes)));
        add("output", o, {it->second.layer});
        return;
      }
    }
    throw model_error(fmt::format("{}: graph output '{}' is not class spike counts", source_, name),
                      "end the graph with Reshape [N, classes, -1] + ReduceSum(axis 2), or output the last spikes "
                      "and add metadata nmc.output.classes");
  }
};

}  // namespace

network parse_onnx(const std::string& bytes, const std::string& source, const import_options& opts) {
  return importer(source, opts).run(bytes);
}

network read_onnx(const std::filesystem::path& path, const import_options& opts) {
  return parse_onnx(read_file(path), path.string(), opts);
}

}  // namespace nmc::convert
