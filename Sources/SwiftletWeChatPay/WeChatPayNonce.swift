/// Random nonces for request signatures and `wx.requestPayment`.
///
/// 32 alphanumeric characters, like the official SDKs: it fits `nonceStr`'s 32-character
/// limit and needs no escaping anywhere it is embedded.
public enum WeChatPayNonce {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A fresh nonce from the system's cryptographic random source.
    public static func generate(length: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(length: length, using: &generator)
    }

    /// A nonce drawn from `generator` (deterministic generators make tests repeatable).
    public static func generate(length: Int = 32, using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(length, 0))
        for _ in 0..<max(length, 0) {
            bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
