#pragma once
// TENNLab network JSON (the open framework's format, RISP processor) into the
// target-neutral netlist of the grid compiler.
//
// Read: "Properties" (node property "Threshold", optional "Leak"; edge
// properties "Weight" and "Delay", each at its "index" in "values"),
// "Nodes" (id, values), "Edges" (from, to, values), "Inputs", "Outputs", and
// from "Associated_Data"/"proc_params": leak_mode (none | all | configurable),
// min_potential, threshold_inclusive, discrete. RISP semantics: a neuron adds
// the weights arriving in a time step, clamps at min_potential, fires if
// charge >= threshold (> when threshold_inclusive is false) and resets to 0;
// with leak the charge is cleared after every step; a spike reaches its
// target delay >= 1 steps later. Values must be integers (discrete networks).

#include <filesystem>
#include <string>

#include <nmc/compiler/netlist.hpp>

namespace nmc::convert {

// Throws model_error naming the file, the node or edge, the problem and a fix.
compiler::netlist parse_tennlab(const std::string& text, const std::string& source);
compiler::netlist read_tennlab(const std::filesystem::path& path);

}  // namespace nmc::convert
