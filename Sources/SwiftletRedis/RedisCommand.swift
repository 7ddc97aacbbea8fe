import NIOCore

/// One command, encoded once when it is made: a RESP array of bulk strings (binary-safe,
/// so values may hold any bytes). Sending it, alone or in a pipeline, only copies bytes.
public struct RedisCommand: Sendable {
    /// The command as it goes on the wire.
    public let encoded: ByteBuffer

    /// The command's name in upper case (for logs and errors; never its arguments, which
    /// may be secrets or personal data). Read back from the encoded bytes: it is rarely
    /// needed, so making a command does not pay for it.
    public var name: String {
        var buffer = encoded
        guard let array = Self.readLine(&buffer), array.hasPrefix("*"), let header = Self.readLine(&buffer),
              header.hasPrefix("$"), let length = Int(header.dropFirst()), let word = buffer.readString(length: length)
        else { return "" }
        return word.uppercased()
    }

    private static func readLine(_ buffer: inout ByteBuffer) -> String? {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")) else { return nil }
        let line = buffer.readString(length: end - buffer.readerIndex)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A command whose words are bytes (the first is its name).
    public init(_ words: [ByteBuffer]) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(words.reduce(16) { $0 + $1.readableBytes + 16 })
        Self.writeHeader(UInt8(ascii: "*"), words.count, into: &buffer)
        for word in words {
            Self.writeHeader(UInt8(ascii: "$"), word.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(word)
            buffer.writeStaticString("\r\n")
        }
        encoded = buffer
    }

    public init(_ name: String, _ arguments: [String] = []) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(arguments.reduce(name.utf8.count + 32) { $0 + $1.utf8.count + 16 })
        Self.writeHeader(UInt8(ascii: "*"), arguments.count + 1, into: &buffer)
        Self.writeWord(name, into: &buffer)
        for argument in arguments { Self.writeWord(argument, into: &buffer) }
        encoded = buffer
    }

    public init(_ name: String, _ arguments: String...) {
        self.init(name, arguments)
    }

    /// Appends the command's bytes.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeImmutableBuffer(encoded)
    }

    private static func writeWord(_ word: String, into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "$"), word.utf8.count, into: &buffer)
        buffer.writeString(word)
        buffer.writeStaticString("\r\n")
    }

    /// `<marker><decimal count>\r\n`, digits written directly (no String in between).
    private static func writeHeader(_ marker: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(marker)
        if count < 10 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(count))
        } else {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                         UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var remaining = count
            var length = 0
            withUnsafeMutableBytes(of: &digits) { bytes in
                while remaining > 0 {
                    bytes[19 - length] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                    length += 1
                }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[(20 - length)...]))
            }
        }
        buffer.writeStaticString("\r\n")
    }
}
