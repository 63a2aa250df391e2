# Build options. Each backend is ON when its dependency is found; say OFF
# to leave it out.
option(TIDAL_BUILD_TESTS "Build the tests" ON)
option(TIDAL_BUILD_BENCH "Build the perf tools and micro-benchmarks" ON)
option(TIDAL_BUILD_EXAMPLES "Build the examples" ON)
set(TIDAL_WITH_MPI "AUTO" CACHE STRING "MPI backend (MPICH): AUTO, ON or OFF")
set(TIDAL_WITH_UCX "AUTO" CACHE STRING "UCX backend: AUTO, ON or OFF")
set(TIDAL_WITH_CUDA "AUTO" CACHE STRING "NCCL backend and CUDA kernels: AUTO, ON or OFF")
set(TIDAL_SANITIZE "" CACHE STRING
    "Sanitizers: address,undefined or thread (empty for none)")
set(TIDAL_CUDA_ARCHITECTURES "90" CACHE STRING
    "CUDA architectures (90 = sm_90 code plus compute_90 PTX for newer GPUs)")

find_program(TIDAL_CCACHE ccache)
if(TIDAL_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${TIDAL_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${TIDAL_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${TIDAL_CCACHE})
endif()

if(TIDAL_SANITIZE)
  set(_san "-fsanitize=${TIDAL_SANITIZE}" -fno-omit-frame-pointer)
  if(TIDAL_SANITIZE MATCHES "undefined")
    list(APPEND _san -fno-sanitize-recover=undefined)
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${_san}>")
  add_link_options(-fsanitize=${TIDAL_SANITIZE})
endif()

add_library(tidal_warnings INTERFACE)
target_compile_options(tidal_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-missing-field-initializers>)
