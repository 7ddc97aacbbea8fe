import Foundation
import Logging

/// WeChat subscribe messages (订阅消息) for users who are not in the app: domain events
/// mapped to templates by the operator, sent through WeChat's one-time subscriptions.
///
/// - The client reports what the user accepted in `wx.requestSubscribeMessage`; each
///   acceptance is one send for that template (`report`).
/// - A dispatch turns outbox events into sends, one per configured template and event,
///   with a job each, moving a shared cursor by compare-and-set (once per event across
///   nodes, like the webhook dispatch).
/// - The job (`handle`) takes one acceptance (once, however often it runs), fills the
///   template, and sends. 43101 and invalid messages (47003, …) are dead letters, never
///   retried; -1 and network trouble are retried with backoff up to `maxAttempts` calls.
///   A user with no acceptance left is skipped, as is a user online in the realtime
///   gateway unless the template sends then too.
public struct SubscribeMessageService: Sendable {
    public static let jobKind = "subscribe.send"

    public struct Settings: Sendable, Equatable {
        public var templates: [SubscribeTemplate]
        /// Calls to WeChat for one message before it is given up.
        public var maxAttempts: Int
        /// Acceptances kept per user and template (a client cannot bank unlimited sends).
        public var quotaCap: Int
        public init(templates: [SubscribeTemplate] = [], maxAttempts: Int = 6, quotaCap: Int = 50) {
            self.templates = templates
            self.maxAttempts = maxAttempts
            self.quotaCap = quotaCap
        }
    }

    let subscriptions: any SubscriptionRepository
    let events: any EventOutboxRepository
    let users: any UserRepository
    let sender: (any SubscribeMessageSender)?
    let isOnline: @Sendable (UserID) async -> Bool
    let clock: SwiftletClock
    let settings: Settings
    let logger: Logger

    public init(subscriptions: any SubscriptionRepository, events: any EventOutboxRepository, users: any UserRepository,
                sender: (any SubscribeMessageSender)?, isOnline: @escaping @Sendable (UserID) async -> Bool,
                clock: SwiftletClock, settings: Settings, logger: Logger) {
        self.subscriptions = subscriptions
        self.events = events
        self.users = users
        self.sender = sender
        self.isOnline = isOnline
        self.clock = clock
        self.settings = settings
        self.logger = logger
    }

    /// Template ids the operator configured.
    public var templateIDs: Set<String> { Set(settings.templates.map(\.templateId)) }

    // MARK: What the user accepted

    /// Records a `wx.requestSubscribeMessage` result (`{"TEMPLATE_ID":"accept", …,
    /// "errMsg":"requestSubscribeMessage:ok"}`): each `accept` of a configured template is
    /// one more send. Returns the user's quotas for the configured templates named.
    public func report(user: UserID, result: [String: String]) async throws -> [SubscriptionQuota] {
        let entries = result.filter { $0.key != "errMsg" }
        guard !entries.isEmpty, entries.count <= 20 else {
            throw SwiftletError.invalid("subscriptions.invalid_result", "give the wx.requestSubscribeMessage result: 1–20 template ids with accept, reject, ban or filter")
        }
        var accepted: [String: Int] = [:]
        for (templateID, answer) in entries {
            guard Self.isTemplateID(templateID) else {
                throw SwiftletError.invalid("subscriptions.invalid_template_id", "template ids are 1–128 letters, digits, '-' or '_'")
            }
            guard Self.answers.contains(answer) else {
                throw SwiftletError.invalid("subscriptions.invalid_answer", "each template's answer is accept, reject, ban or filter")
            }
            if answer == "accept", templateIDs.contains(templateID) { accepted[templateID] = 1 }
        }
        let named = Set(entries.keys).intersection(templateIDs)
        guard !named.isEmpty else { return [] }
        let quotas = try await subscriptions.addAcceptances(user: user, accepted: accepted, cap: settings.quotaCap, now: clock.now)
        return named.sorted().map { id in quotas.first { $0.templateID == id } ?? SubscriptionQuota(templateID: id, remaining: 0) }
    }

    public func quotas(user: UserID) async throws -> [SubscriptionQuota] {
        try await subscriptions.quotas(user: user).filter { templateIDs.contains($0.templateID) }
    }

    static let answers: Set<String> = ["accept", "reject", "ban", "filter"]

    /// Template ids as WeChat gives them: letters, digits, `-` and `_`.
    public static func isTemplateID(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
    }

    // MARK: Dispatch

