import Foundation

/// Keeps stream credentials out of everything pard prints: logs, events, metrics, errors.
///
/// `rtsp://admin:secret@10.0.0.5/live?token=abc&channel=1` becomes
/// `rtsp://***@10.0.0.5/live?token=***&channel=1`: the user information (everything up to the last `@`,
/// which also covers passwords with an unescaped `@` or `/`) and the values of query parameters whose
/// name suggests a secret.
public enum URLRedaction {
    /// Query parameter names (lower-cased) whose values are hidden.
    public static let secretParameters: Set<String> = [
        "user", "username", "pass", "passwd", "password", "pwd", "token", "auth", "key", "apikey", "api_key",
        "secret", "signature", "sig", "access_token",
    ]

    /// `url` with its user information replaced by `***` and secret query values by `***`.
    /// Text without `://` (a file path) is returned unchanged.
    public static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let scheme = url[..<schemeEnd.upperBound]
        var rest = Substring(url[schemeEnd.upperBound...])
        if let at = rest.lastIndex(of: "@") {
            rest = "***@" + rest[rest.index(after: at)...]
        }
        guard let question = rest.firstIndex(of: "?") else { return String(scheme + rest) }
        let head = rest[...question]
        var query = rest[rest.index(after: question)...]
        var fragment: Substring = ""
        if let hash = query.firstIndex(of: "#") {
            fragment = query[hash...]
            query = query[..<hash]
        }
        let parameters = query.split(separator: "&", omittingEmptySubsequences: false).map { parameter -> String in
            guard let equals = parameter.firstIndex(of: "=") else { return String(parameter) }
            let name = parameter[..<equals]
            return secretParameters.contains(name.lowercased()) ? name + "=***" : String(parameter)
        }
        return String(scheme + head) + parameters.joined(separator: "&") + fragment
    }

    /// `text` (say, an FFmpeg message) with every occurrence of `url` and of its secrets replaced, so that
    /// it can be logged. Secrets are the user information and the values `redact` hides.
    public static func scrub(_ text: String, url: String) -> String {
        guard url.contains("://") else { return text }
        var result = text.replacingOccurrences(of: url, with: redact(url))
        for secret in secrets(of: url) where secret.count >= 3 {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }

    /// The user information (whole, and its user and password parts) and secret query values of `url`.
    static func secrets(of url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [] }
        let rest = url[schemeEnd.upperBound...]
        var found: [String] = []
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            found.append(String(userinfo))
            if let colon = userinfo.firstIndex(of: ":") {
                found.append(String(userinfo[userinfo.index(after: colon)...]))
            }
            if let decoded = String(userinfo).removingPercentEncoding, decoded != String(userinfo) { found.append(decoded) }
        }
        if let question = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: question)...].split(separator: "#").first ?? ""
            for parameter in query.split(separator: "&") {
                let parts = parameter.split(separator: "=", maxSplits: 1)
                if parts.count == 2, secretParameters.contains(parts[0].lowercased()) { found.append(String(parts[1])) }
            }
        }
        // Longest first, so that a password inside the whole user information is not replaced first.
        return found.sorted { $0.count > $1.count }
    }
}
