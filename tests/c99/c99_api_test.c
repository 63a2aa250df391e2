/* C99 check: every public header compiles as C99 with -pedantic -Werror,
 * and the core API is callable from C. One thread drives two local ranks
 * through non-blocking requests. */
#include <stdio.h>
#include <string.h>

#include "all_headers.h"

static int check(tidal_status_t rc, const char *what) {
  if (rc != TIDAL_SUCCESS) {
    fprintf(stderr, "%s: %s (%s)\n", what, tidal_status_string(rc), tidal_last_error());
    return 1;
  }
  return 0;
}

int main(void) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  tidal_comm_t comms[2];
  tidal_request_t reqs[2];
  float in[2][4] = {{1, 2, 3, 4}, {10, 20, 30, 40}};
  float out[2][4];
  int r, i, failed = 0;

  config.timeout_s = 30.0;
  if (check(tidal_comm_create_local(2, &config, comms), "create")) return 1;
  for (r = 0; r < 2; ++r) {
    failed |= check(tidal_all_reduce(in[r], out[r], 4, TIDAL_F32, TIDAL_SUM, comms[r], &reqs[r]),
                    "all_reduce");
  }
  failed |= check(tidal_wait_all(2, reqs), "wait_all");
  for (r = 0; r < 2; ++r) {
    for (i = 0; i < 4; ++i) {
      if (out[r][i] != in[0][i] + in[1][i]) {
        fprintf(stderr, "rank %d element %d: %g\n", r, i, out[r][i]);
        failed = 1;
      }
    }
    tidal_request_free(reqs[r]);
  }
  /* An error path from C: unknown dtype. */
  if (tidal_all_reduce(in[0], out[0], 4, (tidal_dtype_t)99, TIDAL_SUM, comms[0], NULL) !=
          TIDAL_ERR_INVALID_ARGUMENT ||
      strstr(tidal_last_error(), "unknown dtype") == NULL) {
    fprintf(stderr, "bad dtype not reported: %s\n", tidal_last_error());
    failed = 1;
  }
  { /* The FP8 codec from C: 448 and 1 at scale 1 come back exactly. */
    tidal_fp8_codec_t codec = TIDAL_FP8_CODEC_INITIALIZER;
    float x[2] = {448.0f, 1.0f}, y[2], scale;
    uint8_t q[2];
    failed |= check(tidal_fp8_encode(&codec, x, TIDAL_F32, 2, q, &scale), "fp8_encode");
    failed |= check(tidal_fp8_decode(&codec, q, &scale, 2, y, TIDAL_F32), "fp8_decode");
    if (y[0] != x[0] || y[1] != x[1] || tidal_fp8_scale_count(2, codec.block) != 1) {
      fprintf(stderr, "fp8 round trip: %g %g\n", y[0], y[1]);
      failed = 1;
    }
  }
  for (r = 0; r < 2; ++r) failed |= check(tidal_comm_destroy(comms[r]), "destroy");
  printf("c99 API check: %s (tidal %s)\n", failed ? "FAILED" : "ok", TIDAL_VERSION_STRING);
  return failed;
}
