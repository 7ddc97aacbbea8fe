/// Product identifier: `p_` + 26 base32 characters. Random, so ids reveal nothing about
/// catalogue size.
public struct ProductID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> ProductID { ProductID(rawValue: "p_" + RandomID.base32(byteCount: 16)) }
}

/// Stock-keeping unit identifier: `k_` + 26 base32 characters.
public struct SKUID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> SKUID { SKUID(rawValue: "k_" + RandomID.base32(byteCount: 16)) }
}

/// Order identifier: `o_` + 26 base32 characters.
public struct OrderID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> OrderID { OrderID(rawValue: "o_" + RandomID.base32(byteCount: 16)) }
}

/// Refund identifier, also used as WeChat's `out_refund_no` (`R` + 26 uppercase base32).
public struct RefundID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> RefundID { RefundID(rawValue: "R" + RandomID.base32(byteCount: 16).uppercased()) }
}

/// The merchant order number WeChat Pay knows the order by.
///
/// WeChat requires 6–32 characters of `[0-9A-Za-z_-|*]`, unique per merchant. Ours are
/// `SL` + 26 uppercase base32 characters (128 random bits): unique without coordination
/// between nodes, and never reused for another order.
public struct OutTradeNo: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static func generate() -> OutTradeNo {
        OutTradeNo(rawValue: "SL" + RandomID.base32(byteCount: 16).uppercased())
    }

    /// Whether `text` follows WeChat's out_trade_no rules.
    public static func isValid(_ text: String) -> Bool {
        ASCIIToken.matches(text, length: 6...32, extra: "|*")
    }
}

/// ASCII letters, digits, `_` and `-` (plus `extra`), within a length: the shape of every
/// identifier Swiftlet issues and of WeChat's merchant numbers.
enum ASCIIToken {
    static func matches(_ text: String, length: ClosedRange<Int>, extra: StaticString = "") -> Bool {
        let extraBytes = UnsafeBufferPointer(start: extra.utf8Start, count: extra.utf8CodeUnitCount)
        return length.contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return extraBytes.contains(byte)
            }
        }
    }
}
