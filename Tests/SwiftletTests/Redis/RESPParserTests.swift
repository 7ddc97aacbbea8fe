import NIOCore
import SwiftletRedis
import Testing

/// The RESP2/RESP3 parser on bytes, without a server.
@Suite("RESP parser")
struct RESPParserTests {
    let parser = RESPParser()

    func parse(_ text: String) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try parser.parse(&buffer)
    }

    @Test("every RESP2 and RESP3 reply type decodes")
    func everyType() throws {
        #expect(try parse("+OK\r\n") == .simpleString("OK"))
        #expect(try parse("-WRONGTYPE Operation against a key\r\n") == .error(RedisError(serverReply: "WRONGTYPE Operation against a key")))
        #expect(try parse(":-42\r\n") == .integer(-42))
        #expect(try parse("$5\r\nhe\r\no\r\n") == .bulkString(ByteBuffer(string: "he\r\no")), "bulk strings are binary-safe")
        #expect(try parse("$0\r\n\r\n") == .bulkString(ByteBuffer()))
        #expect(try parse("$-1\r\n") == .null)
        #expect(try parse("*-1\r\n") == .null)
        #expect(try parse("*2\r\n:1\r\n*1\r\n+x\r\n") == .array([.integer(1), .array([.simpleString("x")])]))
        #expect(try parse("_\r\n") == .null)
        #expect(try parse(",3.25\r\n") == .double(3.25))
        #expect(try parse(",inf\r\n") == .double(.infinity))
        #expect(try parse(",-inf\r\n") == .double(-.infinity))
        #expect(try parse(",nan\r\n") == .double(.nan))
        #expect(try parse("#t\r\n") == .boolean(true))
        #expect(try parse("#f\r\n") == .boolean(false))
        #expect(try parse("(3492890328409238509324850943850943825024385\r\n") == .bigNumber("3492890328409238509324850943850943825024385"))
        #expect(try parse("!21\r\nSYNTAX invalid syntax\r\n") == .error(RedisError(serverReply: "SYNTAX invalid syntax")))
        #expect(try parse("=15\r\ntxt:Some string\r\n") == .verbatimString(format: "txt", text: "Some string"))
        #expect(try parse("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n") == .map([(.simpleString("a"), .integer(1)), (.simpleString("b"), .integer(2))]))
        #expect(try parse("~2\r\n+a\r\n+b\r\n") == .set([.simpleString("a"), .simpleString("b")]))
        #expect(try parse(">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n") == .push([.simpleString("message"), .simpleString("ch"), .bulkString(ByteBuffer(string: "hi"))]))
        // An attribute annotates the next value; the value is what callers get.
        #expect(try parse("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:7\r\n") == .array([.integer(7)]))
    }

    @Test("server errors carry their kind")
    func errorKind() throws {
        guard case .error(let error) = try parse("-NOSCRIPT No matching script\r\n") else { Issue.record("not an error"); return }
        #expect(error.serverKind == "NOSCRIPT")
        #expect(error.code == .server(kind: "NOSCRIPT"))
    }

    @Test("an incomplete value consumes nothing; fed byte by byte it decodes once complete")
    func incremental() throws {
        let text = "*3\r\n$3\r\nfoo\r\n%1\r\n+k\r\n,1.5\r\n:7\r\n+next\r\n"
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in text.utf8 {
            buffer.writeInteger(byte)
            let before = buffer.readerIndex
            if let value = try parser.parse(&buffer) {
                values.append(value)
            } else {
                #expect(buffer.readerIndex == before)
            }
        }
        #expect(values == [
            .array([.bulkString(ByteBuffer(string: "foo")), .map([(.simpleString("k"), .double(1.5))]), .integer(7)]),
            .simpleString("next"),
        ])
        #expect(buffer.readableBytes == 0)
    }

    @Test("hostile replies are violations, not allocations")
    func limits() throws {
        let small = RESPParser(maxBulkLength: 1024, maxElements: 100, maxDepth: 4, maxLineLength: 64)
        func violation(_ text: String) -> Bool {
            var buffer = ByteBuffer(string: text)
            do {
                _ = try small.parse(&buffer)
                return false
            } catch {
                return error.code == .protocolViolation
            }
        }
        #expect(violation("$999999999999\r\n"), "a huge announced bulk string")
        #expect(violation("*100000000\r\n"), "a huge announced array")
        #expect(violation("%60\r\n"), "a map beyond the element limit")
        #expect(violation(String(repeating: "*1\r\n", count: 10) + ":1\r\n"), "nesting beyond the depth limit")
        #expect(violation("+" + String(repeating: "a", count: 100)), "a line without CRLF beyond the line limit")
        #expect(violation("?1\r\n"), "an unknown type byte")
        #expect(violation(":12x\r\n"))
        #expect(violation("$3\r\nabcXY"), "a bulk string not followed by CRLF")
        #expect(violation("#x\r\n"))
        #expect(violation("+a\rb\r\n"), "CR without LF")
    }

    @Test("commands encode as arrays of bulk strings")
    func encoding() {
        var buffer = ByteBuffer()
        RedisCommand("SET", "k", "v\r\n").encode(into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n")
        #expect(RedisCommand("set", "k", "v").name == "SET")
        #expect(RedisCommand([ByteBuffer(string: "hget"), ByteBuffer(bytes: [0, 255])]).name == "HGET")
        var long = ByteBuffer()
        let words = (0..<12).map { String(repeating: "x", count: $0 * 10) }
        RedisCommand("RPUSH", words).encode(into: &long)
        #expect(String(buffer: long).hasPrefix("*13\r\n$5\r\nRPUSH\r\n$0\r\n\r\n$10\r\n"), "counts of two digits")
    }
}
