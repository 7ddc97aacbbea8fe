import HTTPTypes
import SwiftletCore
import Synchronization

extension HTTPField.Name {
    public static let requestID = HTTPField.Name("X-Request-Id")!
}

/// Request ids: a client's own `X-Request-Id` when it is sane, otherwise a new one.
///
/// New ids are a random per-process prefix plus a counter: unique across nodes and
/// restarts for practical purposes, and far cheaper than a CSPRNG call per request.
public final class RequestIDs: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    public init() {
        self.prefix = RandomID.base32(byteCount: 5)
    }

    public func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return prefix + "-" + String(value, radix: 32)
    }

    /// The id of a request: the client's own `X-Request-Id` when acceptable, else a new one.
    public func resolve(supplied: String?) -> String {
        if let supplied, Self.isAcceptable(supplied[...]) { return supplied }
        return next()
    }

    /// Accepts 1–128 characters of `[A-Za-z0-9._:-]` so ids cannot inject into logs.
    public static func isAcceptable(_ candidate: Substring) -> Bool {
        guard !candidate.isEmpty, candidate.utf8.count <= 128 else { return false }
        return candidate.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "-"), UInt8(ascii: ":"):
                true
            default:
                false
            }
        }
    }
}
