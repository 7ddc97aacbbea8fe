import Logging
import NIOCore
import SwiftletCore
import SwiftletResilience
import SwiftletTransport
import Synchronization

/// Adaptive load shedding at ingress: a node past its capacity answers the excess at once
/// with 503 `overloaded` and `Retry-After: 1`, instead of queueing every request until all
/// of them are slow. The capacity is not a configured number: `AdaptiveConcurrencyLimit`
/// learns it from latency, and gives it back by itself when load drops.
///
/// Classes, in the order they are shed (docs/operations.md, "Load shedding"):
/// - **never**: health checks and WeChat Pay notifications (a refused notify costs WeChat's
///   retries, a refused health check gets a healthy node pulled from the balancer);
/// - **anonymous** (no `Authorization`): shed from 80 % of the limit;
/// - **writes** by signed-in users: from 90 %;
/// - **reads** by signed-in users: at the limit.
public final class LoadShedder: RequestObserver {
    public enum Class: Sendable, Equatable {
        case never, anonymous, write, read

        /// The class as a metrics label.
        public var label: String {
            switch self {
            case .never: "never"
            case .anonymous: "anonymous"
            case .write: "write"
            case .read: "read"
            }
        }

        /// The share of the limit beyond which this class is shed.
        var threshold: Double {
            switch self {
            case .never: .infinity
            case .anonymous: 0.8
            case .write: 0.9
            case .read: 1.0
            }
        }
    }

    /// What operators and metrics see.
    public struct Snapshot: Sendable, Equatable {
        public let limit: Int
        public let inflight: Int
        public let shed: Int
        /// Requests shed by class label (`anonymous`, `write`, `read`).
        public var shedByClass: [String: Int] = [:]
    }

    struct State {
        var limit: AdaptiveConcurrencyLimit
        var inflight = 0
        var shed = 0
        var shedByClass: [String: Int] = [:]
        /// Requests refused here, until their `end` (the seam ends the refusing observer too).
        var refused: Set<RequestKey> = []
        var overloaded = false
    }

    struct RequestKey: Hashable {
        let id: String
        let started: UInt64
    }

    static let neverShed: Set<String> = ["/health/live", "/health/ready", "/api/v1/pay/wechat/notify"]

    private let state: Mutex<State>
    let logger: Logger

    public init(_ configuration: AdaptiveConcurrencyLimit.Configuration = .init(), logger: Logger) {
        state = Mutex(State(limit: AdaptiveConcurrencyLimit(configuration)))
        self.logger = logger
    }

    public var snapshot: Snapshot {
        state.withLock { Snapshot(limit: Int($0.limit.limit), inflight: $0.inflight, shed: $0.shed, shedByClass: $0.shedByClass) }
    }

    public static func classify(_ request: RequestStart) -> Class {
        if neverShed.contains(request.route) { return .never }
        if request.headers.first("Authorization") == nil { return .anonymous }
        return request.method == .get || request.method == .head ? .read : .write
    }

    public func begin(_ request: RequestStart) -> SwiftletError? {
        let requestClass = Self.classify(request)
        let (shed, startedShedding) = state.withLock { state -> (Bool, Bool) in
            guard Double(state.inflight) >= state.limit.limit * requestClass.threshold else {
                state.inflight += 1
                return (false, false)
            }
            state.shed += 1
            state.shedByClass[requestClass.label, default: 0] += 1
            state.refused.insert(RequestKey(id: request.requestID, started: request.started.uptimeNanoseconds))
            defer { state.overloaded = true }
            return (true, !state.overloaded)
        }
        guard shed else { return nil }
        if startedShedding {
            logger.warning("overloaded: shedding requests beyond the adaptive concurrency limit", metadata: [
                "limit": .stringConvertible(snapshot.limit)])
        }
        return SwiftletError(.unavailable, code: "overloaded", message: "The server is overloaded; retry shortly.",
                             retryAfterSeconds: 1)
    }

    public func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        let recovered = state.withLock { state -> Bool in
            if state.refused.remove(RequestKey(id: request.requestID, started: request.started.uptimeNanoseconds)) != nil {
                return false
            }
            state.limit.record(rttNanoseconds: outcome.durationNanoseconds, inflight: state.inflight)
            state.inflight -= 1
            guard state.overloaded, Double(state.inflight) < state.limit.limit * 0.5 else { return false }
            state.overloaded = false
            return true
        }
        if recovered {
            logger.notice("no longer overloaded", metadata: ["limit": .stringConvertible(snapshot.limit)])
        }
    }
}
