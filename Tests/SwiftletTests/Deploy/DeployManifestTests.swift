import Foundation
import HTTPTypes
import HummingbirdTesting
import SwiftletConfig
import Testing

/// The deployment files under deploy/ (no cluster here): they must fit the server as built.
@Suite("Deployment files")
struct DeployManifestTests {
    static let deploy = NginxSite.repositoryRoot + "/deploy"

    /// Placeholder values for what the manifests take from Secrets, shaped like real ones.
    static let secretPlaceholders = [
        "SWIFTLET_STORAGE_POSTGRES_URL": "postgres://swiftlet:placeholder@db.example.internal:5432/swiftlet?sslmode=verify-full",
        "SWIFTLET_REDIS_URL": "rediss://:placeholder@redis.example.internal:6380/0",
        "SWIFTLET_AUTH_JWT_SECRET": String(repeating: "k", count: 48),
        "SWIFTLET_WECHAT_APP_SECRET": String(repeating: "0123456789abcdef", count: 2),
        "SWIFTLET_WECHATPAY_API_V3_KEY": String(repeating: "v", count: 32),
    ]

    // MARK: Kubernetes

    @Test("Kubernetes: env names are configuration keys, the configuration is valid, probes and ports match the server, the HPA scales the Deployment",
          .enabled(if: Self.yamlReaderAvailable))
    func kubernetesManifests() async throws {
        let documents = try await Self.kubernetesDocuments()
        let deployment = try Self.single("Deployment", in: documents)
        let service = try Self.single("Service", in: documents)
        let autoscaler = try Self.single("HorizontalPodAutoscaler", in: documents)
        let deploymentName = try #require(Self.value(deployment, "metadata", "name") as? String)
        let podSpec = try #require(Self.value(deployment, "spec", "template", "spec") as? [String: Any])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)

        // Every variable is a documented key's environment name; secrets come from Secrets.
        let keysByEnvironmentName = Dictionary(uniqueKeysWithValues: ConfigKeys.all.map { ($0.environmentName, $0) })
        var plain: [String: String] = [:]
        var fromSecrets: Set<String> = []
        for variable in try #require(container["env"] as? [[String: Any]]) {
            let name = try #require(variable["name"] as? String)
            let info = try #require(keysByEnvironmentName[name], "\(name) is not the environment name of any configuration key")
            if let value = variable["value"] as? String {
                #expect(!info.isSecret, "\(name) is a secret: take it from a Secret, not a plain value")
                plain[name] = value
            } else {
                #expect(Self.value(variable, "valueFrom", "secretKeyRef", "name") is String, "\(name): a value or a secretKeyRef")
                fromSecrets.insert(name)
            }
        }
        #expect(fromSecrets.isSuperset(of: ["SWIFTLET_REDIS_URL", "SWIFTLET_STORAGE_POSTGRES_URL", "SWIFTLET_AUTH_JWT_SECRET"]))
        #expect(plain["SWIFTLET_CLUSTER_NODES"] != nil)

        // The configuration the pods get is accepted by the production profile's checks.
        var environment = plain
        for name in fromSecrets {
            guard let placeholder = Self.secretPlaceholders[name] else { throw TestSetupError("no placeholder for \(name)") }
            environment[name] = placeholder
        }
        let config = try await ConfigurationLoader.load(ConfigurationSources(environment: environment))
        #expect(config.profile == .production)
        #expect(config.http.host == "0.0.0.0", "probes and the Service reach the pod's address, not its loopback")

