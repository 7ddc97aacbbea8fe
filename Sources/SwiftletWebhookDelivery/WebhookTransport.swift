import SwiftletWebhooks

/// One signed POST, ready to go: where (the checked destination, so the connection goes
/// to an address the URL policy accepted), the headers, the body.
public struct WebhookRequest: Sendable {
    public var destination: WebhookDestination
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timeout: Duration

    public init(destination: WebhookDestination, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) {
        self.destination = destination
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// Sends a webhook request and reports what came back; never throws (a failure is an answer).
public protocol WebhookTransport: Sendable {
    func send(_ request: WebhookRequest) async -> WebhookAnswer
    func shutdown() async
}
