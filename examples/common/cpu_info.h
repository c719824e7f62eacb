// What a benchmark figure was measured on: the CPU's model name and the vector ISA, both the
// widest one this binary was compiled for and the widest one the CPU has. Every benchmark prints
// cpu_line() first, so no figure travels without its machine (a Zen 3 and a Zen 4 EPYC are both
// "AMD EPYC" but differ 2-5x on the float kernels, which only AVX-512 runs fully vectorized).
#pragma once
#include <string>

namespace dl {

std::string cpu_model_name();  // /proc/cpuinfo's "model name" (and family / model numbers)
std::string compiled_isa();     // "AVX-512", "AVX2+FMA", "AVX", "SSE2" or "scalar" (-march)
std::string cpu_isa();          // the same scale, for what this CPU supports

// "# cpu: AMD EPYC (family 25 model 17); vector ISA: built for AVX-512, CPU has AVX-512"
std::string cpu_line();

}  // namespace dl
