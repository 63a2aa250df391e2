// mpi_types.h — tidal dtypes and reduce ops as MPI datatypes and ops.
// f32/f64/i32/i64/u8 map to MPI's own types and, for sum/prod/max/min, to
// MPI's own ops. f16, bf16 and the FP8 types travel as distinct 1- or
// 2-byte types and reduce through user ops that call tidal's kernels.
#pragma once

#include <mpi.h>

#include "tidal/tidal.h"

namespace tidal {

// Initialises the types and ops once per process (thread-safe).
MPI_Datatype mpi_datatype(tidal_dtype_t dtype);
// The op for (dtype, op); TIDAL_AVG maps to the sum op (divide after).
MPI_Op mpi_op(tidal_dtype_t dtype, tidal_op_t op);

}  // namespace tidal
