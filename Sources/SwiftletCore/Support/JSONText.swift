/// JSON string literals written by hand, for the two places that build JSON without an
/// encoder because they must be cheap and cannot fail: error bodies and log lines.
public enum JSONText {
    /// Appends `value` as a quoted, escaped JSON string.
    public static func appendString(_ value: String, to output: inout String) {
        output.append("\"")
        if !needsEscaping(value) {
            output.append(value)
            output.append("\"")
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output.append("\\\"")
            case "\\": output.append("\\\\")
            case "\n": output.append("\\n")
            case "\r": output.append("\\r")
            case "\t": output.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output.append("\"")
    }

    /// Whether any byte of `value` must be escaped; most values (paths, ids, codes) are
    /// copied whole instead.
    private static func needsEscaping(_ value: String) -> Bool {
        value.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `value` exactly as Foundation's `JSONEncoder` (default options) writes a
    /// string: `/` escaped as `\/`, backspace and form feed as `\b` and `\f`, for writers
    /// whose output must equal an encoder's byte for byte (the catalogue, which other
    /// implementations are compared with).
    public static func appendEncoderString(_ value: String, to output: inout [UInt8]) {
        appendEscaped(value, to: &output, likeJSONEncoder: true)
    }

    /// Appends `value` as a quoted, escaped JSON string to raw bytes: the same escaping,
    /// for writers that build lines as bytes (the access log) rather than as a `String`.
    public static func appendString(_ value: String, to output: inout [UInt8]) {
        appendEscaped(value, to: &output, likeJSONEncoder: false)
    }

    /// The one byte-level escaper: `likeJSONEncoder` adds what the encoder escapes beyond
    /// what JSON requires (`/`, and `\b`/`\f` for backspace and form feed).
    private static func appendEscaped(_ value: String, to output: inout [UInt8], likeJSONEncoder: Bool) {
        output.append(UInt8(ascii: "\""))
        if !likeJSONEncoder, !needsEscaping(value) {
            output.append(contentsOf: value.utf8)
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case UInt8(ascii: "/") where likeJSONEncoder: output.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0x08 where likeJSONEncoder: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C where likeJSONEncoder: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case UInt8(ascii: "\n"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                output.append(contentsOf: Array(#"\u00"#.utf8))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0xF)])
            default:
                // Valid UTF-8 (it comes from a String): copied as is.
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
