// Inline part of state.hpp: the inputs of one neuron, from the model IR.
#pragma once

#include <variant>

namespace nmc::compiler {

template <class F> void for_each_input(const compile_state& s, const unit& u, std::int32_t n, F&& f) {
  if (u.kind == unit_kind::splitter) {
    f(u.split_source[static_cast<std::size_t>(n)], 1);
    return;
  }
  const auto& net = *s.net;
  const model::layer& comp = net[u.compute];
  const model::layer_id in_id = comp.inputs[0];
  const model::tensor_shape& in = net[in_id].shape;
  const auto& src = s.sources[in_id.index()];
  const int c = n / (u.shape.height * u.shape.width);
  const int oy = (n / u.shape.width) % u.shape.height;
  const int ox = n % u.shape.width;
  auto at = [&](int ch, int y, int x) {
    return src[(static_cast<std::size_t>(ch) * in.height + y) * in.width + x];
  };
  if (const auto* p = std::get_if<model::pool_op>(&comp.op)) {
    for (int ky = 0; ky < p->kernel_h; ++ky)
      for (int kx = 0; kx < p->kernel_w; ++kx) {
        const int iy = oy * p->stride_h - p->pad_h + ky, ix = ox * p->stride_w - p->pad_w + kx;
        if (iy >= 0 && ix >= 0 && iy < in.height && ix < in.width) f(at(c, iy, ix), 1);
      }
    return;
  }
  const auto& th = net[u.layer].as<model::threshold_op>();
  const int sign = th.sign[static_cast<std::size_t>(c)];
  if (const auto* cv = std::get_if<model::conv2d_op>(&comp.op)) {
    const int cin_g = in.channels / cv->groups, cout_g = cv->out_channels / cv->groups;
    const int g = c / cout_g;
    std::size_t k = static_cast<std::size_t>(c) * cin_g * cv->kernel_h * cv->kernel_w;
    for (int ci = 0; ci < cin_g; ++ci)
      for (int ky = 0; ky < cv->kernel_h; ++ky)
        for (int kx = 0; kx < cv->kernel_w; ++kx, ++k) {
          const int w = sign * cv->weights[k];
          const int iy = oy * cv->stride_h - cv->pad_h + ky, ix = ox * cv->stride_w - cv->pad_w + kx;
          if (w != 0 && iy >= 0 && ix >= 0 && iy < in.height && ix < in.width)
            f(at(g * cin_g + ci, iy, ix), w);
        }
    return;
  }
  const auto& d = std::get<model::dense_op>(comp.op);
  const auto size = static_cast<std::size_t>(in.size());
  for (std::size_t i = 0; i < size; ++i) {
    const int w = sign * d.weights[static_cast<std::size_t>(c) * size + i];
    if (w != 0) f(src[i], w);
  }
}

}  // namespace nmc::compiler
