#include <nmc/convert/yaml_model.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/model/verify.hpp>

namespace nmc::convert {

using namespace nmc::model;

namespace {

constexpr std::string_view format_tag = "nmc-model/1";

// Scalars given once for a whole layer ("threshold: 1", no class_of) are
// expanded once the input shapes are known.
// A shorthand can only be expanded once its input's shape is known, and that
// shape may depend on an upstream shorthand: expand and re-infer until stable.
void expand_shorthands(network& net) {
  for (std::size_t pass = 0; pass <= net.size(); ++pass) {
    verify(net);  // fills every shape it can; the diagnostics are reported later
    bool changed = false;
    for (std::size_t i = 0; i < net.size(); ++i) {
      layer& l = net[layer_id(static_cast<layer_id::rep>(i))];
      if (l.inputs.empty() || l.inputs[0].index() >= net.size()) continue;
      const layer& in = net[l.inputs[0]];
      if (auto* t = std::get_if<threshold_op>(&l.op)) {
        const auto c = static_cast<std::size_t>(in.shape.channels);
        if (t->threshold.size() == 1 && c > 1) t->threshold.assign(c, t->threshold[0]), changed = true;
        if (t->sign.size() == 1 && c > 1) t->sign.assign(c, t->sign[0]), changed = true;
      } else if (auto* o = std::get_if<output_op>(&l.op)) {
        const auto n = in.shape.size();
        if (o->class_of.empty() && o->classes > 0 && n > 0 && n % o->classes == 0) {
          const auto per = n / o->classes;
          for (std::int64_t k = 0; k < n; ++k) o->class_of.push_back(static_cast<std::int32_t>(k / per));
          changed = true;
        }
      }
    }
    if (!changed) return;
  }
}

class reader {
public:
  explicit reader(std::string source) : source_(std::move(source)) {}

  network parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      throw model_error(fmt::format("{}:{}:{}: YAML syntax error: {}", source_, e.mark.line + 1,
                                    e.mark.column + 1, e.msg),
                        "fix the YAML syntax at that line");
    }
    if (!root.IsMap()) fail(root, "the file is not a YAML mapping", "start with 'format: nmc-model/1'");
    check_keys(root, {"format", "name", "layers"}, "the model");
    const auto format = str(root, "format", "");
    if (format != format_tag) {
      fail(root["format"] ? root["format"] : root,
           fmt::format("format is '{}', expected '{}'", format, format_tag),
           "add 'format: nmc-model/1' at the top of the file");
    }
    network net;
    net.source = source_;
    net.name = str(root, "name", "");
    const YAML::Node layers = root["layers"];
    if (!layers || !layers.IsSequence() || layers.size() == 0) {
      fail(layers ? layers : root, "'layers' must be a non-empty list", "list the layers in order");
    }
    std::map<std::string, layer_id> ids;
    std::optional<layer_id> previous;
    for (const auto& node : layers) {
      layer l = parse_layer(node, ids, previous);
      const std::string name = l.name;
      const layer_id id = net.add(std::move(l));
      ids.emplace(name, id);
      previous = id;
      marks_.push_back(node.Mark());
    }
    expand_shorthands(net);
    for (std::size_t i = 0; i < net.size(); ++i) {
      const layer& l = net.layers()[i];
      if (const auto* o = std::get_if<output_op>(&l.op); o && o->class_of.empty() && !l.inputs.empty()) {
        const auto& in = net[l.inputs[0]];
        if (in.shape.size() > 0) {
          throw model_error(
              fmt::format("{}:{}: layer '{}' (output): {} classes do not divide the {} neurons of "
                          "'{}' into equal populations",
                          source_, marks_[i].line + 1, l.name, o->classes, in.shape.size(), in.name),
              "give 'class_of:' with one class (or -1) per neuron");
        }
      }
    }
    // Shapes and values: report verifier problems at the layer's line.
    auto diags = verify(net);
    if (!diags.empty()) {
      std::string msg;
      for (const auto& d : diags) {
        std::string text_ = d.message;
        if (auto id = net.find(d.layer); id && text_.rfind(source_ + ": ", 0) == 0) {
          text_ = fmt::format("{}:{}: {}", source_, marks_[id->index()].line + 1,
                              text_.substr(source_.size() + 2));
        }
        msg += (msg.empty() ? "" : "\n") + text_;
      }
      throw model_error(msg, diags.front().hint);
    }
    return net;
  }

private:
  std::string source_;
  std::vector<YAML::Mark> marks_;

  [[noreturn]] void fail(const YAML::Node& node, const std::string& what, const std::string& hint) {
    const auto m = node.Mark();
    if (m.is_null()) throw model_error(fmt::format("{}: {}", source_, what), hint);
    throw model_error(fmt::format("{}:{}: {}", source_, m.line + 1, what), hint);
  }

