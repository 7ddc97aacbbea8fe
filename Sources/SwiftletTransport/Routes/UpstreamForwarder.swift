import Hummingbird

/// Somewhere requests can go instead of this server's routes: the legacy backend a team is
/// moving from, route by route. The responder sends it every request no route matches, and
/// the requests to routes both serve that `diverts` picks (a canary), through the same seam,
/// body limit and error mapping as everything else.
public protocol UpstreamForwarder: Sendable {
    /// Whether a request to `route`, which this server serves too, goes to the upstream.
    func diverts(_ request: Request, route: String, client: String?) -> Bool

    /// The upstream's answer. Its failures throw `SwiftletError`s (502, 504), rendered in
    /// this server's error shape.
    func forward(_ request: Request, requestID: String, client: String?) async throws -> Response
}
