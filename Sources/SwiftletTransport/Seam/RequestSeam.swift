import SwiftletCore

/// The one seam every request passes exactly once, inline or not.
///
/// Holds the observers in order. `begin` calls each until one refuses; `end` calls exactly
/// those whose `begin` ran, so each observer sees a matched pair per request.
public final class RequestSeam: Sendable {
    public let observers: [any RequestObserver]

    public init(observers: [any RequestObserver]) {
        self.observers = observers
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

    /// Whether every observer can run on the inline lane for `route`.
    public func runsInline(route: String) -> Bool {
        observers.allSatisfy { $0.runsInline(route: route) }
    }
}
