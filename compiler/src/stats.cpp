#include <nmc/model/stats.hpp>

namespace nmc::model {

namespace {
void histogram(const std::vector<std::int8_t>& w, layer_stats& s) {
  for (auto v : w) ++s.weights[static_cast<std::size_t>(v + 1)];
}
}  // namespace

network_stats compute_stats(const network& net) {
  network_stats total;
  for (const auto& l : net.layers()) {
    layer_stats s;
    s.name = l.name;
    s.kind = std::string(kind_name(l));
    for (auto in : l.inputs) s.inputs.push_back(net[in].name);
    s.shape = l.shape;
    s.value = l.value;
    s.fan_in = fan_in(net, l);
    if (const auto* c = std::get_if<conv2d_op>(&l.op)) {
      s.neurons = l.shape.size();
      histogram(c->weights, s);
      s.parameters = static_cast<std::int64_t>(c->weights.size());
      s.synapses = (s.weights[0] + s.weights[2]) * l.shape.height * l.shape.width;
    } else if (const auto* d = std::get_if<dense_op>(&l.op)) {
      s.neurons = l.shape.size();
      histogram(d->weights, s);
      s.parameters = static_cast<std::int64_t>(d->weights.size());
      s.synapses = s.weights[0] + s.weights[2];
    } else if (l.is<pool_op>()) {
      s.neurons = l.shape.size();
      s.synapses = s.neurons * s.fan_in;
    } else if (const auto* t = std::get_if<threshold_op>(&l.op)) {
      s.parameters = static_cast<std::int64_t>(t->threshold.size());
    }
    total.neurons += s.neurons;
    total.parameters += s.parameters;
    total.synapses += s.synapses;
    for (std::size_t k = 0; k < 3; ++k) total.weights[k] += s.weights[k];
    total.layers.push_back(std::move(s));
  }
  return total;
}

}  // namespace nmc::model