    /// One round through the outbox; returns how many events this node moved the cursor
    /// past (0 when caught up or another node did it).
    @discardableResult
    public func dispatchOnce(batchSize: Int = 500) async throws -> Int {
        let cursor = try await subscriptions.dispatchCursor()
        let batch = try await events.events(after: cursor, limit: batchSize)
        guard let last = batch.last else { return 0 }
        let now = clock.now
        var sends: [SubscribeSend] = []
        for stored in batch {
            let templates = settings.templates.filter { $0.event == stored.event.type }
            guard !templates.isEmpty, let user = Self.payload(stored.event)["userId"] as? String else { continue }
            for template in templates {
                sends.append(SubscribeSend(
                    id: .generate(), eventID: stored.event.id, userID: UserID(rawValue: user), templateKey: template.key,
                    templateID: template.templateId, status: .pending, attempts: 0, quotaTaken: false, outcome: nil,
                    createdAt: now, updatedAt: now))
            }
        }
        return try await subscriptions.dispatch(from: cursor, to: last.position, sends: sends, jobKind: Self.jobKind)
            ? batch.count : 0
    }

    static func payload(_ event: DomainEvent) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) as? [String: Any] ?? [:]
    }

    // MARK: Sending

    /// The job of one send.
    public func handle(_ job: ClaimedJob) async throws -> JobOutcome {
        let id = SubscribeSendID(rawValue: job.payload)
        guard let send = try await subscriptions.send(id), send.status == .pending else { return .done }
        let now = clock.now
        func give(_ status: SubscribeSend.Status, _ outcome: String) async throws -> JobOutcome {
            try await subscriptions.finish(id, status: status, outcome: outcome, countAttempt: false, now: now)
            log(send, status, outcome)
            return .done
        }
        guard let template = settings.templates.first(where: { $0.key == send.templateKey }) else {
            return try await give(.dead, "template_not_configured")
        }
        guard let sender else { return try await give(.dead, "wechat_not_configured") }
        guard let event = try await events.event(id: send.eventID) else { return try await give(.dead, "event_gone") }
        guard let user = try await users.find(id: send.userID) else { return try await give(.dead, "user_gone") }
        let payload = Self.payload(event.event)
        let fields: [(key: String, value: String)]
        switch template.render(payload: payload) {
        case .success(let rendered): fields = rendered
        case .failure(let error): return try await give(.dead, "invalid_field: \(error.field) \(error.reason)")
        }
        if template.whenOnline != true, await isOnline(send.userID) {
            return try await give(.skipped, "online")
        }
        guard try await subscriptions.takeQuota(for: id, now: now) else { return try await give(.skipped, "no_subscription") }

        let result = await sender.send(
            openid: user.openid, templateID: template.templateId, page: template.renderPage(payload: payload), data: fields)
        let after = clock.now
        switch result {
        case .sent:
            try await subscriptions.finish(id, status: .sent, outcome: "0", countAttempt: true, now: after)
            log(send, .sent, "0")
            return .done
        case .noSubscription:
            try await subscriptions.clearQuota(user: send.userID, templateID: template.templateId, now: after)
            try await subscriptions.finish(id, status: .dead, outcome: "43101", countAttempt: true, now: after)
            log(send, .dead, "43101")
            return .done
        case .invalid(let errcode, _):
            try await subscriptions.returnQuota(for: id, now: after)
            try await subscriptions.finish(id, status: .dead, outcome: String(errcode), countAttempt: true, now: after)
            log(send, .dead, String(errcode))
            return .done
        case .retryable(let reason):
            if send.attempts + 1 >= settings.maxAttempts {
                try await subscriptions.returnQuota(for: id, now: after)
                try await subscriptions.finish(id, status: .dead, outcome: reason, countAttempt: true, now: after)
                log(send, .dead, reason)
                return .done
            }
            try await subscriptions.finish(id, status: .pending, outcome: reason, countAttempt: true, now: after)
            // 2 s, 4 s, 8 s, … (the seeds' schedule), capped at five minutes.
            return .retry(after: min(300, pow(2, Double(send.attempts + 1))))
        }
    }

    private func log(_ send: SubscribeSend, _ status: SubscribeSend.Status, _ outcome: String) {
        let metadata: Logger.Metadata = [
            "send": .string(send.id.rawValue), "template": .string(send.templateID), "status": .string(status.rawValue),
            "outcome": .string(outcome),
        ]
        status == .dead ? logger.warning("subscribe message given up", metadata: metadata)
            : logger.debug("subscribe message", metadata: metadata)
    }
}
