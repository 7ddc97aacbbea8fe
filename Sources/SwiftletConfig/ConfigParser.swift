import Foundation
import SwiftletPostgresURL

/// Turns raw text values into the typed configuration, collecting every problem
/// instead of stopping at the first.
struct ConfigParser {
    let lookup: (String) -> String?
    var problems: [ConfigurationError.Problem] = []

    init(lookup: @escaping (String) -> String?) {
        self.lookup = lookup
    }

    mutating func parse() -> SwiftletConfiguration {
        var config = SwiftletConfiguration()
        config.profile = choice("profile", default: .development)
        if config.profile == .production { config.http.host = "0.0.0.0" }
        if config.profile == .test { config.log.level = .warning }

        config.http.host = string("http.host", default: config.http.host)
        config.http.port = integer("http.port", default: config.http.port, in: 0...65535)
        config.http.backlog = integer("http.backlog", default: config.http.backlog, in: 16...65535)
        config.http.maxBodyBytes = integer("http.maxBodySize", default: config.http.maxBodyBytes, in: 1024...(1 << 31))
        config.http.idleTimeoutSeconds = seconds("http.idleTimeout", default: config.http.idleTimeoutSeconds)
        config.http.headerTimeoutSeconds = seconds("http.headerTimeout", default: config.http.headerTimeoutSeconds)
        config.http.bodyTimeoutSeconds = seconds("http.bodyTimeout", default: config.http.bodyTimeoutSeconds)
        config.http.shutdownTimeoutSeconds = seconds("http.shutdownTimeout", default: config.http.shutdownTimeoutSeconds)
        config.http.inlineRoutes = boolean("http.inlineRoutes", default: config.http.inlineRoutes)
        parseTLS(&config)

        config.log.level = choice("log.level", default: config.log.level)
        config.log.format = choice("log.format", default: config.log.format)
        config.log.accessLog = boolean("log.accessLog", default: config.log.accessLog)

        config.storage.engine = choice("storage.engine", default: config.storage.engine)
        config.storage.autoMigrate = boolean("storage.autoMigrate", default: config.storage.autoMigrate)
        config.storage.sqlitePath = string("storage.sqlite.path", default: config.storage.sqlitePath)
        config.storage.sqliteReaders = integer("storage.sqlite.readers", default: config.storage.sqliteReaders, in: 1...64)
        config.storage.sqliteBusyTimeoutMilliseconds = integer(
            "storage.sqlite.busyTimeout", default: config.storage.sqliteBusyTimeoutMilliseconds, in: 0...600_000)
        config.storage.sqliteSynchronous = choice("storage.sqlite.synchronous", default: config.storage.sqliteSynchronous)
        if let url = lookup("storage.postgres.url"), !url.isEmpty {
            do {
                let parsed = try PostgresURL(parsing: url)
                config.storage.postgresURL = url
                if let root = parsed.sslRootCertificatePath, !FileManager.default.isReadableFile(atPath: root) {
                    problems.append(.init(key: "storage.postgres.url", message: "sslrootcert \(root) is not a readable file"))
                }
            } catch {
                problems.append(.init(key: "storage.postgres.url", message: error.description))
            }
        }
        config.storage.postgresPoolSize = integer("storage.postgres.poolSize", default: config.storage.postgresPoolSize, in: 1...1000)
        config.storage.postgresReadConnections = integer(
            "storage.postgres.readConnections", default: config.storage.postgresReadConnections, in: 0...64)
        config.storage.postgresConnectTimeoutSeconds = seconds(
            "storage.postgres.connectTimeout", default: config.storage.postgresConnectTimeoutSeconds)
        config.storage.postgresLeaseTimeoutSeconds = seconds(
            "storage.postgres.leaseTimeout", default: config.storage.postgresLeaseTimeoutSeconds)
        config.storage.postgresAllowUnverifiedTLS = boolean(
            "storage.postgres.allowUnverifiedTLS", default: config.storage.postgresAllowUnverifiedTLS)
        parseRedis(&config)
        config.cluster.nodes = integer("cluster.nodes", default: config.cluster.nodes, in: 1...10_000)
        config.dataDirectory = string("data.directory", default: config.dataDirectory)
        config.benchEndpoints = boolean("bench.endpoints", default: config.benchEndpoints)
        parseAuth(&config)
        parseWeChat(&config)
        parseWeChatPay(&config)
        config.commerce.unpaidTimeoutSeconds = seconds("commerce.unpaidTimeout", default: config.commerce.unpaidTimeoutSeconds)
        config.commerce.maxQuantityPerItem = integer("commerce.maxQuantityPerItem", default: config.commerce.maxQuantityPerItem, in: 1...10_000)
        config.commerce.flashSaleReconcileSeconds = seconds(
            "commerce.flashSaleReconcile", default: config.commerce.flashSaleReconcileSeconds)
        config.commerce.flashSaleReservationGraceSeconds = seconds(
            "commerce.flashSaleReservationGrace", default: config.commerce.flashSaleReservationGraceSeconds)
        config.commerce.demoCatalogue = boolean("commerce.demoCatalogue", default: config.profile == .development)
        config.jobs.pollIntervalSeconds = seconds("jobs.pollInterval", default: config.jobs.pollIntervalSeconds)
        config.jobs.leaseSeconds = seconds("jobs.lease", default: config.jobs.leaseSeconds)
        parseRealtime(&config)
        parseWebhooks(&config)
        parseSigning(&config)
        parseRateLimits(&config)
        parseSubscribe(&config)
        parseTelemetry(&config)
        config.cache.userLifetimeSeconds = cacheLifetime("cache.userLifetime", default: config.cache.userLifetimeSeconds)
        config.cache.catalogueLifetimeSeconds = cacheLifetime(
            "cache.catalogueLifetime", default: config.cache.catalogueLifetimeSeconds)
        return config
    }

