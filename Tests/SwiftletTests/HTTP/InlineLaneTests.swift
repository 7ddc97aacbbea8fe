import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletServer
import SwiftletTransport
import Synchronization
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
            router.get("/test/later") { _, _ in "router later" }
        }
        customization.inlineRoutes = { table in
            table.get("/test/lane") { request in
                request.header("x-decline") == nil
                    ? .plainText("inline") : nil
            }
            table.get("/test/lane/{name}") { request in
                .plainText("inline \(request.parameter ?? "")")
            }
            // Answered after `?ms=` milliseconds on the event loop; `?fail` fails with a
            // not-found error, `?crash` with an error nobody anticipated; `X-Decline` leaves
            // it to the router. Each started work is counted.
            table.get("/test/later", { _ in nil }, deferred: { request in
                guard request.header("x-decline") == nil else { return nil }
                let query = String(request.query ?? "")
                let delay = query.hasPrefix("ms=") ? Int64(query.dropFirst(3)) ?? 0 : 0
                return { eventLoop in
                    InlineLaneTests.workStarted.add(1, ordering: .relaxed)
                    return eventLoop.scheduleTask(in: .milliseconds(delay)) { () throws -> InlineResponse in
                        defer { InlineLaneTests.workFinished.add(1, ordering: .relaxed) }
                        if query == "fail" { throw SwiftletError.notFound("test.missing", "Nothing here.") }
                        if query == "crash" { throw TestSetupError("unexpected") }
                        return .plainText("later \(delay)")
                    }.futureResult
                }
            })
        }
        return customization
    }()

    static let workStarted = Atomic<Int>(0)
    static let workFinished = Atomic<Int>(0)

    /// A bodiless GET as it goes on the wire, with `fields` after `Host`.
    static func get(_ target: String, _ fields: String...) -> String {
        "GET \(target) HTTP/1.1\r\nHost: x\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
    }

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
                Self.get("/test/lane")
                    + Self.get("/test/lane/ab?x=1", "X-Request-Id: mine-1"),
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
                Self.get("/test/slow?ms=300")
                    + Self.get("/test/lane")
                    + Self.get("/test/lane/b"),
                responses: 3, thenSend: Self.get("/test/lane"), responsesAfter: 1)
            // Behind the slow request both went to the router; once it answered, the
            // lane takes requests again.
            #expect(replies.map(\.body) == ["done", "router", "router b", "inline"])
        }
    }

    @Test("an answer that waits for I/O is answered by the lane, with the router's headers and error mapping")
    func deferredAnswers() async throws {
        try await Self.withServer { port in
            let replies = try await RawConnection.open(port: port).exchange(
                Self.get("/test/later?ms=20", "X-Request-Id: mine-2")
                    + Self.get("/test/later?fail")
                    + Self.get("/test/later?crash")
                    + Self.get("/test/later", "X-Decline: 1"),
                responses: 4)
            #expect(replies.map(\.status) == [200, 404, 500, 200])
            #expect(replies[0].body == "later 20")
            #expect(replies[0].headers["x-request-id"] == "mine-2")
            #expect(replies[0].headers["server"] == "swiftlet")
            #expect(replies[0].headers["content-type"] == "text/plain; charset=utf-8")
            #expect(replies[1].body.contains(#""code":"test.missing""#))
            #expect(replies[1].headers["x-request-id"]?.isEmpty == false)
            #expect(replies[2].body.contains(#""code":"internal.error""#))
            #expect(!replies[2].body.contains("unexpected"), "an unanticipated error's text stays in the log")
            #expect(replies[3].body == "router later")
        }
    }

    @Test("pipelined requests behind an answer that waits for I/O wait for it, keep their order, and are answered inline again after it")
    func deferredPipeliningKeepsOrder() async throws {
        try await Self.withServer { port in
            let replies = try await RawConnection.open(port: port).exchange(
                Self.get("/test/later?ms=300")
                    + Self.get("/test/lane")
                    + Self.get("/test/later?ms=1")
                    + Self.get("/test/lane", "X-Decline: 1")
                    + Self.get("/test/later?ms=50")
                    + Self.get("/test/lane/c"),
                responses: 6, thenSend: Self.get("/test/later?ms=2"), responsesAfter: 1)
            // The router's request (declined by the lane) holds the requests behind it, as
            // always; the deferred answer behind it is the router's too.
            #expect(replies.map(\.body) == ["later 300", "inline", "later 1", "router", "router later", "router c", "later 2"])
        }
    }

    @Test("a client gone before the answer is ready: nothing is written, the server goes on")
    func deferredClientGone() async throws {
        try await Self.withServer { port in
            let finished = Self.workFinished.load(ordering: .relaxed)
            let connection = try await RawConnection.open(port: port)
            try await connection.channel.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(string: Self.get("/test/later?ms=200")
                    + Self.get("/test/lane")))
            }
            // Until the work has finished, on a connection closed meanwhile (other tests'
            // work counts too, so this waits at most for ours).
            let deadline = ContinuousClock.now + .seconds(10)
            while Self.workFinished.load(ordering: .relaxed) == finished, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(20))
            let reply = try #require(try await RawConnection.open(port: port).exchange(
                Self.get("/test/later?ms=1"), responses: 1).first)
            #expect(reply.body == "later 1")
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
