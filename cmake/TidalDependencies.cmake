# Finds what tidal builds on. Every dependency is a Debian package
# (scripts/install-deps.sh installs them); CUDA and NCCL come from the CUDA
# toolkit when it is present.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)

# A backend option: AUTO → ON when found; ON → required.
macro(tidal_backend name found)
  if(TIDAL_WITH_${name} STREQUAL "AUTO")
    set(TIDAL_HAVE_${name} ${${found}})
  elseif(TIDAL_WITH_${name})
    if(NOT ${found})
      message(FATAL_ERROR "TIDAL_WITH_${name}=ON but its dependency was not found")
    endif()
    set(TIDAL_HAVE_${name} 1)
  else()
    set(TIDAL_HAVE_${name} 0)
  endif()
  if(TIDAL_HAVE_${name})
    set(TIDAL_HAVE_${name} 1)
  else()
    set(TIDAL_HAVE_${name} 0)
  endif()
endmacro()

# MPI: prefer MPICH's wrapper when several MPIs are installed.
set(_mpi_found 0)
if(NOT TIDAL_WITH_MPI STREQUAL "OFF")
  if(EXISTS /usr/bin/mpicc.mpich AND NOT MPI_C_COMPILER)
    set(MPI_C_COMPILER /usr/bin/mpicc.mpich)
    set(MPI_CXX_COMPILER /usr/bin/mpicxx.mpich)
    set(MPIEXEC_EXECUTABLE /usr/bin/mpiexec.mpich)
  endif()
  find_package(MPI COMPONENTS C)
  if(MPI_C_FOUND)
    set(_mpi_found 1)
  endif()
endif()
tidal_backend(MPI _mpi_found)

set(_ucx_found 0)
if(NOT TIDAL_WITH_UCX STREQUAL "OFF")
  find_package(PkgConfig)
  if(PkgConfig_FOUND)
    pkg_check_modules(UCX IMPORTED_TARGET ucx)
    if(UCX_FOUND)
      set(_ucx_found 1)
    endif()
  endif()
endif()
tidal_backend(UCX _ucx_found)

set(_cuda_found 0)
if(NOT TIDAL_WITH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit)
    # NCCL_HOME (or NCCL_ROOT) names an NCCL outside the toolkit, e.g. the
    # nvidia-nccl wheel's folder, which holds only libnccl.so.2.
    set(_nccl_hints $ENV{NCCL_HOME} $ENV{NCCL_ROOT})
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} ${CUDAToolkit_INCLUDE_DIRS}
              PATH_SUFFIXES include)
    find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR HINTS ${_nccl_hints}
                 ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
    if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
      set(_cuda_found 1)
    endif()
  endif()
endif()
tidal_backend(CUDA _cuda_found)
if(TIDAL_HAVE_CUDA)
  set(CMAKE_CUDA_ARCHITECTURES ${TIDAL_CUDA_ARCHITECTURES})
  set(CMAKE_CUDA_STANDARD 17)
  enable_language(CUDA)
  add_library(tidal_nccl INTERFACE)
  target_include_directories(tidal_nccl INTERFACE ${NCCL_INCLUDE_DIR})
  target_link_libraries(tidal_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
endif()

# Test and tool dependencies.
if(TIDAL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(TIDAL_BUILD_BENCH)
  find_package(benchmark QUIET)
  find_package(CLI11 QUIET)
  find_package(nlohmann_json QUIET)
endif()

# A python that imports torch (Debian's python3-torch lives in the system
# python) for the PyTorch example and the DDP comparison; their tests exit
# 77 (skipped) where torch is missing.
set(TIDAL_TORCH_PYTHON /usr/bin/python3 CACHE FILEPATH
    "A python that imports torch, for examples/python and bench/torch")
