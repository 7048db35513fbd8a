import Foundation

/// Keeps stream credentials out of everything pard prints: logs, events, metrics, errors.
///
/// `rtsp://admin:secret@10.0.0.5/live?token=abc&channel=1` becomes
/// `rtsp://***@10.0.0.5/live?token=***&channel=1`: the user information (everything up to the last `@`,
/// which also covers passwords with an unescaped `@`, `/` or space) and the values of query parameters
/// whose name suggests a secret. URLs of other shapes are covered too: one slash (`rtsp:/u:p@host`), no
/// slash (`rtsp:u:p@host`), no scheme (`u:p@host`, `u%3Ap@host`), and a URL cut before its `@` (by a YAML
/// comment, say), whose "port" is not a number (`rtsp://admin:abc` becomes `rtsp://admin:***`).
public enum URLRedaction {
    /// Query parameter names (lower-cased) whose values are hidden.
    public static let secretParameters: Set<String> = [
        "user", "username", "pass", "passwd", "password", "pwd", "token", "auth", "key", "apikey", "api_key",
        "secret", "signature", "sig", "access_token",
    ]

    /// `url` (one value: a URL, a file path, a key) with its user information and secret query values
    /// replaced by `***`. Text that looks like no URL (a file path such as `/videos/a@b.mp4`) is returned
    /// unchanged; text with `user:password@` in it, whatever comes before, is always redacted.
    public static func redact(_ url: String) -> String {
        let start = authorityStart(of: url)
        var head = Substring(url[..<(start ?? url.startIndex)])
        var rest = Substring(url[(start ?? url.startIndex)...])
        if let at = rest.lastIndex(of: "@"), start != nil || looksLikeUserinfo(rest[..<at]) {
            rest = "***@" + rest[rest.index(after: at)...]
        } else if let at = url.lastIndex(of: "@"), looksLikeUserinfo(url[..<at]) {
            // An `@` before the scheme's slashes, or a scheme-like word that was the user name (`u:p@host`).
            head = ""
            rest = "***@" + url[url.index(after: at)...]
        } else if start != nil {
            rest = hidingNonNumericPort(rest)
        }
        guard let question = rest.firstIndex(of: "?") else { return String(head + rest) }
        return String(head + rest[...question]) + redactQuery(rest[rest.index(after: question)...])
    }

    /// `text` (a message, a log line, a YAML error) with every `user:password@` in it redacted as `redact`
    /// does, wherever it appears. Words are split at white space and quotes; a URL whose user information
    /// is followed by a space (`rtsp://admin:abc #123@host`) is redacted up to the `@` on the same line.
    public static func redactCredentials(in text: String) -> String {
        guard text.contains("@") || text.contains(":/") else { return text }
        let words = self.words(of: text)
        var result = ""
        var copied = text.startIndex
        var index = 0
        while index < words.count {
            var range = words[index].range
            if openUserinfo(text[range]) {
                // Take in the following words of this line up to one with an `@`, if there is one.
                var next = index + 1
                while next < words.count, next - index <= 8, !words[next].afterNewline {
                    if text[words[next].range].contains("@") {
                        range = range.lowerBound..<words[next].range.upperBound
                        index = next
                        break
                    }
                    next += 1
                }
            }
            result += text[copied..<range.lowerBound]
            result += redact(String(text[range]))
            copied = range.upperBound
            index += 1
        }
        return result + text[copied...]
    }

    /// `text` (say, an FFmpeg message) with every occurrence of `url` and of its secrets replaced, so that
    /// it can be logged. Secrets are the user information and the values `redact` hides; anything else
    /// that looks like `user:password@` is redacted too.
    public static func scrub(_ text: String, url: String) -> String {
        var result = text
        let redacted = redact(url)
        if redacted != url {
            result = result.replacingOccurrences(of: url, with: redacted)
            for secret in secrets(of: url) where secret.count >= 3 {
                result = result.replacingOccurrences(of: secret, with: "***")
            }
        }
        return redactCredentials(in: result)
    }

    /// The user information (whole, and its user and password parts) and secret query values of `url`.
    static func secrets(of url: String) -> [String] {
        let start = authorityStart(of: url) ?? url.startIndex
        let rest = url[start...]
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

    /// Where the part after the scheme starts: after the first `://`, or after `scheme:/` (any number of
    /// slashes) at the start; nil when `text` has neither.
    static func authorityStart(of text: String) -> String.Index? {
        if let range = text.range(of: "://") { return range.upperBound }
        guard let colon = text.firstIndex(of: ":"), let first = text.first, first.isASCII, first.isLetter,
              text[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }) else { return nil }
        let slashes = text[text.index(after: colon)...].prefix { $0 == "/" }
        return slashes.isEmpty ? nil : slashes.endIndex
    }

    /// Whether `text` (what comes before an `@`) holds a user and a password: a `:`, maybe percent-encoded.
    static func looksLikeUserinfo(_ text: Substring) -> Bool {
        text.contains(":") || text.range(of: "%3a", options: .caseInsensitive) != nil
    }

    /// A URL's start cut before its `@` (`rtsp://admin:abc`): a scheme, then a colon and no `/` or `@`.
    static func openUserinfo(_ word: Substring) -> Bool {
        guard let start = authorityStart(of: String(word)) else { return false }
        let authority = String(word)[start...]
        return !authority.contains("@") && !authority.contains("/") && authority.contains(":")
    }

    /// `host:port/path` with a port that is not a number (a password cut from its `@`) replaced by `***`.
    static func hidingNonNumericPort(_ rest: Substring) -> Substring {
        let end = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        let authority = rest[..<end]
        let hostEnd = authority.lastIndex(of: "]") ?? authority.startIndex
        guard let colon = authority[hostEnd...].lastIndex(of: ":") else { return rest }
        let port = authority[authority.index(after: colon)...]
        guard !port.allSatisfy(\.isNumber) else { return rest }
        return rest[...colon] + "***" + rest[end...]
    }

    /// The query (and fragment) of a URL with the values of secret parameters replaced by `***`.
    static func redactQuery(_ text: Substring) -> String {
        var query = text
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
        return parameters.joined(separator: "&") + fragment
    }

    /// The words of `text`: runs of characters other than white space and quotes, each marked when a
    /// line break separates it from the word before.
    static func words(of text: String) -> [(range: Range<String.Index>, afterNewline: Bool)] {
        var words: [(range: Range<String.Index>, afterNewline: Bool)] = []
        var start: String.Index?
        var newline = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace || "\"'`".contains(character) {
                if let begun = start { words.append((begun..<index, newline)); start = nil; newline = false }
                if character.isNewline { newline = true }
            } else if start == nil {
                start = index
            }
            index = text.index(after: index)
        }
        if let begun = start { words.append((begun..<text.endIndex, newline)) }
        return words
    }
}
