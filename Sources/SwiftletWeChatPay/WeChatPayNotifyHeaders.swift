/// The four `Wechatpay-*` headers that sign an answer or a notify.
///
/// Frameworks differ in how they expose headers, so this takes either the values
/// themselves or a case-insensitive lookup.
public struct WeChatPayNotifyHeaders: Sendable, Equatable {
    public static let timestampName = "Wechatpay-Timestamp"
    public static let nonceName = "Wechatpay-Nonce"
    public static let signatureName = "Wechatpay-Signature"
    public static let serialName = "Wechatpay-Serial"

    public var timestamp: String
    public var nonce: String
    public var signature: String
    public var serial: String

    public init(timestamp: String, nonce: String, signature: String, serial: String) {
        self.timestamp = timestamp
        self.nonce = nonce
        self.signature = signature
        self.serial = serial
    }

    /// Reads the headers through `lookup` (which should ignore case); nil when one is
    /// missing or blank, which means the message cannot be from WeChat Pay.
    public init?(lookup: (String) -> String?) {
        func value(_ name: String) -> String? {
            guard let raw = lookup(name)?.trimmingWhitespace(), !raw.isEmpty else { return nil }
            return raw
        }
        guard let timestamp = value(Self.timestampName), let nonce = value(Self.nonceName),
              let signature = value(Self.signatureName), let serial = value(Self.serialName)
        else { return nil }
        self.init(timestamp: timestamp, nonce: nonce, signature: signature, serial: serial)
    }

    /// Looks the headers up in a dictionary, ignoring the case of its keys.
    public init?(_ headers: [String: String]) {
        self.init { name in
            headers[name] ?? headers.first { $0.key.caseInsensitiveEquals(name) }?.value
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }

    func caseInsensitiveEquals(_ other: String) -> Bool {
        lowercased() == other.lowercased()
    }
}
