/* Uses the installed tidal: one thread drives four local ranks. */
#include <stdio.h>

#include <tidal/local.h>
#include <tidal/tidal.h>

int main(void) {
  enum { N = 4 };
  tidal_comm_t comms[N];
  tidal_request_t reqs[N];
  int value[N], gathered[N][N], r, i, bad = 0;
  if (tidal_comm_create_local(N, NULL, comms) != TIDAL_SUCCESS) {
    fprintf(stderr, "create: %s\n", tidal_last_error());
    return 1;
  }
  for (r = 0; r < N; ++r) {
    value[r] = 100 + r;
    tidal_all_gather(&value[r], gathered[r], 1, TIDAL_I32, comms[r], &reqs[r]);
  }
  if (tidal_wait_all(N, reqs) != TIDAL_SUCCESS) bad = 1;
  for (r = 0; r < N; ++r) {
    for (i = 0; i < N; ++i) bad |= gathered[r][i] != 100 + i;
    tidal_request_free(reqs[r]);
    tidal_comm_destroy(comms[r]);
  }
  printf("consumer: tidal %s all_gather %s\n", TIDAL_VERSION_STRING, bad ? "WRONG" : "ok");
  return bad;
}
