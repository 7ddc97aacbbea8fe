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
    /// what JSON requires (`/`, and `\b`/`\f` for backspace and form feed). Bytes that need
    /// no escape are copied in runs, not one at a time: a catalogue page is mostly such
    /// runs (titles, descriptions, image URLs between their slashes).
    private static func appendEscaped(_ value: String, to output: inout [UInt8], likeJSONEncoder: Bool) {
        output.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                        || (likeJSONEncoder && byte == UInt8(ascii: "/")) else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                appendEscape(of: byte, to: &output, likeJSONEncoder: likeJSONEncoder)
                runStart = index + 1
            }
            // Valid UTF-8 (it comes from a String): copied as is.
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(of byte: UInt8, to output: inout [UInt8], likeJSONEncoder: Bool) {
        output.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x08 where likeJSONEncoder: output.append(UInt8(ascii: "b"))
        case 0x0C where likeJSONEncoder: output.append(UInt8(ascii: "f"))
        case UInt8(ascii: "\n"): output.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): output.append(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): output.append(UInt8(ascii: "t"))
        case 0..<0x20:
            output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                       hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
        default:  // quote, backslash, slash: the byte itself after the backslash
            output.append(byte)
        }
    }
}
