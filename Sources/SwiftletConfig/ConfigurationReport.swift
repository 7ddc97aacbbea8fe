import SwiftletPostgresURL

extension SwiftletConfiguration {
    /// Every key with its effective value, secrets masked: what `config check` prints.
    public var maskedEntries: [(key: String, value: String)] {
        let postgres = storage.postgresURL.map { text in
            (try? PostgresURL(parsing: text).redacted) ?? "****"
        } ?? "(none)"
        return [
            ("profile", profile.rawValue),
            ("http.host", http.host),
            ("http.port", String(http.port)),
            ("http.backlog", String(http.backlog)),
            ("http.maxBodySize", String(http.maxBodyBytes)),
            ("http.idleTimeout", format(http.idleTimeoutSeconds)),
            ("http.headerTimeout", format(http.headerTimeoutSeconds)),
            ("http.bodyTimeout", format(http.bodyTimeoutSeconds)),
            ("http.shutdownTimeout", format(http.shutdownTimeoutSeconds)),
            ("http.inlineRoutes", String(http.inlineRoutes)),
            ("http.tls.certificateFile", http.tls.certificateFile ?? "(none)"),
            ("http.tls.keyFile", http.tls.keyFile ?? "(none)"),
            ("http.tls.minimumVersion", http.tls.minimumVersion.rawValue),
            ("http.tls.clientCaFile", http.tls.clientCAFile ?? "(none)"),
            ("http.tls.requireClientCertificateForAdmin", String(http.tls.requireClientCertificateForAdmin)),
            ("log.level", log.level.rawValue),
            ("log.format", log.format.rawValue),
            ("log.accessLog", String(log.accessLog)),
            ("storage.engine", storage.engine.rawValue),
            ("storage.autoMigrate", String(storage.autoMigrate)),
            ("storage.sqlite.path", storage.sqlitePath),
            ("storage.sqlite.readers", String(storage.sqliteReaders)),
            ("storage.sqlite.busyTimeout", String(storage.sqliteBusyTimeoutMilliseconds)),
            ("storage.sqlite.synchronous", storage.sqliteSynchronous.rawValue),
            ("storage.postgres.url", postgres),
            ("storage.postgres.poolSize", String(storage.postgresPoolSize)),
            ("storage.postgres.connectTimeout", format(storage.postgresConnectTimeoutSeconds)),
            ("storage.postgres.leaseTimeout", format(storage.postgresLeaseTimeoutSeconds)),
            ("storage.postgres.allowUnverifiedTLS", String(storage.postgresAllowUnverifiedTLS)),
            ("redis.url", redis.redactedURL ?? "(none)"),
            ("redis.poolSize", String(redis.poolSize)),
            ("redis.connectTimeout", format(redis.connectTimeoutSeconds)),
            ("redis.commandTimeout", format(redis.commandTimeoutSeconds)),
            ("redis.tlsCaFile", redis.tlsCAFile ?? "(system trust roots)"),
            ("redis.allowPlaintext", String(redis.allowPlaintext)),
            ("cluster.nodes", String(cluster.nodes)),
            ("data.directory", dataDirectory),
            ("bench.endpoints", String(benchEndpoints)),
            ("auth.accessTokenLifetime", String(auth.accessTokenLifetimeSeconds)),
            ("auth.refreshTokenLifetime", String(auth.refreshTokenLifetimeSeconds)),
            ("auth.refreshReuseGrace", String(auth.refreshReuseGraceSeconds)),
            ("auth.issuer", auth.issuer),
            ("auth.audience", auth.audience),
            ("auth.clockLeeway", String(auth.clockLeewaySeconds)),
            ("auth.jwt.algorithm", auth.jwtAlgorithm.rawValue),
            ("auth.jwt.secret", auth.jwtSecret == nil ? "(generated)" : "****"),
            ("auth.jwt.keyId", auth.jwtKeyID),
            ("auth.jwt.retiredSecrets", auth.jwtRetiredSecrets.isEmpty ? "(none)" : auth.jwtRetiredSecrets.map { "\($0.kid)=****" }.joined(separator: ",")),
            ("auth.jwt.privateKeyFile", auth.jwtPrivateKeyFile ?? "(generated)"),
            ("wechat.appId", wechat.appID),
            ("wechat.appSecret", wechat.appSecret == nil ? (wechat.sandbox ? "(sandbox)" : "(none)") : "****"),
            ("wechat.apiBaseUrl", wechat.apiBaseURL ?? (wechat.sandbox ? "(embedded sandbox)" : "https://api.weixin.qq.com")),
            ("wechat.timeout", format(wechat.timeoutSeconds)),
            ("wechat.sandbox", String(wechat.sandbox)),
            ("wechatpay.baseUrl", wechatPay.baseURL ?? (wechatPay.isConfigured ? WeChatPay.productionBaseURL
                                                        : wechat.sandbox ? "(embedded sandbox)" : "(not configured)")),
            ("wechatpay.mchId", wechatPay.mchID ?? (wechat.sandbox ? "(sandbox merchant)" : "(none: paying is off)")),
            ("wechatpay.merchantSerialNumber", wechatPay.merchantSerialNumber ?? "(none)"),
            ("wechatpay.merchantPrivateKeyFile", wechatPay.merchantPrivateKeyFile ?? "(none)"),
            ("wechatpay.apiV3Key", wechatPay.apiV3Key == nil ? "(none)" : "****"),
            ("wechatpay.publicKeyId", wechatPay.publicKeyID ?? "(none)"),
            ("wechatpay.publicKeyFile", wechatPay.publicKeyFile ?? "(none)"),
            ("wechatpay.platformCertificateFiles", wechatPay.platformCertificateFiles.isEmpty ? "(none)" : wechatPay.platformCertificateFiles.joined(separator: ",")),
            ("wechatpay.notifyUrl", wechatPay.notifyURL ?? "(this server's /api/v1/pay/wechat/notify)"),
            ("wechatpay.timeout", format(wechatPay.timeoutSeconds)),
            ("wechatpay.sandboxRetrySchedule", wechatPay.sandboxRetrySchedule.map(format).joined(separator: ",")),
            ("commerce.unpaidTimeout", format(commerce.unpaidTimeoutSeconds)),
            ("commerce.maxQuantityPerItem", String(commerce.maxQuantityPerItem)),
            ("commerce.demoCatalogue", String(commerce.demoCatalogue)),
            ("jobs.pollInterval", format(jobs.pollIntervalSeconds)),
            ("jobs.lease", format(jobs.leaseSeconds)),
            ("cache.userLifetime", format(cache.userLifetimeSeconds)),
        ]
    }

    private func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
