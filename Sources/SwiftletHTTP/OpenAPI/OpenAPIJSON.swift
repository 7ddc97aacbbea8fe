import SwiftletCore
import SwiftletTransport

/// A JSON value written as Swift literals.
///
/// The OpenAPI document is declared with it so the source reads like the JSON it renders
/// to, the compiler checks its syntax, and the many repeated parts (error bodies, auth
/// failures, paging parameters) are written once as functions instead of copied.
/// Object keys keep their declared order, so the rendered document is stable.
public indirect enum OpenAPIJSON: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case array([OpenAPIJSON])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public let key: String
        public let value: OpenAPIJSON
    }

    /// This object with `other`'s members added (a member of `other` replaces one of the
    /// same key). Non-objects are returned unchanged.
    public func merging(_ other: OpenAPIJSON) -> OpenAPIJSON {
        guard case .object(var members) = self, case .object(let extra) = other else { return self }
        for member in extra {
            if let index = members.firstIndex(where: { $0.key == member.key }) {
                members[index] = member
            } else {
                members.append(member)
            }
        }
        return .object(members)
    }

    /// The compact JSON text.
    public func rendered() -> String {
        var text = ""
        render(into: &text)
        return text
    }

    func render(into text: inout String) {
        switch self {
        case .string(let value):
            JSONText.appendString(value, to: &text)
        case .integer(let value):
            text += String(value)
        case .bool(let value):
            text += value ? "true" : "false"
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.render(into: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { text += "," }
                JSONText.appendString(member.key, to: &text)
                text += ":"
                member.value.render(into: &text)
            }
            text += "}"
        }
    }
}

extension OpenAPIJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: OpenAPIJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, OpenAPIJSON)...) {
        self = .object(elements.map { Member(key: $0.0, value: $0.1) })
    }
}
