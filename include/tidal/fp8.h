/*
 * fp8.h — block-scaled FP8 codecs (OCP E4M3 and E5M2).
 *
 * FP8 alone spans too little range for weights (E4M3: 2^-9 .. 448), so a
 * scaled codec stores each block of `block` consecutive elements as one
 * byte per element plus one f32 scale:
 *
 *   amax    = the largest finite |x| of the block
 *   scale   = amax / FP8_MAX       FP8_MAX: 448 (E4M3), 57344 (E5M2);
 *                                  1 when amax is 0; never below 2^-126;
 *                                  with pow2_scales, rounded up to a
 *                                  power of two (MX style: decoding is
 *                                  then an exact exponent shift)
 *   byte[i] = fp8(x[i] / scale)    round to nearest even; a finite value
 *                                  rounding past FP8_MAX saturates to it;
 *                                  NaN stays NaN; +-inf stays +-inf in
 *                                  E5M2 and becomes NaN in E4M3 (which has
 *                                  no infinity)
 *   x'[i]   = float(byte[i]) * scale, rounded to the output dtype
 *
 * The bytes and scales are those of the reference
 * `(x / scale).astype(ml_dtypes.float8_*)` bit for bit (tested against
 * numpy and ml_dtypes). Relative error per element: at most 2^-4 (E4M3)
 * or 2^-3 (E5M2) of the block's amax above the format's subnormal range.
 *
 * Used by FP8 communication: a tensor list with comm_dtype TIDAL_FP8_E4M3
 * or TIDAL_FP8_E5M2 all-gathers its parameters as one byte per element
 * plus the scales of each rank's block (tidal/bucket.h).
 *
 * Host memory. C99-clean; every function is thread-safe.
 */
#ifndef TIDAL_FP8_H
#define TIDAL_FP8_H

#include "tidal/tidal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_fp8_codec {
  size_t size;          /* sizeof(tidal_fp8_codec_t)                        */
  tidal_dtype_t format; /* TIDAL_FP8_E4M3 (default) or TIDAL_FP8_E5M2        */
  size_t block;         /* elements per scale, >= 1; default 128            */
  int pow2_scales;      /* 1: scales are powers of two; default 0           */
} tidal_fp8_codec_t;

#define TIDAL_FP8_CODEC_INITIALIZER \
  { sizeof(tidal_fp8_codec_t), TIDAL_FP8_E4M3, 128, 0 }

/* Scales an encoding of `count` elements has: ceil(count / block); 0 for
 * block 0. */
size_t tidal_fp8_scale_count(size_t count, size_t block);

/* Encodes src[0, count) (TIDAL_F32, TIDAL_BF16 or TIDAL_F16) into `dst`
 * (count bytes) and `scales` (tidal_fp8_scale_count floats). `codec` may
 * be NULL (the defaults). count 0 does nothing. Errors:
 * TIDAL_ERR_INVALID_ARGUMENT (a NULL buffer with count > 0, block 0, a
 * format that is not FP8, device memory), TIDAL_ERR_UNSUPPORTED (another
 * src_dtype). */
tidal_status_t tidal_fp8_encode(const tidal_fp8_codec_t *codec, const void *src,
                                tidal_dtype_t src_dtype, size_t count, uint8_t *dst,
                                float *scales);

/* Decodes `count` encoded elements (bytes `src`, scales `scales`, as
 * tidal_fp8_encode wrote them with the same codec) into dst (TIDAL_F32,
 * TIDAL_BF16 or TIDAL_F16). Same errors. */
tidal_status_t tidal_fp8_decode(const tidal_fp8_codec_t *codec, const uint8_t *src,
                                const float *scales, size_t count, void *dst,
                                tidal_dtype_t dst_dtype);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_FP8_H */