  // Unknown keys are typos: refuse them, listing the keys `what` accepts.
  void check_keys(const YAML::Node& node, const std::vector<std::string_view>& allowed, const std::string& what,
                  const std::string& hint_prefix = "allowed keys") {
    for (const auto& kv : node) {
      const auto key = scalar<std::string>(kv.first, what + ": a key");
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, fmt::format("{}: unknown key '{}'", what, key), fmt::format("{}: {}", hint_prefix, list));
      }
    }
  }

  template <class T> T scalar(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) fail(node, fmt::format("{} must be a scalar", what), "");
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, fmt::format("{} is '{}', not a valid {}", what, node.Scalar(),
                             std::is_integral_v<T> ? "integer" : "value"),
           "");
    }
  }

  std::string str(const YAML::Node& map, const char* key, std::string def) {
    const YAML::Node n = map[key];
    return n ? scalar<std::string>(n, fmt::format("'{}'", key)) : def;
  }

  int integer(const YAML::Node& map, const char* key, const std::string& where,
              std::optional<int> def = std::nullopt) {
    const YAML::Node n = map[key];
    if (!n) {
      if (def) return *def;
      fail(map, fmt::format("{}: missing '{}'", where, key), fmt::format("add '{}:'", key));
    }
    return scalar<int>(n, fmt::format("{}: '{}'", where, key));
  }

  // An integer or [a, b] pair (kernel, stride, padding).
  std::pair<int, int> pair(const YAML::Node& map, const char* key, const std::string& where,
                           std::optional<int> def) {
    const YAML::Node n = map[key];
    if (!n) {
      if (def) return {*def, *def};
      fail(map, fmt::format("{}: missing '{}'", where, key), fmt::format("add '{}:'", key));
    }
    if (n.IsSequence()) {
      if (n.size() != 2) fail(n, fmt::format("{}: '{}' must be an integer or [h, w]", where, key), "");
      return {scalar<int>(n[0], key), scalar<int>(n[1], key)};
    }
    const int v = scalar<int>(n, fmt::format("{}: '{}'", where, key));
    return {v, v};
  }

  template <class T>
  std::vector<T> int_list(const YAML::Node& n, const std::string& what) {
    if (!n.IsSequence()) fail(n, fmt::format("{} must be a list", what), "");
    std::vector<T> out;
    out.reserve(n.size());
    for (const auto& e : n) {
      const auto v = scalar<long long>(e, what);
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
        fail(e, fmt::format("{}: value {} is out of range", what, v), "");
      }
      out.push_back(static_cast<T>(v));
    }
    return out;
  }

  std::vector<std::int8_t> weights(const YAML::Node& map, const std::string& where) {
    const YAML::Node n = map["weights"];
    if (!n) fail(map, fmt::format("{}: missing 'weights'", where), "add 'weights:'");
    if (n.IsSequence()) return int_list<std::int8_t>(n, where + ": weights");
    const std::string s = scalar<std::string>(n, where + ": weights");
    std::vector<std::int8_t> out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      switch (s[i]) {
        case '+': out.push_back(1); break;
        case '-': out.push_back(-1); break;
        case '0': out.push_back(0); break;
        case ' ': case '\n': case '\t': case '\r': break;
        default:
          fail(n, fmt::format("{}: weight string has '{}' at character {}", where, s[i], i),
               "a weight string holds only '+', '-' and '0'");
      }
    }
    return out;
  }

  // A per-channel list, or one scalar for every channel (expanded later).
  template <class T>
  std::vector<T> per_channel(const YAML::Node& map, const char* key, const std::string& where,
                             std::optional<T> def) {
    const YAML::Node n = map[key];
    if (!n) {
      if (def) return {*def};
      fail(map, fmt::format("{}: missing '{}'", where, key), fmt::format("add '{}:'", key));
    }
    if (n.IsSequence()) return int_list<T>(n, fmt::format("{}: '{}'", where, key));
    return {static_cast<T>(scalar<int>(n, fmt::format("{}: '{}'", where, key)))};
  }

  layer parse_layer(const YAML::Node& node, const std::map<std::string, layer_id>& ids,
                    std::optional<layer_id> previous) {
    if (!node.IsMap()) fail(node, "a layer must be a mapping", "write '- {name: ..., type: ...}'");
    layer l;
    l.name = str(node, "name", "");
    if (l.name.empty()) fail(node, "layer without a name", "add 'name:'");
    const std::string type = str(node, "type", "");
    const std::string where = fmt::format("layer '{}'", l.name);
    if (ids.count(l.name)) fail(node, fmt::format("{}: the name is used twice", where), "rename one of them");

    // Inputs.
    if (node["input"] && node["inputs"]) fail(node, where + ": give 'input' or 'inputs', not both", "");
    auto resolve = [&](const YAML::Node& n) {
      const auto in = scalar<std::string>(n, where + ": input");
      auto it = ids.find(in);
      if (it == ids.end()) {
        fail(n, fmt::format("{}: input '{}' is not a layer defined above", where, in),
             "layers must be listed after the layers they read");
      }
      return it->second;
    };
    if (node["input"]) {
      l.inputs.push_back(resolve(node["input"]));
    } else if (node["inputs"]) {
      if (!node["inputs"].IsSequence()) fail(node["inputs"], where + ": 'inputs' must be a list", "");
      for (const auto& n : node["inputs"]) l.inputs.push_back(resolve(n));
    } else if (type != "input" && previous) {
      l.inputs.push_back(*previous);
    }

    auto keys = [&](std::initializer_list<std::string_view> extra) {
      std::vector<std::string_view> all = {"name", "type", "input", "inputs"};
      all.insert(all.end(), extra);
      check_keys(node, all, fmt::format("{} ({})", where, type), fmt::format("keys of a {} layer", type));
    };

    if (type == "input") {
      keys({"shape", "levels"});
      const YAML::Node shape = node["shape"];
      if (!shape || !shape.IsSequence() || shape.size() != 3) {
        fail(shape ? shape : node, where + ": 'shape' must be [channels, height, width]", "");
      }
      input_op o;
      o.image = {scalar<int>(shape[0], "shape"), scalar<int>(shape[1], "shape"),
                 scalar<int>(shape[2], "shape")};
      if (!node["levels"]) fail(node, where + ": missing 'levels' (thermometer thresholds)", "e.g. levels: [64, 128, 192]");
      o.encoding.thresholds = int_list<int>(node["levels"], where + ": levels");
      l.op = std::move(o);
    } else if (type == "conv2d") {
      keys({"out_channels", "kernel", "stride", "padding", "groups", "weights"});
      conv2d_op o;
      o.out_channels = integer(node, "out_channels", where);
      std::tie(o.kernel_h, o.kernel_w) = pair(node, "kernel", where, std::nullopt);
      std::tie(o.stride_h, o.stride_w) = pair(node, "stride", where, 1);
      std::tie(o.pad_h, o.pad_w) = pair(node, "padding", where, 0);
      o.groups = integer(node, "groups", where, 1);
      o.weights = weights(node, where);
      l.op = std::move(o);
    } else if (type == "dense") {
      keys({"out_features", "weights"});
      dense_op o;
      o.out_features = integer(node, "out_features", where);
      o.weights = weights(node, where);
      l.op = std::move(o);
    } else if (type == "max_pool" || type == "avg_pool") {
      keys({"kernel", "stride", "padding", "threshold"});
      pool_op o;
      o.kind = type == "max_pool" ? pool_kind::max : pool_kind::average;
      std::tie(o.kernel_h, o.kernel_w) = pair(node, "kernel", where, std::nullopt);
      std::tie(o.stride_h, o.stride_w) = pair(node, "stride", where, std::nullopt);
      std::tie(o.pad_h, o.pad_w) = pair(node, "padding", where, 0);
      const int area = o.kernel_h * o.kernel_w;
      o.threshold = integer(node, "threshold", where,
                            o.kind == pool_kind::max ? 1 : (area + 1) / 2);
      l.op = o;
    } else if (type == "threshold") {
      keys({"threshold", "sign"});
      threshold_op o;
      o.threshold = per_channel<std::int32_t>(node, "threshold", where, std::nullopt);
      o.sign = per_channel<std::int8_t>(node, "sign", where, std::int8_t{1});
      l.op = std::move(o);
    } else if (type == "flatten") {
      keys({});
      l.op = flatten_op{};
    } else if (type == "concat") {
      keys({});
      l.op = concat_op{};
    } else if (type == "output") {
      keys({"classes", "class_of"});
      output_op o;
      o.classes = integer(node, "classes", where);
      if (node["class_of"]) o.class_of = int_list<std::int32_t>(node["class_of"], where + ": class_of");
      l.op = std::move(o);
    } else {
      fail(node["type"] ? node["type"] : node,
           fmt::format("{}: unknown type '{}'", where, type),
           "types: input, conv2d, dense, threshold, max_pool, avg_pool, flatten, concat, output");
    }
    return l;
  }
};

}  // namespace

