// Eedn model IR -> target-neutral netlist (see netlist.hpp).

#include <nmc/compiler/netlist.hpp>

#include <cmath>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::compiler {

using namespace nmc::model;

netlist netlist_from_model(const network& net, const std::string& model_text) {
  netlist nl;
  nl.mode = hw::dn_mode::frames;
  nl.model_hash = content_hash(net);
  nl.model_name = net.name;
  nl.model_text = model_text;
  nl.source = net.source;
  // Per binary layer: flattened element -> netlist neuron.
  std::vector<std::vector<std::uint32_t>> src(net.size());
  for (layer_id id : net.topological_order()) {
    const layer& l = net[id];
    auto& out = src[id.index()];
    if (l.value != value_kind::binary || l.is<output_op>()) continue;
    const auto size = static_cast<std::size_t>(l.shape.size());
    const int H = l.shape.height, W = l.shape.width;
    auto add_neuron = [&](std::size_t i, std::int32_t thr) {
      net_neuron n;
      n.threshold = thr;
      n.leak = hw::leak_kind::reset;
      n.charge_min = -(1 << 30);  // no floor: the grid clamps to its charge width
      n.group = static_cast<std::uint32_t>(nl.groups.size() - 1);
      n.channel = static_cast<std::uint32_t>(i / static_cast<std::size_t>(H * W));
      n.fy = (static_cast<float>((i / static_cast<std::size_t>(W)) % static_cast<std::size_t>(H)) + 0.5f) / static_cast<float>(H);
      n.fx = (static_cast<float>(i % static_cast<std::size_t>(W)) + 0.5f) / static_cast<float>(W);
      out.push_back(static_cast<std::uint32_t>(nl.neurons.size()));
      nl.neurons.push_back(n);
    };
    if (const auto* in = std::get_if<input_op>(&l.op)) {
      nl.groups.push_back(l.name);
      nl.image_channels = static_cast<std::uint32_t>(in->image.channels);
      nl.image_height = static_cast<std::uint32_t>(in->image.height);
      nl.image_width = static_cast<std::uint32_t>(in->image.width);
      nl.thermometer.assign(in->encoding.thresholds.begin(), in->encoding.thresholds.end());
      for (std::size_t i = 0; i < size; ++i) {
        add_neuron(i, 1);
        nl.inputs.push_back(out.back());
      }
    } else if (l.is<flatten_op>()) {
      out = src[l.inputs[0].index()];
    } else if (l.is<concat_op>()) {
      for (layer_id li : l.inputs) out.insert(out.end(), src[li.index()].begin(), src[li.index()].end());
    } else if (const auto* p = std::get_if<pool_op>(&l.op)) {
      nl.groups.push_back(l.name);
      const auto& s = src[l.inputs[0].index()];
      const auto& ish = net[l.inputs[0]].shape;
      for (std::size_t i = 0; i < size; ++i) {
        add_neuron(i, p->threshold);
        const int c = static_cast<int>(i) / (H * W), oy = (static_cast<int>(i) / W) % H, ox = static_cast<int>(i) % W;
        for (int ky = 0; ky < p->kernel_h; ++ky)
          for (int kx = 0; kx < p->kernel_w; ++kx) {
            const int iy = oy * p->stride_h - p->pad_h + ky, ix = ox * p->stride_w - p->pad_w + kx;
            if (iy >= 0 && ix >= 0 && iy < ish.height && ix < ish.width)
              nl.edges.push_back({s[(static_cast<std::size_t>(c) * ish.height + iy) * ish.width + ix], out.back(), 1, 0});
          }
      }
    } else if (const auto* th = std::get_if<threshold_op>(&l.op)) {
      const layer& comp = net[l.inputs[0]];
      nl.groups.push_back(comp.name);
      const auto& s = src[comp.inputs[0].index()];
      const auto& ish = net[comp.inputs[0]].shape;
      for (std::size_t i = 0; i < size; ++i) {
        const int c = static_cast<int>(i) / (H * W), oy = (static_cast<int>(i) / W) % H, ox = static_cast<int>(i) % W;
        add_neuron(i, th->threshold[static_cast<std::size_t>(c)]);
        const int sign = th->sign[static_cast<std::size_t>(c)];
        if (const auto* cv = std::get_if<conv2d_op>(&comp.op)) {
          const int cin_g = ish.channels / cv->groups, cout_g = cv->out_channels / cv->groups, g = c / cout_g;
          std::size_t k = static_cast<std::size_t>(c) * cin_g * cv->kernel_h * cv->kernel_w;
          for (int ci = 0; ci < cin_g; ++ci)
            for (int ky = 0; ky < cv->kernel_h; ++ky)
              for (int kx = 0; kx < cv->kernel_w; ++kx, ++k) {
                const int w = sign * cv->weights[k];
                const int iy = oy * cv->stride_h - cv->pad_h + ky, ix = ox * cv->stride_w - cv->pad_w + kx;
                if (w != 0 && iy >= 0 && ix >= 0 && iy < ish.height && ix < ish.width)
                  nl.edges.push_back({s[(static_cast<std::size_t>(g * cin_g + ci) * ish.height + iy) * ish.width + ix],
                                      out.back(), w, 0});
              }
        } else {
          const auto& d = comp.as<dense_op>();
          const auto isize = static_cast<std::size_t>(ish.size());
          for (std::size_t j = 0; j < isize; ++j) {
            const int w = sign * d.weights[static_cast<std::size_t>(c) * isize + j];
            if (w != 0) nl.edges.push_back({s[j], out.back(), w, 0});
          }
        }
      }
    }
    // conv2d/dense layers own no neurons: their threshold layer does.
  }
  const layer& o = net[net.output()];
  const auto& oo = o.as<output_op>();
  nl.classes = static_cast<std::uint32_t>(oo.classes);
  const auto& s = src[o.inputs[0].index()];
  for (std::size_t i = 0; i < oo.class_of.size(); ++i) {
    if (oo.class_of[i] < 0) continue;
    nl.outputs.push_back(s[i]);
    nl.output_class.push_back(oo.class_of[i]);
  }
  return nl;
}

hw::dn_program program_header(const netlist& nl, const hw::danna_target& target, const std::string& target_text) {
  hw::dn_program p;
  p.mode = nl.mode;
  p.model_hash = nl.model_hash;
  p.model_name = nl.model_name;
  p.model_text = nl.model_text;
  p.target_text = target_text;
  p.target = target;
  p.image_channels = nl.image_channels;
  p.image_height = nl.image_height;
  p.image_width = nl.image_width;
  p.thermometer = nl.thermometer;
  p.classes = nl.classes;
  p.layers = nl.groups;
  if (p.layers.empty()) p.layers.push_back("network");
  return p;
}

void renumber_ports(netlist& nl, const std::vector<std::uint32_t>& id) {
  for (auto& x : nl.inputs) x = id[x];
  for (auto& x : nl.outputs) x = id[x];
  for (auto& c : nl.crossbars) {
    for (auto& x : c.rows) x = id[x];
    for (auto& x : c.cols) x = id[x];
  }
}

}  // namespace nmc::compiler
