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
#include <stdarg.h>
#include <stddef.h>

// Macros Swift cannot see, as functions.
static inline int pard_averror(int e) { return AVERROR(e); }
static inline int pard_averror_eof(void) { return AVERROR_EOF; }
static inline int64_t pard_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int pard_averror_exit(void) { return AVERROR_EXIT; }
static inline int pard_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int pard_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int pard_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }

// get_buffer2 that refuses (AVERROR(ERANGE)) a frame of more than (intptr_t)context->opaque pixels
// before it is allocated. Unlike FFmpeg's max_pixels, which resets the size to 0x0, it leaves the
// refused size in context->width and height, for the error message.
static inline int pard_get_buffer_limited(AVCodecContext *context, AVFrame *frame, int flags) {
    int64_t limit = (int64_t)(intptr_t)context->opaque;
    if (limit > 0 && (int64_t)frame->width * frame->height > limit) return AVERROR(ERANGE);
    return avcodec_default_get_buffer2(context, frame, flags);
}

// Makes a decoder refuse frames of more than max_pixels pixels (uses context->opaque and get_buffer2).
static inline void pard_limit_frame_pixels(AVCodecContext *context, int64_t max_pixels) {
    context->opaque = (void *)(intptr_t)max_pixels;
    context->get_buffer2 = pard_get_buffer_limited;
#if LIBAVCODEC_VERSION_MAJOR < 60
    // pard_get_buffer_limited only reads the context: it may run on the decoder's frame threads. (From
    // libavcodec 60 on, every get_buffer2 is taken as thread-safe and the field is gone.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    context->thread_safe_callbacks = 1;
#pragma GCC diagnostic pop
#endif
}

// FFmpeg's log, routed to one function of pard's (see FFmpegLog in PardVideo). av_log_set_callback
// wants a C function taking a va_list, which Swift cannot write: this one filters by av_log_get_level,
// formats the message (no "[png @ 0x...]" prefix) and hands (level, component, text) to the sink.
// `component` is the logging context's item name ("png", "h264", "mov,mp4,m4a,3gp,3g2,mj2") or NULL.
typedef void (*pard_log_sink)(int level, const char *component, const char *text);

// One per module that includes this header; only PardVideo sets and uses it.
static pard_log_sink pard_current_log_sink = NULL;

static inline void pard_log_callback(void *context, int level, const char *format, va_list arguments) {
    pard_log_sink sink = pard_current_log_sink;
    if (sink == NULL || level > av_log_get_level()) return;
    char text[1024];
    int print_prefix = 0;
    if (av_log_format_line2(context, level, format, arguments, text, (int)sizeof text, &print_prefix) < 0) return;
    const char *component = NULL;
    AVClass *cls = context ? *(AVClass **)context : NULL;
    if (cls != NULL) component = cls->item_name ? cls->item_name(context) : cls->class_name;
    sink(level, component, text);
}

// Sends FFmpeg's log to `sink` (NULL: back to FFmpeg's own printing on stderr).
static inline void pard_set_log_sink(pard_log_sink sink) {
    pard_current_log_sink = sink;
    av_log_set_callback(sink != NULL ? pard_log_callback : av_log_default_callback);
}
#endif
