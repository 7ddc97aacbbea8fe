import Foundation
import NIOCore
import SwiftletRedis
import Testing

/// The client against a real `redis-server` started for each test.
@Suite("Redis client", .enabled(if: TestRedisServer.isAvailable))
struct RedisClientTests {
    func withServer<T>(arguments: [String] = [], _ body: (TestRedisServer) async throws -> T) async throws -> T {
        let server = try await TestRedisServer.start(arguments: arguments)
        defer { server.stop() }
        return try await body(server)
    }

    func client(_ server: TestRedisServer, _ change: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        // Generous bounds: the whole suite shares two cores. Tests of the bounds set their own.
        var configuration = try Self.patient(server.url)
        change(&configuration)
        return try RedisClient(configuration: configuration)
    }

    /// A configuration with generous bounds, for tests that do not test the bounds.
    static func patient(_ url: String) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.commandTimeout = .seconds(10)
        configuration.poolWaitTimeout = .seconds(10)
        configuration.connectTimeout = .seconds(10)
        return configuration
    }

    @Test("replies of every kind the server sends, on RESP3 and RESP2", arguments: [3, 2])
    func replyTypes(protocolVersion: Int) async throws {
        try await withServer { server in
            let redis = try client(server) { $0.protocolVersion = protocolVersion }
            defer { Task { await redis.shutdown() } }
            #expect(try await redis.send("SET", "k", "v") == .simpleString("OK"))
            #expect(try await redis.get("k") == "v")
            #expect(try await redis.send("GET", "missing") == .null)
            #expect(try await redis.send("INCRBY", "n", "5") == .integer(5))
            #expect(try await redis.send("RPUSH", "l", "a", "b") == .integer(2))
            #expect(try await redis.send("LRANGE", "l", "0", "-1") == .array([.bulkString(ByteBuffer(string: "a")), .bulkString(ByteBuffer(string: "b"))]))
            try await redis.send("HSET", "h", "f", "1")
            try await redis.send("SADD", "s", "m")
            try await redis.send("ZADD", "z", "1.5", "m")
            let hash = try await redis.send("HGETALL", "h")
            let members = try await redis.send("SMEMBERS", "s")
            let score = try await redis.send("ZSCORE", "z", "m")
            let info = try await redis.send("INFO", "server")
            if protocolVersion == 3 {
                #expect(hash == .map([(.bulkString(ByteBuffer(string: "f")), .bulkString(ByteBuffer(string: "1")))]))
                #expect(members == .set([.bulkString(ByteBuffer(string: "m"))]))
                #expect(score == .double(1.5))
                guard case .verbatimString(let format, let text) = info else { Issue.record("INFO: \(info)"); return }
                #expect(format == "txt" && text.contains("redis_version"))
                let flag = try await redis.send("EVAL", "redis.setresp(3); return {double=0.5}", "0")
                #expect(flag == .double(0.5))
            } else {
                #expect(hash == .array([.bulkString(ByteBuffer(string: "f")), .bulkString(ByteBuffer(string: "1"))]))
                #expect(members == .array([.bulkString(ByteBuffer(string: "m"))]))
                #expect(score == .bulkString(ByteBuffer(string: "1.5")))
                #expect(info.string?.contains("redis_version") == true)
            }
            await #expect { try await redis.send("INCR", "l") } throws: { ($0 as? RedisError)?.serverKind == "WRONGTYPE" }
        }
    }

    @Test("10,000 pipelined commands answer in order; many tasks share the pool")
    func pipelining() async throws {
        try await withServer { server in
            // The pool wait is generous: every suite starts at once beside this one.
            let redis = try client(server) { $0.poolSize = 4; $0.commandTimeout = .seconds(10); $0.poolWaitTimeout = .seconds(10) }
            defer { Task { await redis.shutdown() } }
            let count = 10_000
            let sets = (0..<count).map { RedisCommand("SET", "key:\($0)", "value:\($0)") }
            let setReplies = try await redis.pipeline(sets)
            #expect(setReplies.count == count && setReplies.allSatisfy { $0 == .simpleString("OK") })
            let gets = (0..<count).map { RedisCommand("GET", "key:\($0)") }
            let values = try await redis.pipeline(gets)
            #expect(values.map(\.string) == (0..<count).map { "value:\($0)" })
            let mixed = try await redis.pipeline([RedisCommand("INCR", "c"), RedisCommand("INCR", "key:1"), RedisCommand("INCR", "c")])
            #expect(mixed[0] == .integer(1) && mixed[2] == .integer(2))
            #expect(mixed[1].isError, "one failing command does not hide the others")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<50 {
                    group.addTask {
                        for round in 0..<20 { try await redis.send("INCR", "shared") ; _ = round }
                        _ = task
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.get("shared") == "1000")
        }
    }

    @Test("pub/sub delivers to channel and pattern subscribers")
    func pubSub() async throws {
        try await withServer { server in
            let redis = try client(server)
            defer { Task { await redis.shutdown() } }
            let subscription = redis.subscribe(channels: ["news"], patterns: ["room:*"])
            defer { subscription.cancel() }
            var events = subscription.events.makeAsyncIterator()
            let event1 = await events.next()
            #expect(event1 == .subscribed)
            try await redis.publish("hello", to: "news")
            try await redis.publish("hi room", to: "room:7")
            let event2 = await events.next()
            #expect(event2 == .message(channel: "news", payload: ByteBuffer(string: "hello"), pattern: nil))
            let event3 = await events.next()
            #expect(event3 == .message(channel: "room:7", payload: ByteBuffer(string: "hi room"), pattern: "room:*"))
        }
    }

    @Test("Lua runs by hash and is loaded again after SCRIPT FLUSH")
    func lua() async throws {
        try await withServer { server in
            let redis = try client(server)
            defer { Task { await redis.shutdown() } }
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await redis.evaluate(script, keys: ["counter"], arguments: ["3"]) == .integer(3))
            #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(1)]))
            try await redis.send("SCRIPT", "FLUSH")
            #expect(try await redis.evaluate(script, keys: ["counter"], arguments: ["4"]) == .integer(7))
            await #expect { try await redis.evaluate(RedisScript("return redis.call('NOPE')")) } throws: {
                ($0 as? RedisError)?.serverKind != nil
            }
        }
    }

    @Test("a command without a reply times out; the pool's wait is bounded; the client carries on")
    func timeouts() async throws {
        try await withServer { server in
            let redis = try client(server) { $0.commandTimeout = .milliseconds(200); $0.poolSize = 1 }
            let started = ContinuousClock.now
            // BLPOP blocks on the server for 10 s; the client gives up after 200 ms (the
            // bound leaves room for a loaded machine, far below the server's 10 s).
            await #expect { try await redis.send("BLPOP", "nothing", "10") } throws: { ($0 as? RedisError)?.code == .timeout }
            #expect(ContinuousClock.now - started < .seconds(5))
            // A new connection replaces the timed-out one. On a loaded machine connecting and
            // answering can itself outlast the 200 ms bound, so the client gets a few tries.
            var reply: RESPValue?
            for _ in 0..<10 where reply == nil {
                reply = try? await redis.send("PING")
            }
            #expect(reply == .simpleString("PONG"), "a new connection replaces the timed-out one")
            await redis.shutdown()

            // One connection, held by a blocked command: the next caller waits 100 ms, then fails.
            let busy = try client(server) { $0.commandTimeout = .seconds(5); $0.poolSize = 1; $0.poolWaitTimeout = .milliseconds(100) }
            let blocker = Task { try await busy.send("BLPOP", "nothing", "2") }
            try await Task.sleep(for: .milliseconds(300))
            let waited = ContinuousClock.now
            await #expect { try await busy.send("PING") } throws: { ($0 as? RedisError)?.code == .poolExhausted }
            #expect(ContinuousClock.now - waited < .seconds(1))
            _ = await blocker.result
            #expect(try await busy.send("PING") == .simpleString("PONG"))
            await busy.shutdown()
        }
    }

    @Test("AUTH with user and password, SELECT of a database")
    func authAndSelect() async throws {
        try await withServer(arguments: ["--requirepass", "root-secret"]) { server in
            let denied = try client(server)
            await #expect { try await denied.send("PING") } throws: { ($0 as? RedisError)?.serverKind == "NOAUTH" }
            await denied.shutdown()

            let admin = try RedisClient(configuration: try Self.patient("redis://:root-secret@127.0.0.1:\(server.port)"))
            try await admin.send("ACL", "SETUSER", "app", "on", ">app-secret", "~*", "&*", "+@all")
            for version in [3, 2] {
                var configuration = try Self.patient("redis://app:app-secret@127.0.0.1:\(server.port)/3")
                configuration.protocolVersion = version
                let app = try RedisClient(configuration: configuration)
                #expect(try await app.send("ACL", "WHOAMI").string == "app")
                try await app.set("only-in-3", to: "x")
                await app.shutdown()
            }
            #expect(try await admin.get("only-in-3") == nil, "the app wrote to database 3, not 0")
            #expect(try await admin.send("SELECT", "3") == .simpleString("OK"))
            var wrong = try Self.patient("redis://app:wrong@127.0.0.1:\(server.port)")
            wrong.backoffBase = .milliseconds(1)
            let intruder = try RedisClient(configuration: wrong)
            await #expect { try await intruder.send("PING") } throws: { ($0 as? RedisError)?.serverKind == "WRONGPASS" }
            await intruder.shutdown()
            await admin.shutdown()
        }
    }

    @Test("Redis killed and restarted: commands recover and subscriptions come back by themselves")
    func killAndRestart() async throws {
        try await withServer { server in
            let redis = try client(server) { $0.backoffBase = .milliseconds(20); $0.backoffCap = .milliseconds(200) }
            defer { Task { await redis.shutdown() } }
            let subscription = redis.subscribe(channels: ["bus"])
            defer { subscription.cancel() }
            var events = subscription.events.makeAsyncIterator()
            let event4 = await events.next()
            #expect(event4 == .subscribed)
            try await redis.set("before", to: "1")

            await server.kill()
            let event5 = await events.next()
            #expect(event5 == .interrupted)
            await #expect(throws: RedisError.self) { try await redis.send("PING") }
            try await server.start()

            // Recovers on its own: no call other than retrying the command.
            var recovered = false
            let deadline = ContinuousClock.now + .seconds(5)
            while !recovered, ContinuousClock.now < deadline {
                recovered = (try? await redis.send("PING")) == .simpleString("PONG")
                if !recovered { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(recovered)
            #expect(try await redis.get("before") == nil, "a new server without persistence")
            let event6 = await events.next()
            #expect(event6 == .subscribed)
            try await redis.publish("after restart", to: "bus")
            let event7 = await events.next()
            #expect(event7 == .message(channel: "bus", payload: ByteBuffer(string: "after restart"), pattern: nil))
        }
    }

    @Test("rediss:// speaks TLS and verifies the server's certificate")
    func tls() async throws {
        let certificates = try await TestCertificates.make()
        let port = try LoopbackPorts.free()
        let server = try TestRedisServer(port: port, arguments: [
            "--port", "0", "--tls-port", String(port), "--tls-cert-file", certificates.path("server.pem"),
            "--tls-key-file", certificates.path("server.key"), "--tls-ca-cert-file", certificates.path("ca.pem"),
            "--tls-auth-clients", "no",
        ])
        try await server.start()
        defer { server.stop() }
        for host in ["localhost", "127.0.0.1"] {
            var trusted = try Self.patient("rediss://\(host):\(port)")
            trusted.tlsCAFile = certificates.path("ca.pem")
            let redis = try RedisClient(configuration: trusted)
            try await redis.set("over-tls", to: "yes")
            #expect(try await redis.get("over-tls") == "yes")
            await redis.shutdown()
        }
        var untrusted = try Self.patient("rediss://localhost:\(port)")
        untrusted.tlsCAFile = certificates.path("rogue-ca.pem")
        let refused = try RedisClient(configuration: untrusted)
        await #expect(throws: RedisError.self, "a certificate from an unknown CA is refused") { try await refused.send("PING") }
        await refused.shutdown()
        let plain = try RedisClient(configuration: try Self.patient("redis://127.0.0.1:\(port)"))
        await #expect(throws: RedisError.self, "plain text to a TLS port fails cleanly") { try await plain.send("PING") }
        await plain.shutdown()
    }

    @Test("redis URLs parse; bad ones are refused")
    func urls() throws {
        let full = try RedisConfiguration(url: "rediss://app:p%40ss@cache.internal:6380/2")
        #expect(full.host == "cache.internal" && full.port == 6380 && full.useTLS)
        #expect(full.username == "app" && full.password == "p@ss" && full.database == 2)
        let plain = try RedisConfiguration(url: "redis://127.0.0.1")
        #expect(plain.port == 6379 && !plain.useTLS && plain.username == nil && plain.database == 0)
        #expect(try RedisConfiguration(url: "redis://:only-password@h").password == "only-password")
        for bad in ["http://h", "redis://", "redis://h/x", "redis://h:0"] {
            #expect("\(bad)") { try RedisConfiguration(url: bad) } throws: { ($0 as? RedisError)?.code == .invalidConfiguration }
        }
    }
}

extension RESPValue {
    var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
