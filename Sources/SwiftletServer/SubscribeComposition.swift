import Foundation
import Logging
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore
import SwiftletWeChat

/// WeChat subscribe messages wired from config: the templates operators mapped to events,
/// the sender on the WeChat client (the shared access_token), the job that sends, and
/// the dispatch from the outbox.
struct SubscribeComposition {
    let service: SubscribeMessageService
    let pollInterval: Duration

    init(_ config: SwiftletConfiguration, storage: any StorageEngine, wechat: WeChatClient, presence: UserPresence,
         clock: SwiftletClock, logger: Logger) throws {
        let templates = try Self.templates(config.subscribe.templatesJSON)
        let state = config.subscribe.miniprogramState ?? (config.profile == .production ? .formal : .developer)
        service = SubscribeMessageService(
            subscriptions: storage.subscriptions, events: storage.events, users: storage.users,
            sender: WeChatSubscribeSender(client: wechat, state: state.rawValue, lang: config.subscribe.lang),
            isOnline: { await presence.isOnline($0) }, clock: clock,
            settings: SubscribeMessageService.Settings(templates: templates, maxAttempts: config.subscribe.maxAttempts),
            logger: logger)
        pollInterval = .seconds(config.jobs.pollIntervalSeconds)
    }

    var jobs: [String: JobHandler] {
        let service = self.service
        return [SubscribeMessageService.jobKind: { try await service.handle($0) }]
    }

    /// Decodes and checks `subscribe.templates`; a mistake stops the start with the key named.
    static func templates(_ json: String) throws -> [SubscribeTemplate] {
        func problem(_ message: String) -> ConfigurationError {
            ConfigurationError(problems: [.init(key: "subscribe.templates", message: message)])
        }
        let templates: [SubscribeTemplate]
        do {
            templates = try JSONDecoder().decode([SubscribeTemplate].self, from: Data(json.utf8))
        } catch {
            throw problem("each entry needs event, templateId and data (an object of field → text): \(error)")
        }
        for (index, template) in templates.enumerated() {
            guard DomainEventTypes.all.contains(template.event) else {
                throw problem("entry \(index): unknown event '\(template.event)'")
            }
            guard SubscribeMessageService.isTemplateID(template.templateId) else {
                throw problem("entry \(index): templateId must be 1–128 letters, digits, '-' or '_'")
            }
            guard !template.data.isEmpty, template.data.count <= 20, template.data.keys.allSatisfy(Self.isFieldKey) else {
                throw problem("entry \(index): data needs 1–20 fields named like thing1, amount2, time3")
            }
            if let page = template.page, page.utf8.count > 1024 {
                throw problem("entry \(index): page is longer than 1024 bytes")
            }
        }
        if Set(templates.map(\.key)).count != templates.count {
            throw problem("an event is mapped to the same template twice")
        }
        return templates
    }

    static func isFieldKey(_ key: String) -> Bool {
        (1...40).contains(key.utf8.count) && key.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}

/// The core's `SubscribeMessageSender` on the WeChat client: WeChat's answers become the
/// outcomes the service acts on. Never logs the openid or the values.
struct WeChatSubscribeSender: SubscribeMessageSender {
    let client: WeChatClient
    let state: String
    let lang: String

    /// Errcodes that refuse the message itself: sending it again cannot help.
    static let invalid: Set<Int> = [47003, 40003, 40037, 41030, 47001]

    func send(openid: String, templateID: String, page: String?, data: [(key: String, value: String)]) async -> SubscribeSendResult {
        do {
            try await client.sendSubscribeMessage(WeChatSubscribeMessage(
                toUser: openid, templateID: templateID, page: page,
                data: data.map { WeChatSubscribeField(key: $0.key, value: $0.value) }, miniprogramState: state, lang: lang))
            return .sent
        } catch let error as WeChatError {
            switch error {
            case .api(43101, _):
                return .noSubscription
            case .api(let errcode, let errmsg) where Self.invalid.contains(errcode):
                return .invalid(errcode: errcode, message: String(errmsg.prefix(200)))
            default:
                return .retryable(Self.describe(error))
            }
        } catch {
            return .retryable("send failed")
        }
    }

    /// The errcode or the failure's kind, never a URL (it carries the access_token).
    static func describe(_ error: WeChatError) -> String {
        switch error {
        case .api(let errcode, _): "\(errcode)"
        case .busy: "-1"
        case .throttled: "refused_locally"
        case .timeout: "timeout"
        case .transport: "transport"
        case .badResponse: "bad_response"
        case .accessTokenInvalid: "40001"
        case .accessTokenExpired: "42001"
        case .rateLimited: "45011"
        case .dailyQuotaExceeded: "45009"
        default: "wechat_error"
        }
    }
}

/// Turns outbox events into subscribe-message sends until graceful shutdown.
struct SubscribeDispatchService: Service {
    let service: SubscribeMessageService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // One warning per outage (then one a minute), not one per poll.
        let failures = FailureStreakLog("subscribe dispatch failed", clock: .system)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    while try await service.dispatchOnce() > 0 {}
                    failures.succeeded(logger: logger)
                } catch is CancellationError {
                    return
                } catch {
                    failures.failed(error, logger: logger)
                }
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }
}
