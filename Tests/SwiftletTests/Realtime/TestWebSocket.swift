import Foundation
import NIOCore
import NIOPosix

/// A WebSocket client over a raw TCP connection, written for the tests so they control
/// every byte: the handshake and its headers, masked or unmasked frames, oversized
/// frames, and not reading at all.
final class TestWebSocket: @unchecked Sendable {
    enum Event: Sendable, Equatable {
        case text(String)
        case ping
        case close(code: UInt16, reason: String)
        /// The TCP connection ended.
        case ended
    }

    struct Refusal: Error, CustomStringConvertible {
        let status: Int
        let head: String
        let body: String
        var description: String { "refused \(status): \(body)" }
    }

    let channel: any Channel
    private let events: EventQueue

    private init(channel: any Channel, events: EventQueue) {
        self.channel = channel
        self.events = events
    }

    /// Opens a socket to `path`; throws `Refusal` when the server answers without switching.
    static func connect(
        port: Int, path: String = "/api/v1/realtime", token: String? = nil, headers: [(String, String)] = [],
        autoRead: Bool = true
    ) async throws -> TestWebSocket {
        let events = EventQueue()
        let handshake = HandshakeResult()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: autoRead)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientHandler(events: events, handshake: handshake))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        if !autoRead { channel.read() }
        let (status, head, body) = try await handshake.wait()
        guard status == 101 else {
            try? await channel.close()
            throw Refusal(status: status, head: head, body: body)
        }
        return TestWebSocket(channel: channel, events: events)
    }

    /// The next event, or nil if none came within `timeout`.
    func next(timeout: Duration = .seconds(10)) async -> Event? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let event = events.pop() { return event }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The next text frame as a JSON object, skipping pings; nil on anything else.
    func nextJSON(timeout: Duration = .seconds(10)) async -> [String: Any]? {
        while let event = await next(timeout: timeout) {
            switch event {
            case .text(let text):
                return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            case .ping:
                continue
            default:
                return nil
            }
        }
        return nil
    }

    /// Frames until the close, returned with it (nil if none came within `timeout`).
    func untilClose(timeout: Duration = .seconds(10)) async -> (frames: [String], close: (code: UInt16, reason: String)?) {
        var frames: [String] = []
        while let event = await next(timeout: timeout) {
            switch event {
            case .text(let text): frames.append(text)
            case .ping: continue
            case .close(let code, let reason): return (frames, (code, reason))
            case .ended: return (frames, nil)
            }
        }
        return (frames, nil)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(Self.frame(opcode: 0x1, payload: Array(text.utf8), masked: true))
    }

    func send(json: [String: Any]) async throws {
        try await send(String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
    }

    func sendFrame(opcode: UInt8, payload: [UInt8], masked: Bool = true, fin: Bool = true) async throws {
        try await channel.writeAndFlush(Self.frame(opcode: opcode, payload: payload, masked: masked, fin: fin))
    }

    func close() async {
        try? await channel.close()
    }

    static func frame(opcode: UInt8, payload: [UInt8], masked: Bool, fin: Bool = true) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger((fin ? 0x80 : 0) | opcode)
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            buffer.writeInteger(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            buffer.writeInteger(maskBit | 126)
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(maskBit | 127)
            buffer.writeInteger(UInt64(payload.count))
        }
        if masked {
            let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
            buffer.writeBytes(key)
            buffer.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
        } else {
            buffer.writeBytes(payload)
        }
        return buffer
    }
}

/// Events from the event loop, taken by the test in order.
private final class EventQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [TestWebSocket.Event] = []
    private var head = 0

    func push(_ event: TestWebSocket.Event) { lock.withLock { events.append(event) } }

    func pop() -> TestWebSocket.Event? {
        lock.withLock {
            guard head < events.count else { return nil }
            defer { head += 1 }
            return events[head]
        }
    }
}

/// The handshake's answer, handed from the event loop to the connecting task.
private final class HandshakeResult: @unchecked Sendable {
    private let lock = NSLock()
    private var result: (Int, String, String)?
    private var waiter: CheckedContinuation<(Int, String, String), any Error>?

    func set(_ value: (Int, String, String)) {
        let waiter = lock.withLock { () -> CheckedContinuation<(Int, String, String), any Error>? in
            guard result == nil else { return nil }
            result = value
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume(returning: value)
    }

    func wait() async throws -> (Int, String, String) {
        try await withCheckedThrowingContinuation { continuation in
            let ready = lock.withLock { () -> (Int, String, String)? in
                if let result { return result }
                waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Parses the HTTP answer, then the server's (unmasked) frames.
private final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let events: EventQueue
    private let handshake: HandshakeResult
    private var buffer = ByteBuffer()
    private var upgraded = false
    private var answered = false
    private var fragments: [UInt8] = []

    init(events: EventQueue, handshake: HandshakeResult) {
        self.events = events
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !upgraded { readHead() }
        if upgraded { readFrames() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !answered {
            answered = true
            handshake.set((0, "", String(buffer: buffer)))
        }
        events.push(.ended)
    }

    private func readHead() {
        let text = String(buffer: buffer)
        guard let end = text.range(of: "\r\n\r\n") else { return }
        let head = String(text[..<end.lowerBound])
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let headBytes = head.utf8.count + 4
        if status == 101 {
            buffer.moveReaderIndex(forwardBy: headBytes)
            upgraded = true
            answered = true
            handshake.set((101, head, ""))
        } else {
            let length = head.lowercased().split(separator: "\r\n")
                .first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            guard buffer.readableBytes >= headBytes + length else { return }
            buffer.moveReaderIndex(forwardBy: headBytes)
            let body = buffer.readString(length: length) ?? ""
            answered = true
            handshake.set((status, head, body))
        }
    }

    private func readFrames() {
        while true {
            let start = buffer.readerIndex
            guard let first = buffer.readInteger(as: UInt8.self), let second = buffer.readInteger(as: UInt8.self) else {
                buffer.moveReaderIndex(to: start)
                return
            }
            var length = Int(second & 0x7F)
            if length == 126 {
                guard let extended = buffer.readInteger(as: UInt16.self) else { buffer.moveReaderIndex(to: start); return }
                length = Int(extended)
            } else if length == 127 {
                guard let extended = buffer.readInteger(as: UInt64.self) else { buffer.moveReaderIndex(to: start); return }
                length = Int(extended)
            }
            guard let payload = buffer.readBytes(length: length) else {
                buffer.moveReaderIndex(to: start)
                return
            }
            let fin = first & 0x80 != 0
            switch first & 0x0F {
            case 0x0, 0x1:
                fragments += payload
                if fin {
                    events.push(.text(String(decoding: fragments, as: UTF8.self)))
                    fragments = []
                }
            case 0x8:
                let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1005
                events.push(.close(code: code, reason: String(decoding: payload.dropFirst(2), as: UTF8.self)))
            case 0x9:
                events.push(.ping)
            default:
                continue
            }
        }
    }
}
