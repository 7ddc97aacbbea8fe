import Configuration
import SystemPackage

/// Where configuration comes from, lowest precedence first: built-in defaults, then the
/// file, then `SWIFTLET_…` environment variables, then command-line flags.
public struct ConfigurationSources: Sendable {
    /// YAML (`.yaml`/`.yml`) or JSON file. Nil: `SWIFTLET_CONFIG` from the environment, if set.
    public var filePath: String?
    public var environment: [String: String]
    /// Values from command-line flags, by key (`http.port`).
    public var overrides: [String: String]

    public init(filePath: String? = nil, environment: [String: String] = [:], overrides: [String: String] = [:]) {
        self.filePath = filePath
        self.environment = environment
        self.overrides = overrides
    }
}

public enum ConfigurationLoader {
    /// Reads every source, parses every key, and validates the result as a whole.
    /// All problems are reported together, each with its key and environment name.
    public static func load(_ sources: ConfigurationSources) async throws(ConfigurationError) -> SwiftletConfiguration {
        let reader = try await makeReader(sources)
        var parser = ConfigParser(lookup: { key in rawValue(reader, key) })
        let configuration = parser.parse()
        let problems = parser.problems + validate(configuration)
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    static func makeReader(_ sources: ConfigurationSources) async throws(ConfigurationError) -> ConfigReader {
        var providers: [any ConfigProvider] = []
        let overrides = Dictionary(uniqueKeysWithValues: sources.overrides.map { key, value in
            (AbsoluteConfigKey(ConfigKey(key)), ConfigValue(.string(value), isSecret: ConfigKeys.info(key)?.isSecret ?? false))
        })
        providers.append(InMemoryProvider(name: "flags", values: overrides))
        // Environment names come from the documented key list (`ConfigKeyInfo.environmentName`),
        // so the variable a reader finds in docs/configuration.md is the one that is read.
        let environment = Dictionary(uniqueKeysWithValues: ConfigKeys.all.compactMap { info in
            sources.environment[info.environmentName].map {
                (AbsoluteConfigKey(ConfigKey(info.key)), ConfigValue(.string($0), isSecret: info.isSecret))
            }
        })
        providers.append(InMemoryProvider(name: "environment", values: environment))
        if let path = sources.filePath ?? sources.environment["SWIFTLET_CONFIG"], !path.isEmpty {
            do {
                if path.hasSuffix(".json") {
                    providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
                } else if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                    providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
                } else {
                    throw ConfigurationError(problems: [.init(key: "config", message: "\(path): expected a .yaml, .yml or .json file")])
                }
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw ConfigurationError(problems: [.init(key: "config", message: "cannot read \(path): \(error)")])
            }
        }
        return ConfigReader(providers: providers)
    }

    /// The value as text whatever type the provider holds it as, so that every key is
    /// parsed (and reported) the same way from flags, environment, YAML or JSON.
    static func rawValue(_ reader: ConfigReader, _ key: String) -> String? {
        let configKey = ConfigKey(key)
        if let text = reader.string(forKey: configKey) { return text }
        if let number = reader.int(forKey: configKey) { return String(number) }
        if let number = reader.double(forKey: configKey) { return String(number) }
        if let flag = reader.bool(forKey: configKey) { return String(flag) }
        return nil
    }

    /// Rules that involve more than one key, or the profile.
    static func validate(_ configuration: SwiftletConfiguration) -> [ConfigurationError.Problem] {
        var problems: [ConfigurationError.Problem] = []
        let storage = configuration.storage
        if storage.engine == .postgres, storage.postgresURL == nil {
            problems.append(.init(key: "storage.postgres.url", message: "required when storage.engine is postgres"))
        }
        let wechat = configuration.wechat
        if !wechat.sandbox, wechat.appSecret == nil {
            problems.append(.init(key: "wechat.appSecret", message: "required when wechat.sandbox is off"))
        }
        if configuration.profile == .production {
            if wechat.sandbox {
                problems.append(.init(key: "wechat.sandbox", message: "the WeChat sandbox is refused in production"))
            }
            if wechat.appID == SwiftletConfiguration.WeChat.sandboxAppID {
                problems.append(.init(key: "wechat.appId", message: "set your mini-program's AppID; the sandbox default is refused in production"))
            }
            if wechat.appSecret == SwiftletConfiguration.WeChat.sandboxAppSecret {
                problems.append(.init(key: "wechat.appSecret", message: "the sandbox secret is refused in production"))
            }
            switch configuration.auth.jwtAlgorithm {
            case .hs256 where configuration.auth.jwtSecret == nil:
                problems.append(.init(key: "auth.jwt.secret", message: "required in production (generated secrets are for development only)"))
            case .es256 where configuration.auth.jwtPrivateKeyFile == nil:
                problems.append(.init(key: "auth.jwt.privateKeyFile", message: "required in production with es256"))
            default:
                break
            }
            if storage.engine == .sqlite, configuration.cluster.nodes > 1 {
                problems.append(.init(
                    key: "storage.engine",
                    message: "sqlite cannot serve \(configuration.cluster.nodes) nodes (cluster.nodes); use postgres in production clusters"))
            }
            if configuration.redis.url == nil, configuration.cluster.nodes > 1 {
                problems.append(.init(
                    key: "redis.url",
                    message: "required when cluster.nodes is \(configuration.cluster.nodes): without Redis each node keeps its own revocations, user cache and WeChat access_token, so a logout on one node would not be seen by the others"))
            }
            if let url = configuration.redis.url, let shape = try? RedisURLShape(parsing: url), !shape.usesTLS,
               !shape.isLoopbackHost, !configuration.redis.allowPlaintext {
                problems.append(.init(
                    key: "redis.url",
                    message: "production needs rediss:// (TLS) for a Redis host other than loopback: the WeChat access_token and revocations would cross the network in clear; set redis.allowPlaintext=true to accept it knowingly"))
            }
            if case .refused(let reason) = configuration.postgresTLSPolicy {
                problems.append(.init(key: "storage.postgres.url", message: reason))
            }
            let pay = configuration.wechatPay
            if let notify = pay.notifyURL, !notify.lowercased().hasPrefix("https://") {
                problems.append(.init(key: "wechatpay.notifyUrl", message: "WeChat Pay only notifies https URLs"))
            }
            if let base = pay.baseURL, !base.lowercased().hasPrefix("https://") {
                problems.append(.init(key: "wechatpay.baseUrl", message: "plain http to WeChat Pay is refused in production"))
            }
        }
        return problems
    }
}
