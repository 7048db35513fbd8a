#ifndef PARD_CFFMPEG_SHIM_H
#define PARD_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/imgutils.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>
#include <libavutil/log.h>
#include <errno.h>

// Macros Swift cannot see, as functions.
static inline int pard_averror(int e) { return AVERROR(e); }
static inline int pard_averror_eof(void) { return AVERROR_EOF; }
static inline int64_t pard_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int pard_averror_exit(void) { return AVERROR_EXIT; }
static inline int pard_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int pard_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int pard_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
#endif