    /// Seconds from 0 (off) to an hour.
    mutating func cacheLifetime(_ key: String, default value: Double) -> Double {
        guard let raw = optional(key) else { return value }
        if let parsed = Double(raw), parsed.isFinite, (0...3600).contains(parsed) { return parsed }
        problems.append(.init(key: key, message: "expected seconds from 0 to 3600, got \"\(raw)\""))
        return value
    }

    mutating func parseSubscribe(_ config: inout SwiftletConfiguration) {
        var subscribe = config.subscribe
        if let raw = optional("subscribe.templates") {
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("["), (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) is [Any] {
                subscribe.templatesJSON = trimmed
            } else {
                problems.append(.init(key: "subscribe.templates", message: "expected a JSON array of template mappings"))
            }
        }
        if optional("subscribe.miniprogramState") != nil {
            subscribe.miniprogramState = choice("subscribe.miniprogramState", default: SwiftletConfiguration.Subscribe.State.formal)
        }
        if let lang = optional("subscribe.lang") {
            if ["zh_CN", "en_US", "zh_HK", "zh_TW"].contains(lang.trimmingCharacters(in: .whitespaces)) {
                subscribe.lang = lang.trimmingCharacters(in: .whitespaces)
            } else {
                problems.append(.init(key: "subscribe.lang", message: "expected zh_CN, en_US, zh_HK or zh_TW, got \"\(lang)\""))
            }
        }
        subscribe.maxAttempts = integer("subscribe.maxAttempts", default: subscribe.maxAttempts, in: 1...50)
        config.subscribe = subscribe
    }