network parse_yaml_model(std::string_view text, const std::string& source) {
  try {
    return reader(source).parse(text);
  } catch (const YAML::Exception& e) {
    // Anything yaml-cpp itself rejects (odd node types, bad conversions) is
    // still a problem in the user's file, not an internal error.
    if (e.mark.is_null()) throw model_error(fmt::format("{}: {}", source, e.msg), "check the YAML structure");
    throw model_error(fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg),
                      "check the YAML structure at that line");
  }
}

network read_yaml_model(const std::filesystem::path& path) {
  // yaml-cpp builds a node per scalar, about six times the file in memory and
  // seconds per 100 MB: refuse a file far beyond any hand-written network
  // before reading it.
  constexpr std::uintmax_t max_bytes = std::uintmax_t{64} << 20;
  std::error_code ec;
  if (const auto bytes = std::filesystem::file_size(path, ec); !ec && bytes > max_bytes) {
    throw model_error(fmt::format("{}: a YAML model of {} MiB, beyond the {} MiB nmc reads as YAML", path.string(),
                                  bytes >> 20, max_bytes >> 20),
                      "export large models as ONNX (convert/python/export_onnx.py), which nmc reads in one pass");
  }
  return parse_yaml_model(read_file(path), path.string());
}

namespace {

template <class T> YAML::Node flow_list(const std::vector<T>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (auto x : v) n.push_back(static_cast<int>(x));
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}

template <class T> bool all_equal(const std::vector<T>& v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [&](T x) { return x == v[0]; });
}

