// cpu_kernels.h — which host kernels run for 16-bit floats: the CPU's own
// conversion instructions where it has them (AVX512-BF16, F16C: the
// default), or the portable loops everywhere (TIDAL_CPU_KERNELS=portable).
// Both give the same bits; the switch is there to measure one against the
// other, and so that one machine's tests cover both paths.
#pragma once

namespace tidal {

// True under TIDAL_CPU_KERNELS=portable (read once; "native", the default,
// or unset: false; any other value: false, with a warning) or after
// set_portable_cpu_kernels(true).
bool portable_cpu_kernels();

// Overrides the environment for the rest of the process (tests, benchmarks).
void set_portable_cpu_kernels(bool portable);

}  // namespace tidal
