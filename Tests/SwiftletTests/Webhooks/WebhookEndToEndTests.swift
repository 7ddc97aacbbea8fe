import Foundation
import HTTPTypes
import SwiftletConfig
import SwiftletCore
import SwiftletServer
import Testing

/// Webhooks through the running server: the admin API (secrets shown once, never read
/// back), and real order events delivered by the node's own worker to a real receiver,
/// verified by the Python snippets of docs/events.md.
@Suite("Webhooks end to end", .timeLimit(.minutes(3)))
struct WebhookEndToEndTests {
    struct Created: Decodable {
        struct Endpoint: Decodable {
            let id: String
            let url: String
            let eventTypes: [String]
            let enabled: Bool
            let ordered: Bool
            let previousSecretExpiresAt: String?
        }
        let endpoint: Endpoint
        let secret: String
    }

    struct Messages: Decodable {
        struct Message: Decodable {
            let id: String
            let eventId: String
            let eventType: String
            let status: String
            let attempts: Int
        }
        let items: [Message]
    }

    struct Detail: Decodable {
        struct Attempt: Decodable {
            let number: Int
            let statusCode: Int?
            let latencyMs: Int
            let responseBody: String?
        }
        let attempts: [Attempt]
    }

    @Test("The admin API registers, shows, changes, rotates and deletes endpoints; the secret is shown only on creation and rotation",
          arguments: EngineKind.available)
    func adminLifecycle(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let create = try await app.admin(.post, "/admin/v1/webhooks", json: """
                {"url":"http://127.0.0.1:9/hook","eventTypes":["order.paid","user.created"],"description":"ERP"}
                """)
            #expect(create.status == .created)
            let created = try create.decode(Created.self)
            #expect(created.secret.hasPrefix("whsec_") && created.secret.count > 40)
            #expect(created.endpoint.eventTypes == ["order.paid", "user.created"])
            let id = created.endpoint.id

            let read = try await app.admin(.get, "/admin/v1/webhooks/\(id)")
            #expect(read.status == .ok)
            let list = try await app.admin(.get, "/admin/v1/webhooks")
            for body in [read.body, list.body] {
                #expect(!body.contains("whsec_") && !body.contains(String(created.secret.dropFirst(6))), "a read never returns the secret")
                #expect(!body.contains("\"secret\""))
            }
            #expect(list.body.contains(id))

            let patched = try await app.admin(.patch, "/admin/v1/webhooks/\(id)", json: #"{"enabled":false,"ordered":true}"#)
            #expect(patched.status == .ok)
            #expect(patched.body.contains(#""disabledReason":"disabled by an operator""#))
            #expect(patched.body.contains(#""ordered":true"#))

            let rotate = try await app.admin(.post, "/admin/v1/webhooks/\(id)/rotate-secret")
            #expect(rotate.status == .ok)
            let rotated = try rotate.decode(Created.self)
            #expect(rotated.secret != created.secret && rotated.secret.hasPrefix("whsec_"))
            #expect(rotated.endpoint.previousSecretExpiresAt != nil)

            #expect(try await app.admin(.get, "/admin/v1/webhooks/\(id)/messages?status=dead").status == .ok)
            #expect(try await app.admin(.get, "/admin/v1/webhooks/\(id)/messages?status=lost").errorCode == "webhooks.invalid_status")
            #expect(try await app.admin(.post, "/admin/v1/webhooks/\(id)/replay", json: "{}").errorCode == "webhooks.replay_needs_scope")
            #expect(try await app.admin(.post, "/admin/v1/webhooks/\(id)/replay", json: #"{"from":"yesterday"}"#).errorCode
                    == "webhooks.invalid_time")

            #expect(try await app.admin(.delete, "/admin/v1/webhooks/\(id)").status == .noContent)
            let gone = try await app.admin(.get, "/admin/v1/webhooks/\(id)")
            #expect(gone.status == .notFound && gone.errorCode == "webhooks.not_found")
            #expect(try await app.admin(.get, "/admin/v1/webhook-messages/msg_nope").errorCode == "webhooks.message_not_found")

            // Bad input: a clear 400 with its own code, nothing stored.
            let badType = try await app.admin(.post, "/admin/v1/webhooks", json: #"{"url":"http://127.0.0.1:9/h","eventTypes":["order.lost"]}"#)
            #expect(badType.status == .badRequest && badType.errorCode == "webhooks.unknown_event_type")
            let badScheme = try await app.admin(.post, "/admin/v1/webhooks", json: #"{"url":"ftp://127.0.0.1/h"}"#)
            #expect(badScheme.status == .badRequest && badScheme.errorCode == "webhooks.url_invalid")
            let noURL = try await app.admin(.post, "/admin/v1/webhooks", json: #"{"description":"x"}"#)
            #expect(noURL.status == .badRequest)
            #expect(try await app.client.call(.get, "/admin/v1/webhooks").status == .unauthorized)
            #expect(try await app.admin(.get, "/admin/v1/webhooks").body == #"{"items":[]}"#)
        }
    }

    @Test("In production, registration refuses http, loopback and private addresses unless allow-listed")
    func productionRefusesPrivateReceivers() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            var config = TestApp.config()
            config.profile = .production
            let service = try WebhookAdministration.service(config, storage: storage)
            for (url, code) in [("http://hooks.example.com/in", "webhooks.url_invalid"),
                                ("https://127.0.0.1/in", "webhooks.url_forbidden"),
                                ("https://10.0.0.7/in", "webhooks.url_forbidden"),
                                ("https://169.254.169.254/latest", "webhooks.url_forbidden"),
                                ("https://[::ffff:127.0.0.1]/in", "webhooks.url_forbidden"),
                                ("https://localhost/in", "webhooks.url_forbidden")] {
                await #expect(throws: SwiftletError.self, "\(url)") {
                    _ = try await service.create(WebhookEndpointDraft(url: url))
                }
                do {
                    _ = try await service.create(WebhookEndpointDraft(url: url))
                } catch let error as SwiftletError {
                    #expect(error.code == code, "\(url)")
                }
            }
            config.webhooks.allowList = ["10.0.0.0/24"]
            let allowing = try WebhookAdministration.service(config, storage: storage)
            _ = try await allowing.create(WebhookEndpointDraft(url: "https://10.0.0.7/in"))
            #expect(try await storage.webhooks.endpoints().count == 1, "refused URLs stored nothing")
        }
    }

    @Test("Order events reach a real receiver through the node's own worker, signed so the documented snippets verify them",
          arguments: EngineKind.available)
    func ordersReachReceiver(_ kind: EngineKind) async throws {
        let config = CommerceHarness.config { $0.webhooks.pollIntervalSeconds = 0.02 }
        try await TestWebhookReceiver.with { receiver in
            try await CommerceHarness.run(kind, config: config) { app in
                let created = try await app.admin(.post, "/admin/v1/webhooks", json: """
                    {"url":"\(receiver.url)","eventTypes":["order.created","order.paid"]}
                    """).decode(Created.self)
                let (_, sku) = try await app.product()
                let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "hook-buyer", sku: sku)
                _ = try app.sandbox.pay(prepayID: prepayID)

                let received = try await receiver.waitFor(2)
                #expect(received.count == 2)
                // An unordered endpoint (the default) gets each event as soon as it can go, so the
                // two may arrive either way round; their positions give their order.
                let byPosition = received.sorted { ($0.json["position"] as? Int ?? 0) < ($1.json["position"] as? Int ?? 0) }
                #expect(byPosition.map { $0.json["type"] as? String } == ["order.created", "order.paid"])
                #expect(received.allSatisfy { $0.json["aggregateId"] as? String == order.id })
                #expect(Set(received.map(\.id)).count == 2)

                // Each answer is recorded just after the receiver saw the request.
                #expect(try await app.eventually {
                    let listed = try await app.admin(.get, "/admin/v1/webhooks/\(created.endpoint.id)/messages").decode(Messages.self)
                    return Set(listed.items.map(\.status)) == ["delivered"]
                })
                let messages = try await app.admin(.get, "/admin/v1/webhooks/\(created.endpoint.id)/messages").decode(Messages.self)
                #expect(Set(messages.items.map(\.eventId)) == Set(received.map(\.id)), "webhook-id is the event id")
                let detail = try await app.admin(.get, "/admin/v1/webhook-messages/\(messages.items[0].id)").decode(Detail.self)
                #expect(detail.attempts.count == 1 && detail.attempts[0].statusCode == 200)

                for snippet in WebhookDocSnippet.runnable {
                    for delivery in received {
                        #expect(try await snippet.verifies(delivery, secret: created.secret), "\(snippet.name) accepts the delivery")
                        var tampered = delivery.body
                        tampered[tampered.count / 2] ^= 0x01
                        #expect(try await !snippet.verifies(delivery, body: tampered, secret: created.secret),
                                "\(snippet.name) refuses a changed body")
                        #expect(try await !snippet.verifies(delivery, secret: "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()),
                                "\(snippet.name) refuses another secret")
                    }
                }
            }
        }
    }
}

