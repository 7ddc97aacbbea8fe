import NIOCore
import SwiftletCore

/// An observer whose decision may need to suspend — a nonce or counter kept in Redis, a
/// signature over the request body — so it cannot decide in `begin`, which runs on the
/// event loop.
///
/// The seam calls `admit` after every observer's `begin` accepted the request and before
/// the handler runs, only on the router path: a route it `admits` is taken off the inline
/// lane (`runsInline` answers false for it), so no fast path can skip it. The request's
/// `end` is still called exactly once, whether `admit` refused or not.
public protocol RequestGuard: RequestObserver {
    /// Whether `admit` has anything to decide for `route`. False keeps the route's requests
    /// free of the guard's cost, and lets them stay on the inline lane.
    func admits(route: String) -> Bool

    /// Whether `admit` needs the body for `route`. The seam then reads it (up to the body
    /// limit) before `admit`, and hands the handler the same bytes.
    func needsBody(route: String) -> Bool

    /// Decides whether the request may run: nil lets it through, an error refuses it with
    /// that error (through the one error mapping). `body` is the raw body as received when
    /// `needsBody(route:)`, nil otherwise.
    func admit(_ request: RequestStart, body: ByteBuffer?) async -> SwiftletError?
}

extension RequestGuard {
    public func needsBody(route: String) -> Bool { false }
    public func runsInline(route: String) -> Bool { !admits(route: route) }
}