    mutating func parseRateLimits(_ config: inout SwiftletConfiguration) {
        var limits = config.rateLimits
        limits.enabled = boolean("rateLimits.enabled", default: config.profile == .production)
        if let raw = optional("rateLimits.policies") {
            switch SwiftletConfiguration.RateLimits.parsePolicies(raw) {
            case .success(let policies): limits.policies = policies
            case .failure(let problem): problems.append(.init(key: "rateLimits.policies", message: problem.message))
            }
        }
        if let raw = optional("http.trustedProxies") {
            let entries = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let shape = CharacterSet(charactersIn: "0123456789abcdefABCDEF.:/")
            if entries.allSatisfy({ $0.unicodeScalars.allSatisfy(shape.contains) }) {
                limits.trustedProxies = entries
            } else {
                problems.append(.init(key: "http.trustedProxies", message: "expected comma-separated IP addresses or CIDRs"))
            }
        }
        config.rateLimits = limits
        if let upstream = url("proxy.legacyUpstream") {
            if upstream.contains("?") {
                problems.append(.init(key: "proxy.legacyUpstream", message: "expected an http(s) URL without a query"))
            } else {
                config.proxy.legacyUpstream = upstream
            }
        }
        config.proxy.timeoutSeconds = seconds("proxy.timeout", default: config.proxy.timeoutSeconds)
        config.proxy.maxResponseBytes = integer("proxy.maxResponseSize", default: config.proxy.maxResponseBytes, in: 1024...(1 << 31))
        config.proxy.canaryPercent = integer("proxy.canaryPercent", default: config.proxy.canaryPercent, in: 0...100)
        if let raw = optional("proxy.canaryRoutes") {
            let routes = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if routes.allSatisfy({ $0.split(separator: " ").count == 2 && $0.split(separator: " ")[1].hasPrefix("/") }) {
                config.proxy.canaryRoutes = routes
            } else {
                problems.append(.init(key: "proxy.canaryRoutes", message: "expected comma-separated \"METHOD /route/template\" entries"))
            }
        }
        config.shedding.enabled = boolean("shedding.enabled", default: config.profile == .production)
        config.shedding.minLimit = integer("shedding.minLimit", default: config.shedding.minLimit, in: 1...100_000)
        config.shedding.maxLimit = integer("shedding.maxLimit", default: config.shedding.maxLimit, in: 1...100_000)
        if config.shedding.maxLimit < config.shedding.minLimit {
            problems.append(.init(key: "shedding.maxLimit", message: "must be at least shedding.minLimit"))
        }
    }

