import Foundation
import SwiftletCore
import SwiftletTokens
import Testing

/// Clients that try to make the server hold memory or cut off work, against the real
/// binary so its memory can be read from `/proc`.
@Suite("Hostile clients", .serialized)
struct HostileClientTests {
    /// The memory a connection that never reads may cost the server: the write
    /// watermark (64 KiB) plus one read's worth of requests (≤ 64 KiB) and their answers,
    /// well under 1 MiB; the bound checked leaves room for allocator noise (measured:
    /// about 3 MiB with the limit, over 20 MiB in four seconds and rising without it).
    static let allowedGrowthKiB = 8 * 1024

    @Test("a client pipelining 200,000 requests without reading costs bounded memory, others are served, and it is closed once it has not read for the idle timeout",
          arguments: ["/health/live", "/health/ready"])  // the inline lane, the router
    func pipeliningNonReader(path: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try SwiftletProcess.start(
            ["serve", "--port", "0"], workingDirectory: directory.path,
            environment: ["SWIFTLET_LOG_ACCESS_LOG": "false", "SWIFTLET_HTTP_IDLE_TIMEOUT": "3"])
        let port = try await server.waitForPort()
        #expect(try await SwiftletProcess.get("http://127.0.0.1:\(port)/health/live") == 200)
        let before = try Self.residentKiB(server.process.processIdentifier)

        let flood = try NonReadingClient(port: port)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let sent = try await Blocking.run { flood.send(request, times: 200_000, for: .seconds(4)) }
        #expect(sent > 1_000, "the server read requests before pushing back (\(sent) sent)")

        // Meanwhile another client is served promptly.
        let started = ContinuousClock.now
        #expect(try await SwiftletProcess.get("http://127.0.0.1:\(port)/health/live") == 200)
        #expect(ContinuousClock.now - started < .seconds(2))

        let after = try Self.residentKiB(server.process.processIdentifier)
        #expect(after - before < Self.allowedGrowthKiB, "grew from \(before) KiB to \(after) KiB")
        // Once the server has answered what it read and the socket is full, the idle
        // timeout (3 s) runs; a router response waiting for the reader has no other deadline.
        let closedAfter = try await Blocking.run { flood.waitUntilClosedByServer(limit: .seconds(45)) }
        #expect(closedAfter != nil, "the server closed the stalled connection")
        flood.close()
        #expect(try await server.terminate() == 0)
    }

    @Test("a later pipelined request's handler is not cut off by the idle deadline of an earlier one")
    func pipelinedRequestKeepsItsDeadline() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let config = TestApp.config { $0.http.idleTimeoutSeconds = 0.5 }
            let app = try await TestApp.application(storage: storage, config: config)
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let replies = try await RawConnection.open(port: port).exchange(
                    "GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /test/slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n",
                    responses: 2)
                #expect(replies.map(\.status) == [200, 200])
                #expect(replies.last?.body == "done")
            }
        }
    }

    static func residentKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { throw TestSetupError("no VmRSS for \(pid)") }
        return kib
    }
}

/// A TCP client that writes and never reads, with a non-blocking socket so it notices
/// when the server stops taking bytes instead of hanging. Its loops sleep between tries:
/// run them with `Blocking.run`, off the cooperative pool.
final class NonReadingClient: Sendable {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestSetupError("connect failed: \(errno)") }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    /// Writes `request` up to `times` times, for at most `limit`; returns how many whole
    /// requests went out (the rest was refused by a full socket).
    func send(_ request: [UInt8], times: Int, for limit: Duration) -> Int {
        let batch = Array([[UInt8]](repeating: request, count: 1000).joined())
        let deadline = ContinuousClock.now + limit
        var sentBytes = 0
        var pending = batch[...]
        while sentBytes < request.count * times, ContinuousClock.now < deadline {
            let written = pending.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                sentBytes += written
                pending = pending.dropFirst(written)
                if pending.isEmpty { pending = batch[...] }
            } else {
                usleep(10_000)
            }
        }
        return sentBytes / request.count
    }

    /// How long until the server ended the connection (a send then fails), nil if not within `limit`.
    func waitUntilClosedByServer(limit: Duration) -> Duration? {
        let start = ContinuousClock.now
        let deadline = start + limit
        var probe: UInt8 = 0x0A
        while ContinuousClock.now < deadline {
            let sent = Glibc.send(descriptor, &probe, 1, Int32(MSG_NOSIGNAL))
            if sent < 0, errno == EPIPE || errno == ECONNRESET { return ContinuousClock.now - start }
            var status = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            if poll(&status, 1, 50) > 0, status.revents & Int16(POLLERR | POLLHUP) != 0 { return ContinuousClock.now - start }
            usleep(50_000)
        }
        return nil
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}

/// The acceptance check as a user would run it: curl against two real servers, one with
/// the inline lane and one without (`http.inlineRoutes=false`), same secret.
@Suite("Lane on and off, with curl", .serialized)
struct LaneOnOffCurlTests {
    @Test("an expired or forged token on /api/v1/me gets the same status, body and headers with the lane on and off")
    func sameAnswerWithCurl() async throws {
        let secret = String(repeating: "s", count: 40)
        let on = try TemporaryDirectory(), off = try TemporaryDirectory()
        defer { on.remove(); off.remove() }
        let environment = ["SWIFTLET_AUTH_JWT_SECRET": secret, "SWIFTLET_LOG_ACCESS_LOG": "false"]
        let laneOn = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: on.path, environment: environment)
        let laneOff = try SwiftletProcess.start(
            ["serve", "--port", "0"], workingDirectory: off.path,
            environment: environment.merging(["SWIFTLET_HTTP_INLINE_ROUTES": "false"]) { $1 })
        let onPort = try await laneOn.waitForPort(), offPort = try await laneOff.waitForPort()

        let codec = try await JWTAccessTokenCodec(
            signing: .hs256(kid: "k1", secret: Array(secret.utf8)), issuer: "swiftlet", audience: "swiftlet-miniprogram")
        let hourAgo = Date().addingTimeInterval(-3600)
        let expired = try await codec.sign(AccessTokenClaims(
            userID: UserID(rawValue: "u_" + RandomID.base32(byteCount: 8)), sessionID: .generate(), tokenID: "t1",
            issuedAt: hourAgo.addingTimeInterval(-900), expiresAt: hourAgo))
        for (token, code) in [(expired, "auth.token_expired"), (expired.dropLast(3) + "AAA", "auth.token_invalid")] {
            var answers: [Curl.Result] = []
            for port in [onPort, offPort] {
                answers.append(try await Curl.run(["-i", "-H", "Authorization: Bearer \(token)", "-H", "X-Request-Id: curl-1",
                                                   "http://127.0.0.1:\(port)/api/v1/me"]))
            }
            let (onHead, onBody) = Self.split(answers[0].output), (offHead, offBody) = Self.split(answers[1].output)
            #expect(answers[0].httpStatus == 401)
            #expect(onBody.contains(code), "\(code)")
            #expect(onBody == offBody)
            #expect(onHead == offHead, "same status line and headers, Date aside")
        }
        #expect(try await laneOn.terminate() == 0)
        #expect(try await laneOff.terminate() == 0)
    }

    /// The status line and headers (lower-cased names, without `Date`), and the body.
    static func split(_ output: String) -> (head: [String], body: String) {
        let parts = output.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n").filter { !$0.lowercased().hasPrefix("date:") }
            .map { line in
                guard let colon = line.firstIndex(of: ":") else { return line }
                return line[..<colon].lowercased() + line[colon...]
            }
        return (head.sorted(), parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
