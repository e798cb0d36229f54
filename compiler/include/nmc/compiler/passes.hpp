#pragma once
// The TrueNorth compiler passes, in pipeline order. Each is one function in its
// own file (compiler/src/passes/), documented there.

#include <nmc/compiler/state.hpp>

namespace nmc::compiler {

void validate_pass(compile_state& s);   // Eedn constraints, units, sources, output ports
void partition_pass(compile_state& s);  // units -> logical cores (tiles), splitters, fan-out
void timing_pass(compile_state& s);     // unit times, delays, input offsets, latency
void place_pass(compile_state& s);      // logical cores -> (chip, x, y)
void route_pass(compile_state& s);      // hops, chip crossings, reach
void emit_pass(compile_state& s);       // the tn_program

}  // namespace nmc::compiler
