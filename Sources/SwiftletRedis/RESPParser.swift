import NIOCore

/// Reads RESP2 and RESP3 replies from bytes, one complete value at a time.
///
/// A value-type parser with no IO: `parse` either consumes one whole value from the
/// front of the buffer or, if the value is not complete yet, consumes nothing and returns
/// nil (the caller waits for more bytes). Limits keep a hostile or broken server from
/// costing unbounded memory: a bulk string longer than `maxBulkLength`, an aggregate with
/// more than `maxElements` entries, nesting deeper than `maxDepth` or a line without its
/// CRLF after `maxLineLength` bytes is a protocol violation, never an allocation.
public struct RESPParser: Sendable {
    public var maxBulkLength: Int
    public var maxElements: Int
    public var maxDepth: Int
    public var maxLineLength: Int

    public init(maxBulkLength: Int = 64 << 20, maxElements: Int = 1 << 22, maxDepth: Int = 32, maxLineLength: Int = 1 << 20) {
        self.maxBulkLength = maxBulkLength
        self.maxElements = maxElements
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }

    /// One complete value from the front of `buffer`, or nil (nothing consumed) if the
    /// bytes for it have not all arrived.
    public func parse(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var copy = buffer
        guard let value = try parseValue(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RESPValue? {
        guard depth <= maxDepth else { throw violation("replies nested deeper than \(maxDepth)") }
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return try line(&buffer).map { .simpleString($0) }
        case UInt8(ascii: "-"):
            return try line(&buffer).map { .error(RedisError(serverReply: $0)) }
        case UInt8(ascii: ":"):
            guard let text = try line(&buffer) else { return nil }
            guard let value = Int64(text) else { throw violation("integer reply \(text.prefix(32))") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = try length(&buffer) else { return nil }
            if length < 0 { return .null }
            return try bulk(&buffer, length: length).map { .bulkString($0) }
        case UInt8(ascii: "!"):
            guard let length = try length(&buffer) else { return nil }
            guard length >= 0 else { throw violation("bulk error of length \(length)") }
            return try bulk(&buffer, length: length).map { .error(RedisError(serverReply: String(buffer: $0))) }
        case UInt8(ascii: "="):
            guard let length = try length(&buffer) else { return nil }
            guard length >= 4 else { throw violation("verbatim string of length \(length)") }
            guard let bytes = try bulk(&buffer, length: length) else { return nil }
            let text = String(buffer: bytes)
            return .verbatimString(format: String(text.prefix(3)), text: String(text.dropFirst(4)))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try length(&buffer) else { return nil }
            if count < 0 { return .null }
            guard let items = try elements(&buffer, count: count, depth: depth) else { return nil }
            switch marker {
            case UInt8(ascii: "*"): return .array(items)
            case UInt8(ascii: "~"): return .set(items)
            default: return .push(items)
            }
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = try length(&buffer) else { return nil }
            guard count >= 0 else { throw violation("map of length \(count)") }
            guard count <= maxElements / 2 else { throw violation("map of \(count) entries") }
            guard let items = try elements(&buffer, count: count * 2, depth: depth) else { return nil }
            let pairs = stride(from: 0, to: items.count, by: 2).map { (key: items[$0], value: items[$0 + 1]) }
            if marker == UInt8(ascii: "%") { return .map(pairs) }
            // An attribute annotates the value that follows it; callers want that value.
            return try parseValue(&buffer, depth: depth)
        case UInt8(ascii: "_"):
            return try line(&buffer).map { _ in .null }
        case UInt8(ascii: "#"):
            guard let text = try line(&buffer) else { return nil }
            switch text {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw violation("boolean reply \(text.prefix(8))")
            }
        case UInt8(ascii: ","):
            guard let text = try line(&buffer) else { return nil }
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan", "-nan": return .double(.nan)
            default:
                guard let value = Double(text) else { throw violation("double reply \(text.prefix(32))") }
                return .double(value)
            }
        case UInt8(ascii: "("):
            guard let text = try line(&buffer) else { return nil }
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { throw violation("big number reply") }
            return .bigNumber(text)
        default:
            throw violation("unknown reply type byte \(marker)")
        }
    }

    private func elements(_ buffer: inout ByteBuffer, count: Int, depth: Int) throws(RedisError) -> [RESPValue]? {
        guard count <= maxElements else { throw violation("aggregate of \(count) elements") }
        // Reserve no more than the bytes present could hold (3 bytes per element at least),
        // so a huge announced count costs nothing before its elements arrive.
        var items: [RESPValue] = []
        items.reserveCapacity(min(count, buffer.readableBytes / 3 + 1))
        for _ in 0..<count {
            guard let item = try parseValue(&buffer, depth: depth + 1) else { return nil }
            items.append(item)
        }
        return items
    }

    /// The text up to the next CRLF (consumed), or nil if the CRLF has not arrived.
    private func line(_ buffer: inout ByteBuffer) throws(RedisError) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")) else {
            if view.count > maxLineLength { throw violation("line longer than \(maxLineLength) bytes") }
            return nil
        }
        let length = cr - view.startIndex
        guard length <= maxLineLength else { throw violation("line longer than \(maxLineLength) bytes") }
        guard view.count > length + 1 else { return nil }
        guard view[cr + 1] == UInt8(ascii: "\n") else { throw violation("CR without LF") }
        let text = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 2)
        return text
    }

    /// A length line (`-1` or a non-negative decimal), read from the bytes directly: it
    /// precedes every bulk string and aggregate, so it makes no String.
    private func length(_ buffer: inout ByteBuffer) throws(RedisError) -> Int? {
        let view = buffer.readableBytesView
        var index = view.startIndex
        var negative = false
        if index < view.endIndex, view[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value = 0
        var digits = 0
        while index < view.endIndex {
            let byte = view[index]
            if byte == UInt8(ascii: "\r") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 18 else { throw violation("length line") }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        guard index + 1 < view.endIndex else {
            if index - view.startIndex > maxLineLength { throw violation("line longer than \(maxLineLength) bytes") }
            return nil
        }
        guard view[index + 1] == UInt8(ascii: "\n"), digits > 0, !negative || value == 1 else { throw violation("length line") }
        buffer.moveReaderIndex(to: index + 2)
        return negative ? -1 : value
    }

    private func bulk(_ buffer: inout ByteBuffer, length: Int) throws(RedisError) -> ByteBuffer? {
        guard length <= maxBulkLength else { throw violation("bulk string of \(length) bytes") }
        guard buffer.readableBytes >= length + 2 else { return nil }
        let bytes = buffer.readSlice(length: length)!
        guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw violation("bulk string without CRLF") }
        return bytes
    }

    private func violation(_ detail: String) -> RedisError {
        RedisError(.protocolViolation, "unexpected bytes from the server: \(detail)")
    }
}
