// validate: checks that the model fits the Eedn use of a TrueNorth core
// (docs/HARDWARE.md 1.3) and prepares the units.
//
// Every binary tensor element is resolved to the neuron or input bit that
// produces it (flatten and concat are only re-indexings, they own no neurons).
// Each conv/dense layer with its threshold layer becomes a weighted unit, each
// pooling layer a pool unit. Fan-in: a weighted neuron sums at most axons/2
// distinct inputs (one +/- axon pair each), a pooling neuron at most `axons`.
// Thresholds fold into the leak: spike iff sum + lambda >= alpha = 1, so
// lambda = 1 - threshold, which must fit the target's leak range.

#include <fmt/format.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>

namespace nmc::compiler {

using namespace nmc::model;

void validate_pass(compile_state& s) {
  const network& net = *s.net;
  const auto& t = s.target;
  const std::string where = net.source.empty() ? fmt::format("model '{}'", net.name) : net.source;
  s.sources.assign(net.size(), {});
  s.units.clear();
  for (layer_id id : net.topological_order()) {
    const layer& l = net[id];
    auto& out = s.sources[id.index()];
    if (l.value != value_kind::binary || l.is<output_op>()) continue;
    const auto size = static_cast<std::size_t>(l.shape.size());
    if (l.is<input_op>()) {
      for (std::size_t i = 0; i < size; ++i) out.push_back({-1, static_cast<std::int32_t>(i)});
    } else if (l.is<flatten_op>()) {
      out = s.sources[l.inputs[0].index()];
    } else if (l.is<concat_op>()) {
      const int hw = l.shape.height * l.shape.width;
      for (layer_id in : l.inputs) {
        const auto& src = s.sources[in.index()];
        out.insert(out.end(), src.begin(), src.begin() + static_cast<std::ptrdiff_t>(net[in].shape.channels) * hw);
      }
    } else {
      unit u;
      u.layer = id;
      u.shape = l.shape;
      if (const auto* p = std::get_if<pool_op>(&l.op)) {
        u.kind = unit_kind::pool;
        u.compute = id;
        u.name = l.name;
        u.axons_per_input = 1;
        const int area = p->kernel_h * p->kernel_w;
        if (area > t.axons) {
          throw fit_error(fmt::format("{}: layer '{}' (pool): a {}x{} window has {} inputs, a core has "
                                      "{} axons", where, l.name, p->kernel_h, p->kernel_w, area, t.axons),
                          "use a smaller pooling window");
        }
        if (1 - p->threshold < t.leak_min) {
          throw fit_error(fmt::format("{}: layer '{}': pool threshold {} needs leak {}, below the "
                                      "target's minimum {}", where, l.name, p->threshold, 1 - p->threshold, t.leak_min),
                          "use a smaller pooling window or threshold");
        }
      } else {
        u.kind = unit_kind::weighted;
        u.compute = l.inputs[0];
        const layer& comp = net[u.compute];
        u.name = comp.name;
        const int fan = fan_in(net, comp);
        if (2 * fan > t.axons) {
          const std::string shape =
              comp.is<conv2d_op>()
                  ? fmt::format("kernel {}x{} x {} input channels per group", comp.as<conv2d_op>().kernel_h,
                                comp.as<conv2d_op>().kernel_w, net[comp.inputs[0]].shape.channels / comp.as<conv2d_op>().groups)
                  : fmt::format("{} inputs", fan);
          throw fit_error(
              fmt::format("{}: layer '{}' ({}): each neuron sums {} inputs ({}), but a core has {} axons "
                          "= {} input pairs", where, comp.name, kind_name(comp), fan, shape, t.axons, t.axons / 2),
              comp.is<conv2d_op>() ? "use more groups or a smaller kernel so that kh * kw * C_in / groups <= 128"
                                   : "split the dense layer into groups, or pool the input first");
        }
        const auto& th = l.as<threshold_op>();
        for (std::size_t c = 0; c < th.threshold.size(); ++c) {
          const int leak = 1 - th.threshold[c];
          if (leak < t.leak_min || leak > t.leak_max) {
            throw fit_error(fmt::format("{}: layer '{}': channel {} has threshold {}, i.e. leak {}, outside "
                                        "the target's leak range {}..{}", where, l.name, c, th.threshold[c], leak,
                                        t.leak_min, t.leak_max),
                            "retrain with smaller fan-in or clamp the threshold");
          }
        }
      }
      const auto index = static_cast<std::int32_t>(s.units.size());
      for (std::size_t i = 0; i < size; ++i) out.push_back({index, static_cast<std::int32_t>(i)});
      s.units.push_back(std::move(u));
    }
  }
  s.order.clear();
  for (std::size_t u = 0; u < s.units.size(); ++u) s.order.push_back(static_cast<std::int32_t>(u));

  // Output ports: one per voting neuron of the layer the output layer reads.
  const layer& out = net[net.output()];
  const auto& o = out.as<output_op>();
  const auto& src = s.sources[out.inputs[0].index()];
  s.port_source.clear();
  s.port_class.clear();
  for (std::size_t i = 0; i < o.class_of.size(); ++i) {
    if (o.class_of[i] < 0) continue;
    if (src[i].unit < 0) {
      throw fit_error(fmt::format("{}: layer '{}' reads the input directly: there are no neurons to "
                                  "send class spikes off chip", where, out.name),
                      "put at least one conv2d/dense or pooling layer before the output layer");
    }
    s.port_source.push_back(src[i]);
    s.port_class.push_back(o.class_of[i]);
  }
  if (s.port_source.size() > 65535) {
    throw fit_error(fmt::format("{}: {} output neurons, more than the 65535 output ports of a program",
                                where, s.port_source.size()), "use fewer neurons per class");
  }
}

}  // namespace nmc::compiler
