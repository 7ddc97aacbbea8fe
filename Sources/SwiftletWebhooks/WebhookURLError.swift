/// Why a URL may not receive webhooks. The description is written for the operator who
/// registered the URL (it becomes the message of a 400); it names the host and the
/// address, never the path or query, which may hold a receiver's token.
public enum WebhookURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not an absolute URL.
    case malformed
    /// The scheme is not one of `allowed` in this mode.
    case schemeNotAllowed(String, allowed: [String])
    /// `user:password@` in the URL: credentials belong in the signature, and userinfo is a
    /// classic way to disguise which host a URL really names.
    case userInfoNotAllowed
    /// No host.
    case missingHost
    /// The host has characters no host name has.
    case invalidHost
    /// The port is outside 1–65535.
    case invalidPort(Int)
    /// A numeric host not written as a canonical IPv4 address (`127.1`, `0x7f000001`):
    /// parsers disagree on what it means.
    case ambiguousHost(String)
    /// The host name itself always means a forbidden range (`localhost`).
    case forbiddenHost(String, WebhookForbiddenRange)
    /// The host is, or resolves to, `address` in a forbidden `range`.
    case forbiddenAddress(host: String, address: WebhookIPAddress, range: WebhookForbiddenRange)
    /// The host did not resolve.
    case unresolvable(host: String, reason: String)

    /// A stable machine-readable reason, for the API's error code.
    public var code: String {
        switch self {
        case .malformed, .schemeNotAllowed, .userInfoNotAllowed, .missingHost, .invalidHost, .invalidPort, .ambiguousHost:
            "webhooks.url_invalid"
        case .forbiddenHost, .forbiddenAddress:
            "webhooks.url_forbidden"
        case .unresolvable:
            "webhooks.url_unresolvable"
        }
    }

    public var description: String {
        switch self {
        case .malformed:
            return "the webhook URL is not an absolute URL"
        case .schemeNotAllowed(let scheme, let allowed):
            let list = allowed.joined(separator: " or ")
            return "the webhook URL uses \(scheme); webhook URLs must use \(list)"
        case .userInfoNotAllowed:
            return "the webhook URL must not contain a user name or password before the host"
        case .missingHost:
            return "the webhook URL has no host"
        case .invalidHost:
            return "the webhook URL's host is not a host name or an IP address"
        case .invalidPort(let port):
            return "the webhook URL's port \(port) is not between 1 and 65535"
        case .ambiguousHost(let host):
            return "the webhook URL's host \(host) is a number but not a dotted IPv4 address; write the address as four decimal parts"
        case .forbiddenHost(let host, let range):
            return "the webhook URL's host \(host) is always \(range); webhooks go to public addresses unless the host is on the allow-list"
        case .forbiddenAddress(let host, let address, let range):
            let subject = host == address.description
                ? "the webhook URL's host \(host) is"
                : "the webhook URL's host \(host) resolves to \(address),"
            return "\(subject) \(range); webhooks go to public addresses unless the host or its network is on the allow-list"
        case .unresolvable(let host, let reason):
            return "the webhook URL's host \(host) does not resolve: \(reason)"
        }
    }
}
