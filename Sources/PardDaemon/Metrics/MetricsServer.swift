import Hummingbird
import Logging

/// `/metrics` (Prometheus text) and `/healthz` over HTTP, on loopback by default.
public enum MetricsServer {
    /// An application serving `metrics` and `health` (returns a one-line status and whether all is well)
    /// on `host:port`.
    public static func application(host: String, port: Int, metrics: DaemonMetrics,
                                   health: @escaping @Sendable () -> (ok: Bool, status: String),
                                   logger: Logger) -> some ApplicationProtocol {
        application(host: host, port: port, text: { metrics.text() }, health: health, logger: logger)
    }

    /// The same for any metrics: `text` makes the Prometheus exposition (`pard worker`'s).
    static func application(host: String, port: Int, text: @escaping @Sendable () -> String,
                            health: @escaping @Sendable () -> (ok: Bool, status: String),
                            logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: text())))
        }
        router.get("healthz") { _, _ -> Response in
            let h = health()
            return Response(status: h.ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: h.status + "\n")))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "pard"),
                           logger: logger)
    }
}
