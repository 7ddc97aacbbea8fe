import Crypto

/// A Lua script run with `EVALSHA`: Redis caches scripts by their SHA-1, so after the
/// first run only the hash travels. A server that does not know the script (restarted,
/// `SCRIPT FLUSH`, another replica) answers `NOSCRIPT`; the client then loads it with
/// `SCRIPT LOAD` and runs it again, once.
public struct RedisScript: Sendable, Equatable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
