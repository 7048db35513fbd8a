import COneDNN
import Foundation

/// One-thread executions: a primitive run on the calling thread with a scratchpad of its own, so that
/// several threads run pieces of products at once with no lock (the int8 pieces, the attention's
/// per-head products).
extension OneDNN {
    /// The key of each thread's stream (`threadStream`), destroyed with its thread.
    private static let streamKey: pthread_key_t? = {
        var key = pthread_key_t()
        return pthread_key_create(&key, { raw in dnnl_stream_destroy(OpaquePointer(raw)) }) == 0 ? key : nil
    }()

    /// This thread's oneDNN stream for one-thread executions, made at its first one and kept until the
    /// thread ends: a stream per execution cost a create and a destroy (allocations) for each of the
    /// ~5,000 pieces and attention products of a ViT-L/14 batch. Usable only on this thread.
    static func threadStream() -> dnnl_stream_t {
        if let streamKey, let raw = pthread_getspecific(streamKey) { return OpaquePointer(raw) }
        var stream: dnnl_stream_t?
        guard let engine, dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success,
              let stream else { fatalError("oneDNN: cannot create a stream for one-thread products") }
        if let streamKey { pthread_setspecific(streamKey, UnsafeRawPointer(stream)) }
        return stream
    }

    /// A caller's buffer wrapped as a oneDNN memory for one execution: its descriptor and its bytes.
    typealias Buffer = (desc: dnnl_memory_desc_t, data: UnsafeMutableRawPointer)

    /// The weights of a one-thread execution: a memory made once (reordered at load), or a buffer.
    enum Weights {
        case memory(dnnl_memory_t)
        case buffer(Buffer)
    }

    /// Runs `primitive` on this thread on `stream` with `src`, `weights`, `dst` and `scratchpad`, and
    /// waits. `what` names the product in the error that stops the process if oneDNN fails (it does only
    /// on a programming error: every shape and buffer was checked when the primitive was made).
    static func executeOnThisThread(_ primitive: dnnl_primitive_t, stream: dnnl_stream_t?, src: Buffer, weights: Weights,
                                    dst: Buffer, scratchpad: Buffer, what: @autoclosure () -> String) {
        guard let engine else { fatalError("oneDNN: no CPU engine") }
        var sm: dnnl_memory_t?, wm: dnnl_memory_t?, dm: dnnl_memory_t?, pm: dnnl_memory_t?
        var smd = src.desc, dmd = dst.desc, pmd = scratchpad.desc
        var wrapped = dnnl_memory_create(&sm, &smd, engine, src.data) == dnnl_success
            && dnnl_memory_create(&dm, &dmd, engine, dst.data) == dnnl_success
            && dnnl_memory_create(&pm, &pmd, engine, scratchpad.data) == dnnl_success
        var ownsWeights = false
        switch weights {
        case .memory(let m): wm = m
        case .buffer(let b):
            var wmd = b.desc
            wrapped = wrapped && dnnl_memory_create(&wm, &wmd, engine, b.data) == dnnl_success
            ownsWeights = true
        }
        defer {
            dnnl_memory_destroy(sm); dnnl_memory_destroy(dm); dnnl_memory_destroy(pm)
            if ownsWeights { dnnl_memory_destroy(wm) }
        }
        guard wrapped else { fatalError("oneDNN: cannot wrap the buffers of \(what())") }
        var args = (dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: sm), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wm),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dm), dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: pm))
        let status = withUnsafeMutableBytes(of: &args) { raw in
            dnnl_primitive_execute(primitive, stream, 4, raw.baseAddress?.assumingMemoryBound(to: dnnl_exec_arg_t.self))
        }
        guard status == dnnl_success, dnnl_stream_wait(stream) == dnnl_success else {
            fatalError("oneDNN: executing \(what()) failed")
        }
    }
}
