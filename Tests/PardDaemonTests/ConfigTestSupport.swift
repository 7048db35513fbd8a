import PardDaemon
import Testing

/// A minimal valid configuration, with `extra` lines appended to the first stream (indented 4 spaces)
/// and `top` lines appended at the top level.
func minimalYAML(stream extra: [String] = [], top: [String] = []) -> String {
    (["model:",
      "  checkpoint: /models/m.pth",
      "streams:",
      "  - name: cam1",
      "    url: rtsp://10.0.0.5/live",
      "    detections: unix:/run/pard/cam1.sock"]
     + extra.map { "    " + $0 } + top).joined(separator: "\n") + "\n"
}

/// The `ConfigError` parsing `yaml` throws (a test failure when it parses).
func configError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        _ = try DaemonConfig(yaml: yaml, file: "pard.yaml")
        Issue.record("expected a ConfigError, but the configuration parsed", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
