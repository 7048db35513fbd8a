import PardPipeline

/// Why events meant for the broker were dropped (the `reason` label of `pard_mqtt_dropped_total`).
public enum MQTTDropReason: String, Sendable, CaseIterable {
    /// The spool was full (`spool_max_mb`): oldest attribute events first, track summaries last.
    case spoolFull = "spool_full"
    /// The spool could not be written (disk full, I/O error) and the events waiting in memory for it
    /// passed their bound.
    case spoolError = "spool_error"
    /// The sink's thread fell behind by more than its hand-off bound (a very slow spool disk).
    case queueFull = "queue_full"
}

/// What the MQTT sink reports, told from its thread (and `dropped` from the emitting one). The service
/// turns these into Prometheus metrics; the sink knows nothing of them.
public protocol MQTTMetrics: Sendable {
    /// The connection to the broker came up (true) or went away (false).
    func connected(_ connected: Bool)
    /// The broker acknowledged one event (QoS 1; sent, at QoS 0).
    func published(_ type: EventType)
    /// Events in the spool not yet acknowledged, and their bytes.
    func spooled(events: Int, bytes: Int)
    /// `count` events of `type` dropped for `reason`.
    func dropped(_ type: EventType, reason: MQTTDropReason, count: Int)
    /// A connection came up again after one had been lost or had failed.
    func reconnected()
}

/// No metrics (`pard process`).
public struct NoMQTTMetrics: MQTTMetrics {
    public init() {}
    public func connected(_ connected: Bool) {}
    public func published(_ type: EventType) {}
    public func spooled(events: Int, bytes: Int) {}
    public func dropped(_ type: EventType, reason: MQTTDropReason, count: Int) {}
    public func reconnected() {}
}