void emit_weights(YAML::Emitter& out, const std::vector<std::int8_t>& w) {
  out << YAML::Key << "weights";
  if (w.size() <= 32) {
    out << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (auto v : w) out << static_cast<int>(v);
    out << YAML::EndSeq;
    return;
  }
  std::string s;
  for (std::size_t i = 0; i < w.size(); ++i) {
    s += w[i] > 0 ? '+' : w[i] < 0 ? '-' : '0';
    if (i % 64 == 63 && i + 1 < w.size()) s += '\n';
  }
  out << YAML::Value << YAML::Literal << s;
}

void emit_pair(YAML::Emitter& out, const char* key, int a, int b) {
  out << YAML::Key << key << YAML::Value;
  if (a == b) {
    out << a;
  } else {
    out << YAML::Flow << YAML::BeginSeq << a << b << YAML::EndSeq;
  }
}

}  // namespace

std::string to_yaml(const network& net) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << std::string(format_tag);
  out << YAML::Key << "name" << YAML::Value << net.name;
  out << YAML::Key << "layers" << YAML::Value << YAML::BeginSeq;
  for (std::size_t i = 0; i < net.size(); ++i) {
    const layer& l = net.layers()[i];
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << l.name;
    out << YAML::Key << "type" << YAML::Value << std::string(kind_name(l));
    const bool reads_previous = l.inputs.size() == 1 && i > 0 && l.inputs[0].index() == i - 1;
    if (l.inputs.size() == 1 && !reads_previous) {
      out << YAML::Key << "input" << YAML::Value << net[l.inputs[0]].name;
    } else if (l.inputs.size() > 1) {
      out << YAML::Key << "inputs" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (auto in : l.inputs) out << net[in].name;
      out << YAML::EndSeq;
    }
    if (const auto* inp = std::get_if<input_op>(&l.op)) {
      out << YAML::Key << "shape" << YAML::Value << YAML::Flow << YAML::BeginSeq
          << inp->image.channels << inp->image.height << inp->image.width << YAML::EndSeq;
      out << YAML::Key << "levels" << YAML::Value << flow_list(inp->encoding.thresholds);
    } else if (const auto* c = std::get_if<conv2d_op>(&l.op)) {
      out << YAML::Key << "out_channels" << YAML::Value << c->out_channels;
      emit_pair(out, "kernel", c->kernel_h, c->kernel_w);
      emit_pair(out, "stride", c->stride_h, c->stride_w);
      emit_pair(out, "padding", c->pad_h, c->pad_w);
      out << YAML::Key << "groups" << YAML::Value << c->groups;
      emit_weights(out, c->weights);
    } else if (const auto* d = std::get_if<dense_op>(&l.op)) {
      out << YAML::Key << "out_features" << YAML::Value << d->out_features;
      emit_weights(out, d->weights);
    } else if (const auto* p = std::get_if<pool_op>(&l.op)) {
      emit_pair(out, "kernel", p->kernel_h, p->kernel_w);
      emit_pair(out, "stride", p->stride_h, p->stride_w);
      emit_pair(out, "padding", p->pad_h, p->pad_w);
      out << YAML::Key << "threshold" << YAML::Value << p->threshold;
    } else if (const auto* t = std::get_if<threshold_op>(&l.op)) {
      out << YAML::Key << "threshold" << YAML::Value << flow_list(t->threshold);
      if (!(all_equal(t->sign) && t->sign[0] == 1)) {
        out << YAML::Key << "sign" << YAML::Value << flow_list(t->sign);
      }
    } else if (const auto* o = std::get_if<output_op>(&l.op)) {
      out << YAML::Key << "classes" << YAML::Value << o->classes;
      out << YAML::Key << "class_of" << YAML::Value << flow_list(o->class_of);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

void write_yaml_model(const std::filesystem::path& path, const network& net) {
  atomic_write(path, to_yaml(net));
}

}  // namespace nmc::convert
