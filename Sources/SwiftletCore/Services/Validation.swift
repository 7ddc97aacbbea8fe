import Foundation

/// Input rules shared by services. Each failure is a 400 with a field-specific code.
public enum Validation {
    public static func loginCode(_ code: String) throws {
        guard !code.isEmpty, code.utf8.count <= 256, !code.contains(where: { $0.isNewline || $0.isWhitespace }) else {
            throw SwiftletError.invalid("auth.invalid_code", "The login code must be 1–256 characters without spaces.")
        }
    }

    public static func phoneCode(_ code: String) throws {
        guard !code.isEmpty, code.utf8.count <= 256, !code.contains(where: { $0.isNewline || $0.isWhitespace }) else {
            throw SwiftletError.invalid("profile.invalid_phone_code", "The phone code must be 1–256 characters without spaces.")
        }
    }

    public static func device(_ device: String?) throws -> String? {
        guard let device else { return nil }
        let trimmed = device.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return nil }
        guard fits(trimmed, characters: 0...128), !containsControlCharacters(trimmed) else {
            throw SwiftletError.invalid("auth.invalid_device", "The device label must be at most 128 printable characters (\(maxBytes(128)) bytes in UTF-8).")
        }
        return trimmed
    }

    public static func nickname(_ nickname: String) throws -> String {
        let trimmed = nickname.trimmingCharacters(in: .whitespacesAndNewlines)
        guard fits(trimmed, characters: 1...64), !containsControlCharacters(trimmed) else {
            throw SwiftletError.invalid("profile.invalid_nickname", "The nickname must be 1–64 printable characters (at most \(maxBytes(64)) bytes in UTF-8).")
        }
        return trimmed
    }

    public static func avatarURL(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= 1024, let url = URL(string: trimmed),
              let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme),
              let host = url.host, !host.isEmpty, !containsControlCharacters(trimmed)
        else {
            throw SwiftletError.invalid("profile.invalid_avatar_url", "The avatar URL must be an http(s) URL of at most 1024 characters.")
        }
        return trimmed
    }

    /// Whether `text` has a number of characters in `characters` and at most
    /// `maxBytes(characters.upperBound)` bytes of UTF-8.
    ///
    /// A character (what a reader sees as one) can carry any number of combining marks,
    /// so a limit in characters alone lets one nickname weigh a megabyte. Every text
    /// field is therefore also limited in UTF-8 bytes, to 4 per character: room for any
    /// text of ordinary characters (CJK and single emoji included; a text made only of
    /// composed emoji — families, flags, skin tones — meets the byte limit before the
    /// character limit). The bytes are counted first,
    /// which is free, so an oversized text is refused before its characters are counted.
    public static func fits(_ text: String, characters: ClosedRange<Int>) -> Bool {
        text.utf8.count <= maxBytes(characters.upperBound) && characters.contains(text.count)
    }

    /// The byte limit of a field limited to `characters` characters.
    public static func maxBytes(_ characters: Int) -> Int { characters * 4 }

    public static func containsControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format && $0 != "\u{200D}" }
    }
}
