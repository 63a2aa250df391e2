/*
 * local.h — the local backend: ranks are threads of one process that share
 * memory. It needs no launcher; it is tidal's embedded default and the test
 * bed for up to 64 ranks (more work too, slowly on few cores).
 */
#ifndef TIDAL_LOCAL_H
#define TIDAL_LOCAL_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates `nranks` communicators that form one group: comms[r] is rank r.
 * Drive each from its own thread, or from one thread with non-blocking
 * requests (each communicator has its own progress thread). `comms` must
 * hold nranks entries; on error none is created. `config` may be NULL.
 * Returns TIDAL_ERR_INVALID_ARGUMENT for nranks < 1 or > 4096. */
tidal_status_t tidal_comm_create_local(int nranks,
                                       const tidal_config_t *config,
                                       tidal_comm_t *comms);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_LOCAL_H */
