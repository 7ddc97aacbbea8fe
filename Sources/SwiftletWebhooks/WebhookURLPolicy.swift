import Foundation

/// Decides whether a URL may receive webhooks, so that registering an endpoint cannot turn
/// the node into a proxy toward itself, its private network or the cloud metadata service.
///
/// Two steps, both needed:
/// - `check(url:)`, pure: the URL's form (https in production, no userinfo, a host that
///   is a plain name or a canonical IP literal) and, for an IP literal, its address.
///   Run at registration for an immediate, clear refusal.
/// - `resolveAndCheck(_:)` (in `WebhookURLPolicy+Resolution.swift`): the same, then every
///   address the host resolves to. Run again right before each delivery connects, because
///   a name that resolved to a public address at registration can resolve to `127.0.0.1`
///   later (DNS rebinding).
///
/// In development, `http` and loopback addresses are allowed, so a receiver on the same
/// machine works; private networks are refused there too (a laptop's LAN is no safer).
public struct WebhookURLPolicy: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case production
        case development
    }

    public var mode: Mode
    public var allowList: WebhookAllowList

    public init(mode: Mode = .production, allowList: WebhookAllowList = WebhookAllowList()) {
        self.mode = mode
        self.allowList = allowList
    }

    /// Schemes a webhook URL may use in this mode.
    public var allowedSchemes: [String] {
        switch mode {
        case .production: ["https"]
        case .development: ["https", "http"]
        }
    }

    /// Checks the URL's form and, when the host is an IP literal, its address.
    ///
    /// The host is read with Foundation's `URL`, the parser AsyncHTTPClient connects with,
    /// so the host judged here is the host a delivery reaches (`https://a.example#@127.0.0.1`
    /// is `a.example` for both).
    public func check(url text: String) -> Result<WebhookTarget, WebhookURLError> {
        guard let url = URL(string: text), let components = URLComponents(string: text),
              let rawScheme = url.scheme
        else { return .failure(.malformed) }
        let scheme = rawScheme.lowercased()
        guard allowedSchemes.contains(scheme) else {
            return .failure(.schemeNotAllowed(scheme, allowed: allowedSchemes))
        }
        guard components.percentEncodedUser == nil, components.percentEncodedPassword == nil else {
            return .failure(.userInfoNotAllowed)
        }
        guard let rawHost = url.host, !rawHost.isEmpty else { return .failure(.missingHost) }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { return .failure(.invalidPort(port)) }

        switch WebhookHostName.classify(rawHost) {
        case .invalid:
            return .failure(.invalidHost)
        case .ambiguousNumber:
            return .failure(.ambiguousHost(rawHost))
        case .address(let address):
            if let range = forbiddenRange(of: address) {
                return .failure(.forbiddenAddress(host: address.description, address: address, range: range))
            }
            return .success(WebhookTarget(url: url, scheme: scheme, host: address.description, port: port, address: address, isAllowListed: false))
        case .name(let host):
            let listed = allowList.contains(host: host)
            if WebhookHostName.isLocalhost(host), mode == .production, !listed {
                return .failure(.forbiddenHost(host, .loopback))
            }
            return .success(WebhookTarget(url: url, scheme: scheme, host: host, port: port, address: nil, isAllowListed: listed))
        }
    }

    /// Whether a connection to `address` is refused under this policy.
    public func isForbidden(address: WebhookIPAddress) -> Bool {
        forbiddenRange(of: address) != nil
    }

    /// The forbidden range `address` is in under this policy: `nil` for a public address,
    /// for loopback in development, and for an address in an allow-listed network.
    public func forbiddenRange(of address: WebhookIPAddress) -> WebhookForbiddenRange? {
        guard let range = WebhookForbiddenRange.containing(address) else { return nil }
        if mode == .development, range == .loopback { return nil }
        if allowList.contains(address: address) { return nil }
        return range
    }

    /// Checks the addresses `target`'s host resolved to: all of them must be allowed,
    /// since the client may connect to any (one bad address among good ones is how a
    /// rebinding resolver hides).
    public func check(addresses: [WebhookIPAddress], of target: WebhookTarget) -> Result<WebhookDestination, WebhookURLError> {
        guard !addresses.isEmpty else { return .failure(.unresolvable(host: target.host, reason: "no addresses")) }
        if !target.isAllowListed {
            for address in addresses {
                if let range = forbiddenRange(of: address) {
                    return .failure(.forbiddenAddress(host: target.host, address: address, range: range))
                }
            }
        }
        return .success(WebhookDestination(target: target, addresses: addresses))
    }
}

/// A URL that passed `check(url:)`: where a delivery goes.
public struct WebhookTarget: Sendable, Hashable {
    /// The URL as registered; deliveries send to it unchanged.
    public let url: URL
    /// `https`, or `http` in development.
    public let scheme: String
    /// The host as connected to: lowercased, without brackets or a trailing dot.
    public let host: String
    /// The explicit port, or the scheme's.
    public let port: Int
    /// The address when the host is an IP literal (nothing to resolve).
    public let address: WebhookIPAddress?
    /// The host is on the allow-list: its addresses are not checked.
    public let isAllowListed: Bool
}

/// A target with the addresses its host resolved to, all allowed. A delivery connects to
/// one of these addresses (sending `target.host` as the `Host` header and TLS server name)
/// rather than resolving again, so what was checked is what is reached.
public struct WebhookDestination: Sendable, Hashable {
    public let target: WebhookTarget
    public let addresses: [WebhookIPAddress]
}
