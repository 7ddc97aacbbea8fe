import NIOCore

/// One reply from Redis, in either protocol version.
///
/// RESP2 has five types (simple string, error, integer, bulk string, array; nulls are a
/// bulk string or array of length -1). RESP3 adds null, double, boolean, big number,
/// verbatim string, map, set, attribute and push. Both decode to this one enum, so
/// callers never care which protocol the connection speaks: a RESP2 null bulk string
/// and a RESP3 `_` are both `.null`.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    /// A server error reply: `kind` is its first word (`ERR`, `WRONGTYPE`, `NOSCRIPT`…).
    case error(RedisError)
    case integer(Int64)
    case bulkString(ByteBuffer)
    case array([RESPValue])
    case null
    case double(Double)
    case boolean(Bool)
    /// A big number, kept as its decimal digits.
    case bigNumber(String)
    /// A verbatim string with its three-letter format (`txt`, `mkd`).
    case verbatimString(format: String, text: String)
    /// Key/value pairs in the order the server sent them.
    case map([(key: RESPValue, value: RESPValue)])
    case set([RESPValue])
    /// An out-of-band message (pub/sub, client tracking) on a RESP3 connection.
    case push([RESPValue])

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case let (.simpleString(a), .simpleString(b)): a == b
        case let (.error(a), .error(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.bulkString(a), .bulkString(b)): a == b
        case let (.array(a), .array(b)): a == b
        case (.null, .null): true
        case let (.double(a), .double(b)): a == b || (a.isNaN && b.isNaN)
        case let (.boolean(a), .boolean(b)): a == b
        case let (.bigNumber(a), .bigNumber(b)): a == b
        case let (.verbatimString(f1, t1), .verbatimString(f2, t2)): f1 == f2 && t1 == t2
        case let (.map(a), .map(b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.set(a), .set(b)): a == b
        case let (.push(a), .push(b)): a == b
        default: false
        }
    }
}

extension RESPValue {
    /// The value as text: simple, bulk and verbatim strings, and numbers.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let buffer): String(buffer: buffer)
        case .verbatimString(_, let text): text
        case .integer(let value): String(value)
        case .bigNumber(let digits): digits
        case .double(let value): String(value)
        default: nil
        }
    }

    /// The value as an integer: integers, and strings holding one (`GET` of a counter).
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .boolean(let value): value ? 1 : 0
        case .simpleString, .bulkString, .bigNumber: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// Elements of an array, set or push (a map gives keys and values interleaved).
    public var elements: [RESPValue]? {
        switch self {
        case .array(let items), .set(let items), .push(let items): items
        case .map(let pairs): pairs.flatMap { [$0.key, $0.value] }
        default: nil
        }
    }

    public var isNull: Bool { self == .null }
}
