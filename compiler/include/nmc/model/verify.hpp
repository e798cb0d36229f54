#pragma once
// The IR verifier: infers every layer's output shape and value kind, then checks
// graph structure, shapes, weight values, thresholds, encodings and the class
// readout. Every problem is reported with a stable code (tests assert on it), the
// layer's name, a message that gives the numbers, and a hint.

#include <string>
#include <vector>

#include <nmc/model/network.hpp>

namespace nmc::model {

struct diagnostic {
  std::string code;     // stable identifier, e.g. "weights.value"
  std::string layer;    // layer name, empty for network-level problems
  std::string message;  // what and where, with the numbers
  std::string hint;     // how to fix it
};

// Fills layer::shape and layer::value for every layer it can and returns every
// problem found (empty: the network is well formed). Layers downstream of a
// broken layer are not checked further, to avoid cascades of follow-up errors.
std::vector<diagnostic> verify(network& net);

// Runs verify() and throws model_error listing every problem if there is one.
void check(network& net);

}  // namespace nmc::model