/// A verification snippet of docs/events.md, run with python3 against a real delivery.
struct WebhookDocSnippet {
    let name: String
    let code: String

    static var runnable: [WebhookDocSnippet] {
        var snippets = [extract("verify-stdlib")]
        if StandardWebhookInteropTests.referenceLibraryEnabled { snippets.append(extract("verify-standardwebhooks")) }
        return snippets
    }

    /// The fenced block after `<!-- snippet: NAME -->`.
    static func extract(_ name: String) -> WebhookDocSnippet {
        let docs = (try? String(contentsOfFile: RepositoryPaths.root + "/docs/events.md", encoding: .utf8)) ?? ""
        guard let marker = docs.range(of: "<!-- snippet: \(name) -->"),
              let open = docs.range(of: "```python\n", range: marker.upperBound..<docs.endIndex),
              let close = docs.range(of: "\n```", range: open.upperBound..<docs.endIndex)
        else { return WebhookDocSnippet(name: name, code: "raise SystemExit('snippet \(name) is missing from docs/events.md')") }
        return WebhookDocSnippet(name: name, code: String(docs[open.upperBound..<close.lowerBound]))
    }

    /// Whether the snippet's `verify` accepts the delivery (with `body` instead of the one received, if given).
    func verifies(_ delivery: TestWebhookReceiver.Received, body: [UInt8]? = nil, secret: String) async throws -> Bool {
        let harness = code + """

            import base64 as _b64, json as _json, sys as _sys
            _input = _json.load(_sys.stdin)
            try:
                event = verify(_input["secret"], _input["headers"], _b64.b64decode(_input["body"]))
            except Exception as error:
                print("refused:", type(error).__name__)
                raise SystemExit(0)
            print("accepted", event["id"])
            """
        let input: [String: Any] = [
            "secret": secret,
            "headers": ["webhook-id": delivery.id, "webhook-timestamp": delivery.timestamp, "webhook-signature": delivery.signature],
            "body": Data(body ?? delivery.body).base64EncodedString(),
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self)
        let result = try await ExternalTool.run(try ExternalTool.require("python3"), ["-c", harness], input: json)
        #expect(result.status == 0, "\(name): \(result.text)")
        let output = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(output.hasPrefix("accepted") || output.hasPrefix("refused"), "\(name): \(output)")
        return output == "accepted \(delivery.id)"
    }
}
