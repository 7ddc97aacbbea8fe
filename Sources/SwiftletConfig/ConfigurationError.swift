/// Why configuration was refused. Each problem names the key and its environment
/// variable so the operator knows exactly what to fix.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let key: String
        public let message: String

        public init(key: String, message: String) {
            self.key = key
            self.message = message
        }

        public var description: String {
            let environment = ConfigKeys.info(key)?.environmentName
            return environment.map { "\(key) (\($0)): \(message)" } ?? "\(key): \(message)"
        }
    }

    public let problems: [Problem]

    public init(problems: [Problem]) {
        self.problems = problems
    }

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
