/// What the host of a webhook URL is, read once in one place so the URL check and the
/// allow-list agree on it.
enum WebhookHostName: Equatable {
    /// An IP literal in canonical form.
    case address(WebhookIPAddress)
    /// A DNS name, lowercased, without a trailing dot.
    case name(String)
    /// A number that URL parsers and `inet_aton` read as an IPv4 address (`127.1`,
    /// `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`) but that is not written as one: refused,
    /// since what it means depends on who reads it.
    case ambiguousNumber
    /// Not a host at all.
    case invalid

    static func classify(_ raw: String) -> WebhookHostName {
        var host = raw.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix("."), host.count > 1 { host.removeLast() }
        guard !host.isEmpty else { return .invalid }
        if host.contains(":") {
            return WebhookIPAddress(host).map { .address($0) } ?? .invalid
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard let last = labels.last else { return .invalid }
        if last.allSatisfy({ ("0"..."9").contains($0) }) || last.hasPrefix("0x") {
            return WebhookIPAddress(host).map { .address($0) } ?? .ambiguousNumber
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
        guard host.count <= 253,
              labels.allSatisfy({ (1...63).contains($0.count) && $0.allSatisfy(allowed.contains) })
        else { return .invalid }
        return .name(host)
    }

    /// `localhost` and its subdomains always mean this machine (RFC 6761), whatever DNS says.
    static func isLocalhost(_ name: String) -> Bool {
        name == "localhost" || name.hasSuffix(".localhost")
    }
}
