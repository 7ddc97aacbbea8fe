/// The kind of a subscribe-message field, from its key (`thing1` → `thing`), with
/// WeChat's limits on its value. Values are fitted before sending: text kinds are cut to
/// their length (a long product name still tells the user what it is about), kinds with
/// a strict shape (`number`, `amount`, …) are refused when the value does not have it,
/// since WeChat would answer 47003 and cutting would change their meaning.
public enum SubscribeFieldKind: Sendable, Equatable {
    case thing, number, letter, symbol, characterString, time, date, amount, phoneNumber, carNumber, name, phrase
    case other(String)

    public init(key: String) {
        let base = String(key.reversed().drop(while: \.isNumber).reversed())
        switch base {
        case "thing": self = .thing
        case "number": self = .number
        case "letter": self = .letter
        case "symbol": self = .symbol
        case "character_string": self = .characterString
        case "time": self = .time
        case "date": self = .date
        case "amount": self = .amount
        case "phone_number": self = .phoneNumber
        case "car_number": self = .carNumber
        case "name": self = .name
        case "phrase": self = .phrase
        default: self = .other(base)
        }
    }

    /// The value as it will be sent, or why it cannot be.
    public func fit(_ value: String) -> Result<String, SubscribeFieldRejection> {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return .failure(SubscribeFieldRejection("empty")) }
        switch self {
        case .thing: return .success(String(trimmed.prefix(20)))
        case .name: return .success(String(trimmed.prefix(trimmed.unicodeScalars.allSatisfy(\.isASCII) ? 20 : 10)))
        case .phrase: return .success(String(trimmed.prefix(5)))
        case .symbol: return .success(String(trimmed.prefix(5)))
        case .carNumber: return .success(String(trimmed.prefix(8)))
        case .time, .date: return trimmed.count <= 32 ? .success(trimmed) : .failure(SubscribeFieldRejection("longer than 32 characters"))
        case .letter:
            let letters = trimmed.filter { $0.isASCII && $0.isLetter }
            return letters.isEmpty ? .failure(SubscribeFieldRejection("no letters")) : .success(String(letters.prefix(32)))
        case .characterString:
            // Letters, digits and symbols only: other characters (spaces, controls, CJK) are dropped.
            let kept = trimmed.filter { ($0.asciiValue ?? 0) > 0x20 && $0.asciiValue != 0x7F }
            return kept.isEmpty ? .failure(SubscribeFieldRejection("no letters, digits or symbols")) : .success(String(kept.prefix(32)))
        case .number:
            return Self.isNumber(trimmed) && trimmed.count <= 32 ? .success(trimmed) : .failure(SubscribeFieldRejection("not a number of at most 32 characters"))
        case .amount:
            return Self.isAmount(trimmed) ? .success(trimmed) : .failure(SubscribeFieldRejection("not an amount (digits, at most 2 decimals)"))
        case .phoneNumber:
            let ok = trimmed.count <= 17 && trimmed.allSatisfy { $0.isASCII && ($0.isNumber || "+- ".contains($0)) }
            return ok ? .success(trimmed) : .failure(SubscribeFieldRejection("not a phone number of at most 17 characters"))
        case .other:
            return .success(String(trimmed.prefix(64)))
        }
    }

    static func isNumber(_ text: String) -> Bool {
        var body = Substring(text)
        if body.first == "-" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    static func isAmount(_ text: String) -> Bool {
        var body = Substring(text)
        if body.hasPrefix("¥") { body = body.dropFirst() }
        if body.hasSuffix("元") { body = body.dropLast() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard body.count <= 16, (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else { return false }
        return parts.count == 1 || parts[1].count <= 2
    }
}

/// Why a value does not fit its field.
public struct SubscribeFieldRejection: Error, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