        // Probes: the server's routes, on the port it listens on.
        let ports = try #require(container["ports"] as? [[String: Any]])
        let httpPort = try #require(ports.first { $0["name"] as? String == "http" })
        #expect(httpPort["containerPort"] as? Int == config.http.port)
        func probe(_ name: String) throws -> (path: String, port: Any?) {
            let get = try #require(Self.value(container, name, "httpGet") as? [String: Any], "\(name) is an httpGet probe")
            return (try #require(get["path"] as? String), get["port"])
        }
        let readiness = try probe("readinessProbe")
        let liveness = try probe("livenessProbe")
        #expect(readiness.path == "/health/ready")
        #expect(liveness.path == "/health/live")
        for port in [readiness.port, liveness.port, (Self.value(service, "spec", "ports") as? [[String: Any]])?.first?["targetPort"]] {
            #expect(port as? String == "http" || port as? Int == config.http.port, "\(String(describing: port)) is the server's port")
        }
        let probePaths = [readiness.path, liveness.path]
        try await TestApp.withLiveApp(.sqlite) { (client: any TestClientProtocol) async throws in
            for path in probePaths {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "GET \(path) answers 200 on a healthy node")
                }
            }
        }

        // Graceful stop: the kubelet waits out the preStop pause and the shutdown timeout.
        let grace = try #require(podSpec["terminationGracePeriodSeconds"] as? Int)
        let preStop = Self.value(container, "lifecycle", "preStop", "sleep", "seconds") as? Int ?? 0
        #expect(Double(grace) > Double(preStop) + config.http.shutdownTimeoutSeconds)
        #expect(Self.value(container, "resources", "requests", "cpu") != nil, "CPU requests: what the HPA's utilisation is measured against")

        // The Service selects the pods; the HPA scales this Deployment, on CPU, up to cluster.nodes.
        let podLabels = try #require(Self.value(deployment, "spec", "template", "metadata", "labels") as? [String: String])
        let selector = try #require(Self.value(service, "spec", "selector") as? [String: String])
        #expect(!selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value })
        let target = try #require(Self.value(autoscaler, "spec", "scaleTargetRef") as? [String: Any])
        #expect(target["kind"] as? String == "Deployment" && target["name"] as? String == deploymentName
                && target["apiVersion"] as? String == "apps/v1")
        let metrics = try #require(Self.value(autoscaler, "spec", "metrics") as? [[String: Any]])
        #expect(metrics.contains { Self.value($0, "resource", "name") as? String == "cpu" })
        let maxReplicas = try #require(Self.value(autoscaler, "spec", "maxReplicas") as? Int)
        #expect(maxReplicas == config.cluster.nodes, "cluster.nodes is the most nodes that can run")
        #expect((Self.value(autoscaler, "spec", "minReplicas") as? Int ?? 1) <= maxReplicas)
    }

    // MARK: nginx

    @Test("nginx accepts deploy/nginx/swiftlet-upstream.conf as shipped and as the tests rewrite it",
          .enabled(if: ExternalTool.enabled("nginx")))
    func nginxAcceptsTheUpstreamConfiguration() async throws {
        let shipped = try NginxSite.upstreamConfiguration()
        for directive in ["keepalive ", "proxy_next_upstream error timeout;", "max_fails=", "fail_timeout=",
                          "proxy_set_header X-Request-Id", "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                          "proxy_set_header Upgrade $http_upgrade;", "proxy_http_version 1.1;"] {
            #expect(shipped.contains(directive), "the upstream config has \(directive)")
        }
        // A POST sent to a node is never sent again to another one.
        let active = shipped.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        #expect(!active.contains { $0.contains("non_idempotent") })

        for (listen, nodes) in [(nil, nil), (18080, [18081, 18082, 18083, 18084])] as [(Int?, [Int]?)] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            _ = try NginxSite.writeConfiguration(in: directory.path, listenPort: listen, nodePorts: nodes)
            let result = try await NginxSite.check(directory: directory.path)
            #expect(result.status == 0, "nginx -t: \(result.text)")
            if let nodes {
                let written = try String(contentsOfFile: directory.path + "/swiftlet-upstream.conf", encoding: .utf8)
                for port in nodes {
                    #expect(written.contains("server 127.0.0.1:\(port) max_fails=2 fail_timeout=5s;"))
                }
            }
        }
    }

    // MARK: systemd

    @Test("systemd unit: serve with an EnvironmentFile, SIGTERM, a stop timeout above http.shutdownTimeout, hardened")
    func systemdUnit() throws {
        let text = try String(contentsOfFile: Self.deploy + "/systemd/swiftlet.service", encoding: .utf8)
        var settings: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            settings[parts[0], default: []].append(parts.count > 1 ? parts[1] : "")
        }
        #expect(settings["ExecStart"]?.first?.hasSuffix("swiftlet serve") == true)
        #expect(settings["EnvironmentFile"]?.isEmpty == false)
        #expect(settings["KillSignal"] == ["SIGTERM"])
        let shutdownKey = try #require(ConfigKeys.info("http.shutdownTimeout"))
        let shutdown = try #require(Double(shutdownKey.defaultValue))
        let stopTimeout = try #require(settings["TimeoutStopSec"]?.first.flatMap(Double.init))
        #expect(stopTimeout > shutdown, "systemd waits longer than the server's own shutdown timeout before SIGKILL")
        for hardening in ["NoNewPrivileges", "ProtectSystem", "PrivateTmp", "CapabilityBoundingSet", "RestrictAddressFamilies"] {
            #expect(settings[hardening] != nil, "\(hardening) is set")
        }
        #expect(settings["DynamicUser"] == ["yes"] || settings["User"] != nil, "does not run as root")
    }

    // MARK: Reading YAML

    /// A python3 that can import PyYAML: the first on PATH, else the system one.
    static var yamlReader: String? {
        [ExternalTool.path("python3"), "/usr/bin/python3"].compactMap { $0 }.first { candidate in
            FileManager.default.isExecutableFile(atPath: candidate)
                && (try? ExternalTool.probe(candidate, ["-c", "import yaml"]).status) == 0
        }
    }

    static var yamlReaderAvailable: Bool {
        if ExternalTool.isCI || yamlReader != nil { return true }
        FileHandle.standardError.write(Data("note: python3 with PyYAML not found; the Kubernetes manifest test not run (use scripts/test.sh)\n".utf8))
        return false
    }

    /// Every document of every deploy/kubernetes/*.yaml, as JSON objects.
    static func kubernetesDocuments() async throws -> [[String: Any]] {
        let python = try #require(yamlReader, "python3 with PyYAML is needed to read the manifests (scripts/test.sh installs python3-yaml)")
        let directory = deploy + "/kubernetes"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(!files.isEmpty)
        let script = "import sys, json, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))"
        let result = try await ExternalTool.run(python, ["-c", script] + files.map { directory + "/" + $0 })
        guard result.status == 0 else { throw TestSetupError("reading the manifests: \(result.text)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(result.text.utf8)) as? [[String: Any]])
    }

    static func single(_ kind: String, in documents: [[String: Any]]) throws -> [String: Any] {
        let matching = documents.filter { $0["kind"] as? String == kind }
        guard matching.count == 1 else { throw TestSetupError("expected one \(kind), found \(matching.count)") }
        return matching[0]
    }

    static func value(_ object: Any?, _ path: String...) -> Any? {
        path.reduce(object) { ($0 as? [String: Any])?[$1] }
    }
}
