import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP receiver for webhook tests, on a loopback port: answers each delivery as
/// scripted (fail N times, 410, hang, slow, redirect, …) and keeps what it received.
final class TestWebhookReceiver: Sendable {
    enum Reply: Sendable {
        case status(Int, headers: [String: String] = [:], body: String = "")
        /// Waits this long before answering 200 (longer than the attempt timeout: a hang).
        case delayed(Duration, status: Int = 200)
    }

    struct Received: Sendable {
        let path: String
        let headers: [String: String]
        let body: [UInt8]
        var id: String { headers["webhook-id"] ?? "" }
        var timestamp: String { headers["webhook-timestamp"] ?? "" }
        var signature: String { headers["webhook-signature"] ?? "" }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    private struct State {
        var script: [Reply] = []
        var otherwise: Reply = .status(200)
        var received: [Received] = []
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, any Error>?>(nil)
    let port: Int

    private init(port: Int) {
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Answers the next deliveries with `replies` in order, then with `otherwise`.
    func script(_ replies: [Reply], otherwise: Reply = .status(200)) {
        state.withLock {
            $0.script = replies
            $0.otherwise = otherwise
        }
    }

    var received: [Received] { state.withLock { $0.received } }

    /// Waits (real time, bounded) until `count` deliveries arrived.
    func waitFor(_ count: Int, within limit: Duration = .seconds(10)) async throws -> [Received] {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let all = received
            if all.count >= count { return all }
            try await Task.sleep(for: .milliseconds(20))
        }
        return received
    }

    private func answer(_ request: Request, body: ByteBuffer) -> Reply {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let received = Received(path: request.uri.path, headers: headers, body: Array(body.readableBytesView))
        return state.withLock { state in
            state.received.append(received)
            return state.script.isEmpty ? state.otherwise : state.script.removeFirst()
        }
    }

    static func start() async throws -> TestWebhookReceiver {
        let router = Router()
        let box = Mutex<TestWebhookReceiver?>(nil)
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let receiver = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            switch receiver.answer(request, body: body) {
            case .status(let code, let headers, let text):
                var fields = HTTPFields()
                for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
                return Response(status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
            case .delayed(let delay, let code):
                try await Task.sleep(for: delay)
                return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "late")))
            }
        }
        router.post("/hook", use: handler)
        router.post("/elsewhere", use: handler)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestSetupError("receiver did not start") }
        let receiver = TestWebhookReceiver(port: port)
        box.withLock { $0 = receiver }
        receiver.task.withLock { $0 = task }
        return receiver
    }

    func stop() async {
        let task = self.task.withLock { $0 }
        task?.cancel()
        _ = try? await task?.value
    }

    /// Starts a receiver, runs `body`, stops it.
    static func with<T>(_ body: (TestWebhookReceiver) async throws -> T) async throws -> T {
        let receiver = try await start()
        do {
            let result = try await body(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }
}
