#include "lib/transport/mpi/mpi_types.h"

#include <mutex>

#include "lib/core/reduce.h"

namespace tidal {
namespace {

struct Tables {
  MPI_Datatype types[TIDAL_DTYPE_COUNT];
  MPI_Op user_ops[TIDAL_OP_COUNT];
};

// Our types are the only ones user ops see: find which one `t` is.
tidal_dtype_t dtype_of(MPI_Datatype t);

template <tidal_op_t Op>
void user_op(void* in, void* inout, int* len, MPI_Datatype* type) {
  reduce_into(inout, in, static_cast<size_t>(*len), dtype_of(*type), Op);
}

// Frees the types and ops when MPI finalises (MPI deletes MPI_COMM_SELF's
// attributes first thing in MPI_Finalize), so MPICH reports no leaked
// handles.
int free_tables(MPI_Comm, int, void* attr, void*) {
  auto* t = static_cast<Tables*>(attr);
  const tidal_dtype_t narrow[] = {TIDAL_F16, TIDAL_BF16, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2};
  for (tidal_dtype_t d : narrow) MPI_Type_free(&t->types[d]);
  for (int op : {TIDAL_SUM, TIDAL_PROD, TIDAL_MAX, TIDAL_MIN}) MPI_Op_free(&t->user_ops[op]);
  return MPI_SUCCESS;
}

Tables& tables() {
  static Tables t;
  static std::once_flag once;
  std::call_once(once, [] {
    t.types[TIDAL_F32] = MPI_FLOAT;
    t.types[TIDAL_F64] = MPI_DOUBLE;
    t.types[TIDAL_I32] = MPI_INT32_T;
    t.types[TIDAL_I64] = MPI_INT64_T;
    t.types[TIDAL_U8] = MPI_UINT8_T;
    const tidal_dtype_t narrow[] = {TIDAL_F16, TIDAL_BF16, TIDAL_FP8_E4M3, TIDAL_FP8_E5M2};
    for (tidal_dtype_t d : narrow) {
      MPI_Datatype base = (d == TIDAL_F16 || d == TIDAL_BF16) ? MPI_UINT16_T : MPI_UINT8_T;
      MPI_Type_contiguous(1, base, &t.types[d]);
      MPI_Type_commit(&t.types[d]);
    }
    MPI_Op_create(&user_op<TIDAL_SUM>, 1, &t.user_ops[TIDAL_SUM]);
    MPI_Op_create(&user_op<TIDAL_PROD>, 1, &t.user_ops[TIDAL_PROD]);
    MPI_Op_create(&user_op<TIDAL_MAX>, 1, &t.user_ops[TIDAL_MAX]);
    MPI_Op_create(&user_op<TIDAL_MIN>, 1, &t.user_ops[TIDAL_MIN]);
    t.user_ops[TIDAL_AVG] = t.user_ops[TIDAL_SUM];
    int key = MPI_KEYVAL_INVALID;
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, &free_tables, &key, nullptr);
    MPI_Comm_set_attr(MPI_COMM_SELF, key, &t);
  });
  return t;
}

tidal_dtype_t dtype_of(MPI_Datatype type) {
  Tables& t = tables();
  for (int d = 0; d < TIDAL_DTYPE_COUNT; ++d) {
    if (t.types[d] == type) return static_cast<tidal_dtype_t>(d);
  }
  return TIDAL_U8;
}

}  // namespace

MPI_Datatype mpi_datatype(tidal_dtype_t dtype) { return tables().types[dtype]; }

MPI_Op mpi_op(tidal_dtype_t dtype, tidal_op_t op) {
  const bool native = dtype == TIDAL_F32 || dtype == TIDAL_F64 || dtype == TIDAL_I32 ||
                      dtype == TIDAL_I64 || dtype == TIDAL_U8;
  if (!native) return tables().user_ops[op];
  switch (op) {
    case TIDAL_PROD: return MPI_PROD;
    case TIDAL_MAX: return MPI_MAX;
    case TIDAL_MIN: return MPI_MIN;
    default: return MPI_SUM;
  }
}

}  // namespace tidal
