import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletServer
import SwiftletTransport
import Testing

/// The inline lane answers I/O-free GETs on the event loop; these tests pin down exactly
/// which requests it may take, that responses keep their order, and that every inline
/// answer equals the router's.
@Suite("Inline lane")
struct InlineLaneTests {
    /// A test route whose inline and router copies answer differently on purpose, so a
    /// test can see which one served a request. `X-Decline` makes the inline copy decline.
    static let customization: SwiftletCustomization = {
        var customization = TestRoutes.customization
        let routes = customization.routes
        customization.routes = { router, storage in
            routes(router, storage)
            router.get("/test/lane") { _, _ in "router" }
            router.get("/test/lane/{name}") { _, context in "router " + (context.parameters.get("name") ?? "") }
        }
        customization.inlineRoutes = { table in
            table.get("/test/lane") { request in
                request.header("x-decline") == nil
                    ? .plainText("inline") : nil
            }
            table.get("/test/lane/{name}") { request in
                .plainText("inline \(request.parameter ?? "")")
            }
        }
        return customization
    }()

    static func withServer(
        _ adjust: @escaping (inout SwiftletConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (_ port: Int) async throws -> Void
    ) async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage, config: TestApp.config(adjust), customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(try #require(client.port))
            }
        }
    }

    @Test("a kept-alive GET to an inline route is answered inline, with the router's headers")
    func answeredInline() async throws {
        try await Self.withServer { port in
            let replies = try await RawConnection.open(port: port).exchange(
                "GET /test/lane HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /test/lane/ab?x=1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine-1\r\n\r\n",
                responses: 2)
            #expect(replies.map(\.body) == ["inline", "inline ab"])
            #expect(replies[0].status == 200)
            #expect(replies[0].headers["content-length"] == "6")
            #expect(replies[0].headers["content-type"] == "text/plain; charset=utf-8")
            #expect(replies[0].headers["server"] == "swiftlet")
            #expect(replies[0].headers["date"]?.hasSuffix(" GMT") == true)
            #expect(replies[0].headers["x-request-id"]?.isEmpty == false)
            #expect(replies[1].headers["x-request-id"] == "mine-1")
        }
    }

    @Test("anything unusual goes to the router", arguments: [
        "GET /test/lane HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /test/lane HTTP/1.0\r\nHost: x\r\n\r\n",
        "GET /test/lane HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
        "GET /test/lane HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        "GET /test/lane HTTP/1.1\r\nHost: x\r\nX-Decline: 1\r\n\r\n",
        "GET /test/lane/a%62 HTTP/1.1\r\nHost: x\r\n\r\n",
    ])
    func unusualRequestsGoToTheRouter(request: String) async throws {
        try await Self.withServer { port in
            let reply = try #require(try await RawConnection.open(port: port).exchange(request, responses: 1).first)
            #expect(reply.status == 200)
            #expect(reply.body.hasPrefix("router"), "\(request)")
        }
    }

    @Test("HEAD is left to the router")
    func headGoesToTheRouter() async throws {
        try await Self.withServer { port in
            let reply = try #require(try await RawConnection.open(port: port).exchange(
                "HEAD /test/lane HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1, bodiless: true).first)
            // The router's answer: it serves GET only here.
            #expect(reply.status == 405)
            #expect(reply.headers["allow"] == "GET")
        }
    }

    @Test("pipelined requests behind a router request wait for it, and keep their order")
    func pipeliningKeepsOrder() async throws {
        try await Self.withServer { port in
            let connection = try await RawConnection.open(port: port)
            let replies = try await connection.exchange(
                "GET /test/slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /test/lane HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /test/lane/b HTTP/1.1\r\nHost: x\r\n\r\n",
                responses: 3, thenSend: "GET /test/lane HTTP/1.1\r\nHost: x\r\n\r\n", responsesAfter: 1)
            // Behind the slow request both went to the router; once it answered, the
            // lane takes requests again.
            #expect(replies.map(\.body) == ["done", "router", "router b", "inline"])
        }
    }

    @Test("turned off by http.inlineRoutes")
    func turnedOff() async throws {
        try await Self.withServer({ $0.http.inlineRoutes = false }) { port in
            let reply = try #require(try await RawConnection.open(port: port).exchange(
                "GET /test/lane HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1).first)
            #expect(reply.body == "router")
        }
    }

    @Test("Swiftlet's inline routes answer exactly what the router answers",
          arguments: ["/json", "/plaintext", "/user/42", "/health/live"])
    func sameAnswerBothWays(path: String) async throws {
        try await Self.withServer({ $0.benchEndpoints = true }) { port in
            let inline = try #require(try await RawConnection.open(port: port).exchange(
                "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1).first)
            let routed = try #require(try await RawConnection.open(port: port).exchange(
                "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", responses: 1).first)
            #expect(inline.status == 200)
            #expect(inline.status == routed.status)
            #expect(inline.body == routed.body)
            for name in ["content-type", "content-length", "server"] {
                #expect(inline.headers[name] == routed.headers[name], "\(name)")
            }
        }
    }
}

/// One parsed HTTP/1.1 response.
struct RawReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: String
}

extension RawConnection {
    /// Writes `request` (any number of pipelined requests), reads `responses` responses,
    /// then optionally sends `thenSend` and reads `responsesAfter` more.
    func exchange(
        _ request: String, responses: Int, bodiless: Bool = false,
        thenSend: String? = nil, responsesAfter: Int = 0
    ) async throws -> [RawReply] {
        try await channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var buffer = ""
            var replies: [RawReply] = []
            func read(_ count: Int) async throws {
                let target = replies.count + count
                while replies.count < target {
                    if let (reply, rest) = RawReply.parse(buffer, bodiless: bodiless) {
                        replies.append(reply)
                        buffer = rest
                        continue
                    }
                    guard let chunk = try await iterator.next() else { throw RawReplyError.closedEarly(buffer) }
                    buffer += String(buffer: chunk)
                }
            }
            try await outbound.write(ByteBuffer(string: request))
            try await read(responses)
            if let thenSend {
                try await outbound.write(ByteBuffer(string: thenSend))
                try await read(responsesAfter)
            }
            return replies
        }
    }
}

enum RawReplyError: Error {
    case closedEarly(String)
}

extension RawReply {
    /// The first complete response in `text` and what follows it; nil if incomplete.
    static func parse(_ text: String, bodiless: Bool) -> (RawReply, String)? {
        guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = bodiless ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        let bodyBytes = Array(text[headEnd.upperBound...].utf8)
        guard bodyBytes.count >= length else { return nil }
        let body = String(decoding: bodyBytes[..<length], as: UTF8.self)
        let rest = String(decoding: bodyBytes[length...], as: UTF8.self)
        return (RawReply(status: status, headers: headers, body: body), rest)
    }
}
