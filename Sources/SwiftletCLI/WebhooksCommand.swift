import ArgumentParser
import Foundation
import SwiftletConfig
import SwiftletCore
import SwiftletServer

/// `swiftlet admin webhooks …`: the CLI twin of `/admin/v1/webhooks`, calling the same
/// `WebhookService` on the configured database. Output is tab-separated lines; a new
/// secret is printed once, on its own line, as the API shows it once.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Webhook endpoints: create, list, show, update, delete, rotate secrets, messages, replay.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Delete.self, RotateSecret.self, Messages.self,
                      Attempts.self, Replay.self, ReplayMessage.self])

    static func run(_ options: ConfigOptions, _ body: (WebhookService) async throws -> Void) async throws {
        try await withMigratedStorage(options) { config, storage in
            try await body(try WebhookAdministration.service(config, storage: storage))
        }
    }

    static func line(_ endpoint: WebhookEndpoint) -> String {
        [endpoint.id.rawValue, endpoint.enabled ? "enabled" : "disabled", endpoint.ordered ? "ordered" : "unordered",
         endpoint.url, endpoint.eventTypes.isEmpty ? "*" : endpoint.eventTypes.joined(separator: ","),
         endpoint.disabledReason ?? "", endpoint.description].joined(separator: "\t")
    }

    static func line(_ message: WebhookMessage) -> String {
        [message.id.rawValue, message.status.rawValue, message.eventType, message.eventID.rawValue,
         RFC3339.string(message.eventOccurredAt), "attempts=\(message.attempts)",
         message.lastStatusCode.map { "last=\($0)" } ?? "", message.lastError ?? ""].joined(separator: "\t")
    }

    static func date(_ text: String?) throws -> Date? {
        guard let text else { return nil }
        if let date = RFC3339.date(text) { return date }
        throw ValidationError("expected an RFC 3339 time such as 2027-01-15T08:00:00Z, got \(text)")
    }

    static func status(_ text: String) throws -> WebhookMessageStatus {
        guard let status = WebhookMessageStatus(rawValue: text) else {
            throw ValidationError("status must be one of \(WebhookMessageStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return status
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an endpoint; prints it, then its secret (shown once).")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "Where events are POSTed.") var url: String
        @Option(name: .long, help: "A note for operators.") var description: String = ""
        @Option(name: .customLong("event-type"), help: "An event type to receive (repeat; none: every type).") var eventTypes: [String] = []
        @Flag(name: .long, help: "FIFO per aggregate: a later event about the same order waits for the earlier one.") var ordered = false
        @Flag(name: .long, help: "Register it disabled.") var disabled = false

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                let created = try await service.create(WebhookEndpointDraft(
                    url: url, description: description, eventTypes: eventTypes, enabled: !disabled, ordered: ordered))
                print(WebhooksCommand.line(created.endpoint))
                print(created.secret)
                FileHandle.standardError.write(Data("store the secret now; it will not be shown again\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every endpoint (id, state, ordering, URL, types, reason, description).")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                for endpoint in try await service.endpoints() { print(WebhooksCommand.line(endpoint)) }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One endpoint.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint id (ep_…).") var id: String

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                print(WebhooksCommand.line(try await service.endpoint(WebhookEndpointID(rawValue: id))))
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an endpoint; options left out stay as they are.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint id (ep_…).") var id: String
        @Option(name: .long) var url: String?
        @Option(name: .long) var description: String?
        @Option(name: .customLong("event-type"), help: "Replaces the types (repeat).") var eventTypes: [String] = []
        @Flag(name: .customLong("all-event-types"), help: "Receive every type.") var allEventTypes = false
        @Flag(exclusivity: .exclusive) var state: State?
        @Option(name: .long, help: "true or false: FIFO per aggregate.") var ordered: Bool?

        enum State: String, EnumerableFlag {
            case enable, disable
        }

        func run() async throws {
            let types: [String]? = allEventTypes ? [] : (eventTypes.isEmpty ? nil : eventTypes)
            try await WebhooksCommand.run(options) { service in
                let endpoint = try await service.update(WebhookEndpointID(rawValue: id), WebhookEndpointUpdate(
                    url: url, description: description, eventTypes: types, enabled: state.map { $0 == .enable },
                    ordered: ordered))
                print(WebhooksCommand.line(endpoint))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an endpoint with its messages and attempts.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint id (ep_…).") var id: String

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                try await service.delete(WebhookEndpointID(rawValue: id))
                print("deleted \(id)")
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "A new secret, printed once; the old one keeps signing for webhooks.secretOverlap.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint id (ep_…).") var id: String

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                let rotated = try await service.rotateSecret(WebhookEndpointID(rawValue: id))
                print(WebhooksCommand.line(rotated.endpoint))
                print(rotated.secret)
                FileHandle.standardError.write(Data("store the new secret now; it will not be shown again\n".utf8))
            }
        }
    }

    struct Messages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An endpoint's messages, newest event first.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint id (ep_…).") var id: String
        @Option(name: .long, help: "pending, failed, delivered or dead.") var status: String?
        @Option(name: .long) var limit: Int = 50

        func run() async throws {
            let status = try status.map(WebhooksCommand.status)
            try await WebhooksCommand.run(options) { service in
                for message in try await service.messages(
                    endpoint: WebhookEndpointID(rawValue: id), status: status, before: nil, limit: max(1, min(limit, 1_000))) {
                    print(WebhooksCommand.line(message))
                }
            }
        }
    }

    struct Attempts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A message and every attempt made.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The message id (msg_…).") var id: String

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                let (message, attempts) = try await service.message(WebhookMessageID(rawValue: id))
                print(WebhooksCommand.line(message))
                for attempt in attempts {
                    print(["#\(attempt.number)", RFC3339.string(attempt.attemptedAt), attempt.statusCode.map(String.init) ?? "-",
                           "\(attempt.latencyMilliseconds)ms", attempt.error ?? ""].joined(separator: "\t"))
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an endpoint's messages again: by status, by time range, or every event since --from.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The endpoint id (ep_…).") var id: String
        @Option(name: .long, help: "A status to resend (repeat): failed, dead, delivered, pending.") var status: [String] = []
        @Option(name: .long, help: "RFC 3339: events that occurred from then.") var from: String?
        @Option(name: .long, help: "RFC 3339: events that occurred before then.") var to: String?

        func run() async throws {
            let scope = WebhookService.ReplayScope(
                statuses: status.isEmpty ? nil : try status.map(WebhooksCommand.status),
                from: try WebhooksCommand.date(from), to: try WebhooksCommand.date(to))
            try await WebhooksCommand.run(options) { service in
                print("replayed \(try await service.replay(endpoint: WebhookEndpointID(rawValue: id), scope))")
            }
        }
    }

    struct ReplayMessage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "replay-message", abstract: "Send one message again now.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The message id (msg_…).") var id: String

        func run() async throws {
            try await WebhooksCommand.run(options) { service in
                print(WebhooksCommand.line(try await service.replay(message: WebhookMessageID(rawValue: id))))
            }
        }
    }
}