    mutating func parseSigning(_ config: inout SwiftletConfiguration) {
        var signing = config.signing
        signing.windowSeconds = seconds("signing.window", default: signing.windowSeconds)
        signing.secretOverlapSeconds = duration("signing.secretOverlap", default: signing.secretOverlapSeconds)
        if let raw = optional("signing.routes") {
            var rules: [SwiftletConfiguration.Signing.RouteRule] = []
            for item in raw.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[0].hasPrefix("/"),
                      let requirement = SwiftletConfiguration.Signing.Requirement(rawValue: parts[1].lowercased()) else {
                    problems.append(.init(key: "signing.routes", message: "expected comma-separated /route-template=required|optional|off (a trailing * matches a prefix), got \"\(item)\""))
                    continue
                }
                rules.append(.init(pattern: parts[0], requirement: requirement))
            }
            signing.routes = rules
        }
        config.signing = signing
    }

    mutating func parseWebhooks(_ config: inout SwiftletConfiguration) {
        var webhooks = config.webhooks
        webhooks.deliver = boolean("webhooks.deliver", default: webhooks.deliver)
        webhooks.attemptTimeoutSeconds = seconds("webhooks.attemptTimeout", default: webhooks.attemptTimeoutSeconds)
        webhooks.leaseSeconds = seconds("webhooks.lease", default: webhooks.leaseSeconds)
        if webhooks.leaseSeconds <= webhooks.attemptTimeoutSeconds + 1 {
            problems.append(.init(key: "webhooks.lease", message: "must be longer than webhooks.attemptTimeout + 1 s"))
        }
        if let schedule = optional("webhooks.retrySchedule") {
            let delays = schedule.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            if delays.count > 50 || delays.contains(where: { $0 == nil || !$0!.isFinite || $0! < 0 || $0! > 7 * 86_400 }) {
                problems.append(.init(key: "webhooks.retrySchedule",
                                      message: "expected at most 50 comma-separated seconds, each from 0 to 604800"))
            } else {
                webhooks.retryDelaysSeconds = delays.compactMap { $0 }
            }
        }
        if let raw = optional("webhooks.retryJitter") {
            if let value = Double(raw.trimmingCharacters(in: .whitespaces)), (0...1).contains(value) {
                webhooks.retryJitter = value
            } else {
                problems.append(.init(key: "webhooks.retryJitter", message: "expected a fraction from 0 to 1, got \"\(raw)\""))
            }
        }
        webhooks.disableAfterSeconds = duration("webhooks.disableAfter", default: webhooks.disableAfterSeconds)
        webhooks.secretOverlapSeconds = duration("webhooks.secretOverlap", default: webhooks.secretOverlapSeconds)
        webhooks.retentionSeconds = duration("webhooks.retention", default: webhooks.retentionSeconds)
        if let raw = optional("webhooks.allowList") {
            webhooks.allowList = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        webhooks.pollIntervalSeconds = seconds("webhooks.pollInterval", default: webhooks.pollIntervalSeconds)
        webhooks.concurrency = integer("webhooks.concurrency", default: webhooks.concurrency, in: 1...1_024)
        config.webhooks = webhooks
    }

    mutating func parseRealtime(_ config: inout SwiftletConfiguration) {
        var realtime = config.realtime
        realtime.pingIntervalSeconds = seconds("realtime.pingInterval", default: realtime.pingIntervalSeconds)
        realtime.authTimeoutSeconds = seconds("realtime.authTimeout", default: realtime.authTimeoutSeconds)
        realtime.tokenGraceSeconds = seconds("realtime.tokenGrace", default: realtime.tokenGraceSeconds)
        realtime.maxQueuedBytes = integer("realtime.maxQueuedBytes", default: realtime.maxQueuedBytes, in: 4_096...(256 << 20))
        realtime.maxFrameBytes = integer("realtime.maxFrameBytes", default: realtime.maxFrameBytes, in: 1_024...(16 << 20))
        realtime.maxConnectionsPerUser = integer("realtime.maxConnectionsPerUser", default: realtime.maxConnectionsPerUser, in: 1...10_000)
        realtime.maxConnectionsPerNode = integer("realtime.maxConnectionsPerNode", default: realtime.maxConnectionsPerNode, in: 1...10_000_000)
        realtime.inboxRetentionSeconds = duration("realtime.inboxRetention", default: realtime.inboxRetentionSeconds)
        realtime.inboxMaxMessages = integer("realtime.inboxMaxMessages", default: realtime.inboxMaxMessages, in: 10...1_000_000)
        realtime.messagesPerMinute = integer("realtime.messagesPerMinute", default: realtime.messagesPerMinute, in: 1...100_000)
        realtime.maxMessageCharacters = integer("realtime.maxMessageCharacters", default: realtime.maxMessageCharacters, in: 1...100_000)
        realtime.roomHistory = integer("realtime.roomHistory", default: realtime.roomHistory, in: 10...1_000_000)
        realtime.roomMaxMembers = integer("realtime.roomMaxMembers", default: realtime.roomMaxMembers, in: 2...1_000_000)
        config.realtime = realtime
    }

    mutating func parseRedis(_ config: inout SwiftletConfiguration) {
        if let url = optional("redis.url") {
            do throws(RedisURLShape.Problem) {
                _ = try RedisURLShape(parsing: url)
                config.redis.url = url
            } catch {
                problems.append(.init(key: "redis.url", message: error.description))
            }
        }
        config.redis.poolSize = integer("redis.poolSize", default: config.redis.poolSize, in: 1...256)
        config.redis.connectTimeoutSeconds = seconds("redis.connectTimeout", default: config.redis.connectTimeoutSeconds)
        config.redis.commandTimeoutSeconds = seconds("redis.commandTimeout", default: config.redis.commandTimeoutSeconds)
        config.redis.tlsCAFile = readableFile("redis.tlsCaFile")
        config.redis.allowPlaintext = boolean("redis.allowPlaintext", default: false)
        if config.redis.tlsCAFile != nil, let url = config.redis.url, (try? RedisURLShape(parsing: url))?.usesTLS == false {
            problems.append(.init(key: "redis.tlsCaFile", message: "a CA file needs TLS: use a rediss:// URL"))
        }
    }

    mutating func parseWeChatPay(_ config: inout SwiftletConfiguration) {
        var pay = config.wechatPay
        pay.baseURL = url("wechatpay.baseUrl")
        pay.mchID = optional("wechatpay.mchId")
        pay.merchantSerialNumber = optional("wechatpay.merchantSerialNumber")?.uppercased()
        pay.merchantPrivateKeyFile = optional("wechatpay.merchantPrivateKeyFile")
        if let key = optional("wechatpay.apiV3Key") {
            if key.utf8.count == 32 {
                pay.apiV3Key = key
            } else {
                problems.append(.init(key: "wechatpay.apiV3Key", message: "must be exactly 32 ASCII characters, got \(key.utf8.count)"))
            }
        }
        pay.publicKeyID = optional("wechatpay.publicKeyId")
        pay.publicKeyFile = optional("wechatpay.publicKeyFile")
        pay.platformCertificateFiles = optional("wechatpay.platformCertificateFiles").map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } ?? []
        if let notify = url("wechatpay.notifyUrl") {
            if notify.contains("?") {
                problems.append(.init(key: "wechatpay.notifyUrl", message: "WeChat Pay refuses notify URLs with a query string"))
            } else {
                pay.notifyURL = notify
            }
        }
        pay.timeoutSeconds = seconds("wechatpay.timeout", default: pay.timeoutSeconds)
        if let schedule = optional("wechatpay.sandboxRetrySchedule") {
            let delays = schedule.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            if delays.isEmpty || delays.contains(where: { $0 == nil || $0! < 0 }) {
                problems.append(.init(key: "wechatpay.sandboxRetrySchedule", message: "expected comma-separated seconds ≥ 0"))
            } else {
                pay.sandboxRetrySchedule = delays.compactMap { $0 }
            }
        }
        pay.sandboxKeyMode = choice("wechatpay.sandboxKeyMode", default: pay.sandboxKeyMode)
        pay.sandboxMigrationSeconds = duration("wechatpay.sandboxMigrationWindow", default: pay.sandboxMigrationSeconds)
        if pay.isConfigured {
            for (key, value) in [("wechatpay.merchantSerialNumber", pay.merchantSerialNumber), ("wechatpay.merchantPrivateKeyFile", pay.merchantPrivateKeyFile),
                                 ("wechatpay.apiV3Key", pay.apiV3Key), ("wechatpay.notifyUrl", pay.notifyURL)] where value == nil {
                problems.append(.init(key: key, message: "is required when wechatpay.mchId is set"))
            }
            if (pay.publicKeyID == nil) != (pay.publicKeyFile == nil) {
                problems.append(.init(key: "wechatpay.publicKeyId", message: "wechatpay.publicKeyId and wechatpay.publicKeyFile go together"))
            }
            if pay.publicKeyID == nil, pay.platformCertificateFiles.isEmpty {
                problems.append(.init(key: "wechatpay.publicKeyFile",
                                      message: "set wechatpay.publicKeyId + wechatpay.publicKeyFile, or wechatpay.platformCertificateFiles, to verify WeChat Pay"))
            }
            if let id = pay.publicKeyID, !id.hasPrefix("PUB_KEY_ID_") {
                problems.append(.init(key: "wechatpay.publicKeyId", message: "expected PUB_KEY_ID_ followed by digits"))
            }
        }
        config.wechatPay = pay
    }

    mutating func optional(_ key: String) -> String? {
        guard let raw = lookup(key) else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    mutating func url(_ key: String) -> String? {
        guard let raw = optional(key) else { return nil }
        guard let url = URL(string: raw), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            problems.append(.init(key: key, message: "expected an http(s) URL, got \"\(raw)\""))
            return nil
        }
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }

    mutating func parseAuth(_ config: inout SwiftletConfiguration) {
        var auth = config.auth
        auth.accessTokenLifetimeSeconds = integer("auth.accessTokenLifetime", default: auth.accessTokenLifetimeSeconds, in: 60...86_400)
        auth.refreshTokenLifetimeSeconds = integer("auth.refreshTokenLifetime", default: auth.refreshTokenLifetimeSeconds, in: 3600...31_536_000)
        auth.refreshReuseGraceSeconds = integer("auth.refreshReuseGrace", default: auth.refreshReuseGraceSeconds, in: 0...60)
        auth.issuer = string("auth.issuer", default: auth.issuer)
        auth.audience = string("auth.audience", default: auth.audience)
        auth.clockLeewaySeconds = integer("auth.clockLeeway", default: auth.clockLeewaySeconds, in: 0...300)
        auth.jwtAlgorithm = choice("auth.jwt.algorithm", default: auth.jwtAlgorithm)
        auth.jwtKeyID = string("auth.jwt.keyId", default: auth.jwtKeyID)
        if let secret = lookup("auth.jwt.secret"), !secret.isEmpty {
            if secret.utf8.count < 32 {
                problems.append(.init(key: "auth.jwt.secret", message: "must be at least 32 bytes (HS256), got \(secret.utf8.count)"))
            } else {
                auth.jwtSecret = secret
            }
        }
        if let retired = lookup("auth.jwt.retiredSecrets"), !retired.isEmpty {
            for pair in retired.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, parts[1].utf8.count >= 32 else {
                    problems.append(.init(key: "auth.jwt.retiredSecrets", message: "expected kid=secret pairs (secrets ≥ 32 bytes), separated by commas"))
                    break
                }
                auth.jwtRetiredSecrets.append(.init(kid: parts[0], secret: parts[1]))
            }
        }
        if let file = lookup("auth.jwt.privateKeyFile"), !file.isEmpty {
            auth.jwtPrivateKeyFile = file
        }
        config.auth = auth
    }

    mutating func parseWeChat(_ config: inout SwiftletConfiguration) {
        var wechat = config.wechat
        wechat.sandbox = config.profile != .production
        wechat.sandbox = boolean("wechat.sandbox", default: wechat.sandbox)
        wechat.appID = string("wechat.appId", default: wechat.appID)
        if let secret = lookup("wechat.appSecret"), !secret.isEmpty { wechat.appSecret = secret }
        if let base = lookup("wechat.apiBaseUrl"), !base.isEmpty {
            let trimmed = base.trimmingCharacters(in: .whitespaces)
            if let url = URL(string: trimmed), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                wechat.apiBaseURL = trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
            } else {
                problems.append(.init(key: "wechat.apiBaseUrl", message: "expected an http(s) URL, got \"\(base)\""))
            }
        }
        wechat.timeoutSeconds = seconds("wechat.timeout", default: wechat.timeoutSeconds)
        config.wechat = wechat
    }

    mutating func string(_ key: String, default value: String) -> String {
        guard let raw = lookup(key) else { return value }
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            problems.append(.init(key: key, message: "must not be empty"))
            return value
        }
        return trimmed
    }

    mutating func integer(_ key: String, default value: Int, in range: ClosedRange<Int>) -> Int {
        guard let raw = lookup(key) else { return value }
        guard let number = Int(raw.trimmingCharacters(in: .whitespaces)) else {
            problems.append(.init(key: key, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(raw)\""))
            return value
        }
        guard range.contains(number) else {
            problems.append(.init(key: key, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(number)"))
            return value
        }
        return number
    }

    mutating func seconds(_ key: String, default value: Double) -> Double {
        guard let raw = lookup(key) else { return value }
        guard let number = Double(raw.trimmingCharacters(in: .whitespaces)), number.isFinite, number > 0, number <= 86_400 else {
            problems.append(.init(key: key, message: "expected a number of seconds greater than 0 (at most 86400), got \"\(raw)\""))
            return value
        }
        return number
    }

    /// Seconds for retention-like settings, which are days long: up to a year.
    mutating func duration(_ key: String, default value: Double) -> Double {
        guard let raw = lookup(key) else { return value }
        guard let number = Double(raw.trimmingCharacters(in: .whitespaces)), number.isFinite, number > 0, number <= 366 * 86_400 else {
            problems.append(.init(key: key, message: "expected a number of seconds greater than 0 (at most 31622400), got \"\(raw)\""))
            return value
        }
        return number
    }

    mutating func boolean(_ key: String, default value: Bool) -> Bool {
        guard let raw = lookup(key) else { return value }
        switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            problems.append(.init(key: key, message: "expected true or false, got \"\(raw)\""))
            return value
        }
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default value: Choice) -> Choice
    where Choice.RawValue == String {
        guard let raw = lookup(key) else { return value }
        let wanted = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard let parsed = Choice.allCases.first(where: { $0.rawValue.lowercased() == wanted }) else {
            let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            problems.append(.init(key: key, message: "expected one of \(allowed), got \"\(raw)\""))
            return value
        }
        return parsed
    }
}
