/// A TCP address to listen on: an IP literal (or `localhost`, stored as `127.0.0.1`) and a port.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IP address, without brackets (`127.0.0.1`, `::1`, `0.0.0.0`).
    public var host: String
    /// The TCP port, 1...65535.
    public var port: UInt16

    /// `host:port`.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Whether only this machine can connect: `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool {
        if host == "::1" { return true }
        guard let octets = Self.ipv4Octets(host) else { return false }
        return octets[0] == 127
    }

    /// `127.0.0.1:9464`, or `[::1]:9464` for IPv6.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `HOST:PORT` where HOST is a dotted IPv4 address, `[IPv6]` or `localhost`; nil with the
    /// reason otherwise.
    static func parse(_ text: String) -> Result<ListenAddress, AddressProblem> {
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.syntax) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { return .failure(.syntax) }
            portText = after.dropFirst()
            guard isIPv6(host) else { return .failure(.host(host)) }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.syntax) }
            let name = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if name == "localhost" {
                host = "127.0.0.1"
            } else if ipv4Octets(name) != nil {
                host = name
            } else {
                return .failure(name.contains(":") ? .syntax : .host(name))
            }
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), (1...65535).contains(port) else {
            return .failure(.port(String(portText)))
        }
        return .success(ListenAddress(host: host, port: UInt16(port)))
    }

    /// The four numbers of a dotted-quad IPv4 address, or nil.
    static func ipv4Octets(_ text: String) -> [Int]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit), let value = Int(part), value <= 255 else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// Whether `text` looks like an IPv6 literal (hex digits and colons, at least two colons, or an
    /// embedded IPv4 tail). The system validates it fully when binding.
    static func isIPv6(_ text: String) -> Bool {
        let colons = text.filter { $0 == ":" }.count
        return colons >= 2 && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

/// Why `ListenAddress.parse` refused a text.
enum AddressProblem: Error {
    /// Not `HOST:PORT` at all.
    case syntax
    /// The host is not an IP literal or `localhost`.
    case host(String)
    /// The port is not a number in 1...65535.
    case port(String)

    /// A phrase for error messages.
    var explanation: String {
        switch self {
        case .syntax: return "expected HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)"
        case .host(let host): return "\"\(host)\" is not an IP address (use an address such as 127.0.0.1, [::1] or localhost)"
        case .port(let port): return "\"\(port)\" is not a port (1...65535)"
        }
    }
}

extension Character {
    /// `0`...`9` only (not other Unicode digits).
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
