import Yams

/// The checks a stream's `url` passes, so that a mistyped camera URL is an error that names the key and
/// line, never a "file" that pard then prints with its password.
///
/// An RTSP URL is split as FFmpeg splits it (the host part ends at the first `/`, `?` or `#`; the user
/// information ends at the last `@` before that) and must have a host, a port that is a number within
/// 1...65535 if any, no `@` after the host part (a password with an unescaped `/`, `?` or `#`), no white
/// space, and not be cut by a YAML comment (` #` in an unquoted value). Text that is not an RTSP URL is a
/// file path, unless it looks like a URL: a scheme (`rtsp:/x`, `http:x`) or `user:password@`.
/// No message quotes the URL: it names the key path and line instead.
enum StreamURLCheck {
    /// What is wrong with `url`, or nil. `comment` is the YAML comment after an unquoted value on its line.
    static func problem(url: String, comment: Substring?) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return fileProblem(url) }
        let comment = comment.map(String.init)
        if let comment, comment.contains("@"),
           URLRedaction.openUserinfo(Substring(url)) || comment.prefix(while: { !$0.isWhitespace }).contains("@") {
            return "a YAML comment (\" #\") starts inside the URL, which then ends before its \"@\": "
                + "quote the URL (url: \"rtsp://...\") or write \"#\" as %23"
        }
        if url.contains(where: \.isWhitespace) {
            return "the RTSP URL contains white space; write a space in a password as %20"
                + (url.contains(" #") || url.contains("\t#") ? " (and \"#\" as %23)" : "")
        }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { "/?#".contains($0) } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        if afterScheme[authorityEnd...].contains("@") {
            return "the RTSP URL has an \"@\" after its host: a password that contains \"/\", \"?\" or \"#\" "
                + "must write them as %2F, %3F and %23"
        }
        let host = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        return hostProblem(host, cutByComment: comment != nil)
    }

    /// The problem with `host[:port]` (or `[v6]:port`), if any.
    static func hostProblem(_ host: Substring, cutByComment: Bool) -> String? {
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "the RTSP URL's IPv6 host has no closing \"]\"" }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "the RTSP URL has text after its IPv6 host" }
                port = after.dropFirst()
            }
        } else if let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
        }
        let name = port.map { host[..<host.index($0.startIndex, offsetBy: -1)] } ?? host
        if name.isEmpty || name == "[]" { return "the RTSP URL has no host (rtsp://host[:port]/path, a user and password before the host)" }
        guard let port else { return nil }
        guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            let hint = cutByComment ? "; the YAML comment (\" #\") on this line may have cut it: quote the URL" : ""
            return "the RTSP URL's port is not a number (a user and password go before the host, followed by \"@\")\(hint)"
        }
        guard port.count <= 5, let number = Int(port), (1...65535).contains(number) else {
            return "the RTSP URL's port is out of range: ports are 1...65535"
        }
        return nil
    }

    /// The problem with a `url` that has no `://`, if it does not look like a file path.
    static func fileProblem(_ url: String) -> String? {
        if URLRedaction.redact(url) != url {
            return "has what looks like a user and password before an \"@\", so it is no file path; an RTSP URL is "
                + "rtsp://host[:port]/path, with a user and password before the host"
        }
        if let colon = url.firstIndex(of: ":"), let first = url.first, first.isASCII, first.isLetter,
           url[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }) {
            let scheme = url[..<colon].lowercased()
            let slashes = scheme == "rtsp" || scheme == "rtsps" ? " (\(scheme):// takes two slashes)" : ""
            return "expected rtsp://..., rtsps://... or a file path, got a URL with \"\(scheme):\"\(slashes); "
                + "write ./\(URLRedaction.redact(url).prefix(80)) for a file of that name"
        }
        return nil
    }
}

/// The raw lines of the configuration text, for what the YAML tree does not keep (comments).
struct SourceLines {
    /// The text.
    let text: String
    /// Where each line starts, built on first use.
    private var starts: [String.Index]?

    init(_ text: String) { self.text = text }

    /// The comment after an unquoted scalar on its own line (the text after ` #`), or nil.
    mutating func comment(after value: ConfigValue) -> Substring? {
        guard case .scalar(let scalar) = value.node, scalar.style == .plain || scalar.style == .any,
              let mark = value.node.mark else { return nil }
        if starts == nil {
            var found = [text.startIndex]
            for index in text.utf8.indices where text.utf8[index] == UInt8(ascii: "\n") {
                found.append(text.utf8.index(after: index))
            }
            starts = found
        }
        guard let starts, mark.line >= 1, mark.line <= starts.count else { return nil }
        let line = text[starts[mark.line - 1]...].prefix { $0 != "\n" && $0 != "\r" }
        let scalars = line.unicodeScalars.dropFirst(max(0, mark.column - 1))
        var previous: Unicode.Scalar = " "
        for index in scalars.indices {
            let current = scalars[index]
            if current == "#" && (previous == " " || previous == "\t") {
                return Substring(line.unicodeScalars[line.unicodeScalars.index(after: index)...])
            }
            previous = current
        }
        return nil
    }
}
