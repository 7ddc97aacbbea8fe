/// Writes one flat JSON object by hand, for response bodies on the hottest paths (`/me`,
/// the benchmark endpoints), where an encoder's reflection and buffering cost more than
/// the rest of the request. Fields appear in the order written; nil values are left out,
/// as `JSONEncoder` leaves out nil optionals.
public struct JSONObjectWriter {
    private var text = "{"
    private var isFirst = true

    public init() {}

    public mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        appendKey(key)
        JSONText.appendString(value, to: &text)
    }

    public mutating func field(_ key: StaticString, _ value: Int) {
        appendKey(key)
        text += String(value)
    }

    public mutating func field(_ key: StaticString, _ values: [String]) {
        appendKey(key)
        text += "["
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            JSONText.appendString(value, to: &text)
        }
        text += "]"
    }

    /// The finished object.
    public consuming func finish() -> String {
        text += "}"
        return text
    }

    private mutating func appendKey(_ key: StaticString) {
        if isFirst { isFirst = false } else { text += "," }
        text += "\""
        text += key.description
        text += "\":"
    }
}
