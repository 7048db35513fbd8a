import PardMQTT
import PardPipeline
import Prometheus

/// The MQTT sink's side of `/metrics`: `pard_mqtt_connected`, `pard_mqtt_published_total{type}`,
/// `pard_mqtt_spooled_events`, `pard_mqtt_spooled_bytes`, `pard_mqtt_dropped_total{reason,type}`,
/// `pard_mqtt_reconnects_total`.
final class MQTTPrometheusMetrics: MQTTMetrics {
    private let connectedGauge: Gauge
    private let publishedByType: [EventType: Counter]
    private let spooledEvents: Gauge
    private let spooledBytes: Gauge
    private let droppedByReason: [String: Counter]
    private let reconnects: Counter

    init(registry: PrometheusCollectorRegistry) {
        connectedGauge = registry.makeGauge(name: "pard_mqtt_connected", help: "1 while connected to the MQTT broker.")
        let publishedHelp = "Events the MQTT broker acknowledged, by type."
        publishedByType = Dictionary(uniqueKeysWithValues: EventType.allCases.map {
            ($0, registry.makeCounter(name: "pard_mqtt_published_total", labels: [("type", $0.rawValue)], help: publishedHelp))
        })
        spooledEvents = registry.makeGauge(name: "pard_mqtt_spooled_events", help: "Events in the MQTT spool, not yet acknowledged.")
        spooledBytes = registry.makeGauge(name: "pard_mqtt_spooled_bytes", help: "Bytes of the events in the MQTT spool.")
        let droppedHelp = "Events never published to the MQTT broker, by reason and type."
        var dropped: [String: Counter] = [:]
        for reason in MQTTDropReason.allCases {
            for type in EventType.allCases {
                dropped["\(reason.rawValue)/\(type.rawValue)"] = registry.makeCounter(
                    name: "pard_mqtt_dropped_total", labels: [("reason", reason.rawValue), ("type", type.rawValue)], help: droppedHelp)
            }
        }
        droppedByReason = dropped
        reconnects = registry.makeCounter(name: "pard_mqtt_reconnects_total", help: "Connections to the MQTT broker made again after one was lost or failed.")
    }

    func connected(_ connected: Bool) { connectedGauge.set(connected ? 1.0 : 0.0) }
    func published(_ type: EventType) { publishedByType[type]?.increment() }
    func spooled(events: Int, bytes: Int) {
        spooledEvents.set(Double(events))
        spooledBytes.set(Double(bytes))
    }
    func dropped(_ type: EventType, reason: MQTTDropReason, count: Int) {
        droppedByReason["\(reason.rawValue)/\(type.rawValue)"]?.increment(by: Int64(count))
    }
    func reconnected() { reconnects.increment() }
}
