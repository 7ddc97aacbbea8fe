import NIOCore

/// One command: its words, each sent as a RESP bulk string (binary-safe, so values may
/// hold any bytes).
public struct RedisCommand: Sendable {
    public var arguments: [ByteBuffer]

    public init(_ arguments: [ByteBuffer]) {
        self.arguments = arguments
    }

    public init(_ name: String, _ arguments: [String] = []) {
        self.arguments = ([name] + arguments).map { ByteBuffer(string: $0) }
    }

    public init(_ name: String, _ arguments: String...) {
        self.init(name, arguments)
    }

    /// The command's name in upper case (for logs and errors; never its arguments, which
    /// may be secrets or personal data).
    public var name: String {
        arguments.first.map { String(buffer: $0).uppercased() } ?? ""
    }

    /// Writes the command as a RESP array of bulk strings.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(argument.readableBytes))
            buffer.writeStaticString("\r\n")
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    var encodedByteCount: Int {
        arguments.reduce(16) { $0 + $1.readableBytes + 16 }
    }
}
