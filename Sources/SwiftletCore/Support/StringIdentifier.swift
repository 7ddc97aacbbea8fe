/// A typed identifier that is a string on the wire and in storage.
///
/// Separate types for user, session, order ids make it a compile error to pass one
/// where another is expected; this protocol gives them their shared behaviour.
public protocol StringIdentifier: Hashable, Sendable, Codable, CustomStringConvertible, RawRepresentable where RawValue == String {
    init(rawValue: String)
}

extension StringIdentifier {
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}
