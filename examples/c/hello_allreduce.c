/* hello_allreduce.c — the smallest tidal program: four ranks as threads of
 * this process, one all-reduce each, results checked.
 * Build: cc hello_allreduce.c $(pkg-config --cflags --libs tidal) -pthread */
#include <pthread.h>
#include <stdio.h>

#include <tidal/local.h>

enum { RANKS = 4, COUNT = 1024 };

struct rank_args {
  tidal_comm_t comm;
  int rank;
  int ok;
};

static void *run_rank(void *p) {
  struct rank_args *a = p;
  float data[COUNT];
  int i;
  for (i = 0; i < COUNT; ++i) data[i] = (float)(a->rank + 1);
  /* In place, blocking (request == NULL). */
  tidal_status_t rc = tidal_all_reduce(data, data, COUNT, TIDAL_F32, TIDAL_SUM, a->comm, NULL);
  a->ok = rc == TIDAL_SUCCESS;
  for (i = 0; a->ok && i < COUNT; ++i) a->ok = data[i] == 1 + 2 + 3 + 4;
  if (rc != TIDAL_SUCCESS) fprintf(stderr, "rank %d: %s\n", a->rank, tidal_last_error());
  return NULL;
}

int main(void) {
  tidal_comm_t comms[RANKS];
  pthread_t threads[RANKS];
  struct rank_args args[RANKS];
  int r, all_ok = 1;
  if (tidal_comm_create_local(RANKS, NULL, comms) != TIDAL_SUCCESS) {
    fprintf(stderr, "create: %s\n", tidal_last_error());
    return 1;
  }
  for (r = 0; r < RANKS; ++r) {
    args[r].comm = comms[r];
    args[r].rank = r;
    pthread_create(&threads[r], NULL, run_rank, &args[r]);
  }
  for (r = 0; r < RANKS; ++r) {
    pthread_join(threads[r], NULL);
    all_ok &= args[r].ok;
    tidal_comm_destroy(comms[r]);
  }
  printf("all_reduce over %d thread ranks: %s\n", RANKS, all_ok ? "ok" : "WRONG");
  return all_ok ? 0 : 1;
}
