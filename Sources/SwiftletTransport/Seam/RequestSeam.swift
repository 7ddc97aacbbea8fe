import NIOCore
import SwiftletCore

/// The one seam every request passes exactly once, inline or not.
///
/// Holds the observers in order. `begin` calls each until one refuses; `end` calls exactly
/// those whose `begin` ran, so each observer sees a matched pair per request.
public final class RequestSeam: Sendable {
    public let observers: [any RequestObserver]
    /// The observers that are guards, with their place among `observers`.
    let guards: [(index: Int, guard: any RequestGuard)]

    public init(observers: [any RequestObserver]) {
        self.observers = observers
        self.guards = observers.enumerated().compactMap { index, observer in
            (observer as? any RequestGuard).map { (index, $0) }
        }
    }

    /// A request under way: how many observers began, and the refusal if one refused.
    public struct Passage: Sendable {
        let begun: Int
        public let refusal: SwiftletError?
    }

    public func begin(_ request: RequestStart) -> Passage {
        var begun = 0
        for observer in observers {
            begun += 1
            if let refusal = observer.begin(request) {
                return Passage(begun: begun, refusal: refusal)
            }
        }
        return Passage(begun: begun, refusal: nil)
    }

    public func end(_ request: RequestStart, _ passage: Passage, _ outcome: RequestOutcome) {
        for index in 0..<passage.begun {
            observers[index].end(request, outcome)
        }
    }

    /// What the guards need before they can decide on a request to `route`: nothing (no
    /// guard admits it), the head only, or the body too.
    public func admission(route: String) -> Admission {
        var admission = Admission.none
        for (_, requestGuard) in guards where requestGuard.admits(route: route) {
            if requestGuard.needsBody(route: route) { return .withBody }
            admission = .headOnly
        }
        return admission
    }

    public enum Admission: Sendable, Equatable {
        case none, headOnly, withBody
    }

    /// Runs the guards whose `begin` ran and that admit the request's route, in order,
    /// until one refuses. Called on the router path only (their routes are off the lane).
    public func admit(_ request: RequestStart, _ passage: Passage, body: ByteBuffer?) async -> SwiftletError? {
        for (index, requestGuard) in guards where index < passage.begun && requestGuard.admits(route: request.route) {
            if let refusal = await requestGuard.admit(request, body: body) {
                return refusal
            }
        }
        return nil
    }

    /// Whether every observer can run on the inline lane for `route`.
    public func runsInline(route: String) -> Bool {
        observers.allSatisfy { $0.runsInline(route: route) }
    }
}
