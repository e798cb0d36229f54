#include <nmc/model/network.hpp>

#include <string>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

namespace nmc::model {

namespace {

template <class... Fs> struct overloaded : Fs... { using Fs::operator()...; };
template <class... Fs> overloaded(Fs...) -> overloaded<Fs...>;

std::string where(const network& net) {
  return net.source.empty() ? fmt::format("network '{}'", net.name) : net.source;
}

}  // namespace

std::string_view kind_name(const layer& l) {
  return std::visit(overloaded{
                        [](const input_op&) { return std::string_view("input"); },
                        [](const conv2d_op&) { return std::string_view("conv2d"); },
                        [](const dense_op&) { return std::string_view("dense"); },
                        [](const pool_op& p) {
                          return p.kind == pool_kind::max ? std::string_view("max_pool")
                                                          : std::string_view("avg_pool");
                        },
                        [](const threshold_op&) { return std::string_view("threshold"); },
                        [](const flatten_op&) { return std::string_view("flatten"); },
                        [](const concat_op&) { return std::string_view("concat"); },
                        [](const output_op&) { return std::string_view("output"); },
                    },
                    l.op);
}

layer_id network::add(layer l) {
  layers_.push_back(std::move(l));
  return layer_id(static_cast<layer_id::rep>(layers_.size() - 1));
}

std::optional<layer_id> network::find(std::string_view layer_name) const {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].name == layer_name) return layer_id(static_cast<layer_id::rep>(i));
  }
  return std::nullopt;
}

namespace {
template <class Op> layer_id unique_layer(const network& net, const char* what) {
  std::optional<layer_id> found;
  for (std::size_t i = 0; i < net.size(); ++i) {
    if (net.layers()[i].is<Op>()) {
      if (found) {
        throw model_error(fmt::format("{}: more than one {} layer", where(net), what));
      }
      found = layer_id(static_cast<layer_id::rep>(i));
    }
  }
  if (!found) throw model_error(fmt::format("{}: no {} layer", where(net), what));
  return *found;
}
}  // namespace

layer_id network::input() const { return unique_layer<input_op>(*this, "input"); }
layer_id network::output() const { return unique_layer<output_op>(*this, "output"); }

std::vector<layer_id> network::consumers(layer_id id) const {
  std::vector<layer_id> out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (layer_id in : layers_[i].inputs) {
      if (in == id) {
        out.emplace_back(static_cast<layer_id::rep>(i));
        break;
      }
    }
  }
  return out;
}

std::vector<layer_id> network::topological_order() const {
  using graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  graph g(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (layer_id in : layers_[i].inputs) {
      if (in.index() >= layers_.size()) {
        throw model_error(fmt::format("{}: layer '{}' reads layer #{}, which does not exist",
                                      where(*this), layers_[i].name, in));
      }
      boost::add_edge(in.index(), i, g);
    }
  }
  std::vector<std::size_t> reversed;
  try {
    boost::topological_sort(g, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    throw model_error(fmt::format("{}: the layer graph has a cycle", where(*this)),
                      "an Eedn network is feed-forward: check the layers' inputs");
  }
  std::vector<layer_id> order;
  order.reserve(reversed.size());
  for (auto it = reversed.rbegin(); it != reversed.rend(); ++it) {
    order.emplace_back(static_cast<layer_id::rep>(*it));
  }
  return order;
}

int fan_in(const network& net, const layer& l) {
  if (const auto* c = std::get_if<conv2d_op>(&l.op)) {
    const auto& in = net[l.inputs.at(0)].shape;
    return c->kernel_h * c->kernel_w * (c->groups > 0 ? in.channels / c->groups : 0);
  }
  if (l.is<dense_op>()) return static_cast<int>(net[l.inputs.at(0)].shape.size());
  if (const auto* p = std::get_if<pool_op>(&l.op)) return p->kernel_h * p->kernel_w;
  return 0;
}

std::uint64_t content_hash(const network& net) {
  std::string bytes;
  auto put = [&](std::int64_t v) { bytes += fmt::format("{},", v); };
  for (const auto& l : net.layers()) {
    bytes += l.name;
    bytes += '|';
    bytes += kind_name(l);
    bytes += '|';
    for (auto in : l.inputs) put(in.value);
    std::visit(overloaded{
                   [&](const input_op& o) {
                     put(o.image.channels), put(o.image.height), put(o.image.width);
                     for (int t : o.encoding.thresholds) put(t);
                   },
                   [&](const conv2d_op& o) {
                     for (int v : {o.out_channels, o.kernel_h, o.kernel_w, o.stride_h, o.stride_w,
                                   o.pad_h, o.pad_w, o.groups})
                       put(v);
                     bytes.append(reinterpret_cast<const char*>(o.weights.data()), o.weights.size());
                   },
                   [&](const dense_op& o) {
                     put(o.out_features);
                     bytes.append(reinterpret_cast<const char*>(o.weights.data()), o.weights.size());
                   },
                   [&](const pool_op& o) {
                     for (int v : {static_cast<int>(o.kind), o.kernel_h, o.kernel_w, o.stride_h,
                                   o.stride_w, o.pad_h, o.pad_w, o.threshold})
                       put(v);
                   },
                   [&](const threshold_op& o) {
                     for (auto t : o.threshold) put(t);
                     for (auto s : o.sign) put(s);
                   },
                   [&](const flatten_op&) {},
                   [&](const concat_op&) {},
                   [&](const output_op& o) {
                     put(o.classes);
                     for (auto c : o.class_of) put(c);
                   },
               },
               l.op);
    bytes += '\n';
  }
  return fnv1a64(bytes);
}

}  // namespace nmc::model
