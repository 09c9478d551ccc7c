import Foundation

/// Everything one run needs, resolved from flags and the environment before anything runs.
public struct LoopSettings: Sendable {
    public struct Anthropic: Sendable {
        public var apiKey: String
        public var baseURL: String
        public var model: String
    }

    public struct Bluesky: Sendable {
        public var handle: String
        public var password: String
        public var recipient: String
        public var pdsURL: String
    }

    /// How long each outside service may take for one request (connect, head and body).
    public struct Timeouts: Sendable {
        public var labeler: Duration = .seconds(30)
        public var tracks: Duration = .seconds(10)
        public var anthropic: Duration = .seconds(120)
        public var notify: Duration = .seconds(15)
        public init() {}
        public init(all: Duration) { (labeler, tracks, anthropic, notify) = (all, all, all, all) }
    }

    public var env: LoopEnvironment
    public var serviceURL: String
    public var trackAPI: String
    public var authToken: String
    public var anthropic: Anthropic?
    public var bluesky: Bluesky?
    public var webhookURL: String?
    public var dryRun: Bool
    public var limit: Int?
    public var timeouts: Timeouts

    public static let defaultModel = "claude-sonnet-4-6"
    public static let defaultAnthropicURL = "https://api.anthropic.com"
    public static let defaultPDS = "https://bsky.social"

    /// Flags win over environment variables, which win over the `env` defaults. Every problem is
    /// collected, so the one error names them all.
    public static func resolve(
        environment: [String: String], env: LoopEnvironment = .prod, serviceURL: String? = nil, trackAPI: String? = nil,
        dryRun: Bool = false, limit: Int? = nil, timeouts: Timeouts = Timeouts()
    ) throws(SettingsError) -> LoopSettings {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        var missing: [String] = []
        var invalid: [String] = []
        func url(_ v: String, _ name: String, secret: Bool = false) -> String {
            if !isHTTPURL(v) { invalid.append("\(name) is not an http(s) URL" + (secret ? "" : ": \(v)")) }
            return v
        }

        let service = url(serviceURL ?? value("MODERATION_SERVICE_URL") ?? env.defaultServiceURL,
                          serviceURL != nil ? "--service-url" : "MODERATION_SERVICE_URL")
        let tracks = url(trackAPI ?? value("TRACK_API_URL") ?? env.defaultTrackAPI, trackAPI != nil ? "--track-api" : "TRACK_API_URL")
        let token = value("MODERATION_AUTH_TOKEN")
        if token == nil { missing.append("MODERATION_AUTH_TOKEN") }
        if let l = limit, l < 1 { invalid.append("--limit must be at least 1") }

        var anthropic: Anthropic?
        if let key = value("ANTHROPIC_API_KEY") {
            anthropic = Anthropic(
                apiKey: key, baseURL: url(value("ANTHROPIC_BASE_URL") ?? defaultAnthropicURL, "ANTHROPIC_BASE_URL"),
                model: value("ANTHROPIC_MODEL") ?? defaultModel)
        }

        var bluesky: Bluesky?
        let dm = ["NOTIFY_BOT_HANDLE", "NOTIFY_BOT_PASSWORD", "NOTIFY_RECIPIENT_HANDLE"]
        let dmSet = dm.filter { value($0) != nil }
        if !dmSet.isEmpty {
            let absent = dm.filter { value($0) == nil }
            if absent.isEmpty {
                bluesky = Bluesky(
                    handle: value("NOTIFY_BOT_HANDLE")!, password: value("NOTIFY_BOT_PASSWORD")!,
                    recipient: value("NOTIFY_RECIPIENT_HANDLE")!,
                    pdsURL: url(value("NOTIFY_PDS_URL") ?? defaultPDS, "NOTIFY_PDS_URL"))
            } else {
                missing += absent
                invalid.append("a Bluesky DM needs all of \(dm.joined(separator: ", ")) (\(dmSet.joined(separator: ", ")) set)")
            }
        }
        let webhook = value("NOTIFY_WEBHOOK_URL").map { url($0, "NOTIFY_WEBHOOK_URL", secret: true) }

        guard missing.isEmpty, invalid.isEmpty else { throw SettingsError(missing: missing, invalid: invalid) }
        return LoopSettings(
            env: env, serviceURL: service, trackAPI: tracks, authToken: token!, anthropic: anthropic, bluesky: bluesky,
            webhookURL: webhook, dryRun: dryRun, limit: limit, timeouts: timeouts)
    }

    static func isHTTPURL(_ s: String) -> Bool {
        guard let u = URL(string: s), let scheme = u.scheme?.lowercased(), let host = u.host, !host.isEmpty else { return false }
        return scheme == "http" || scheme == "https"
    }
}

/// Settings that stop a run before it starts; its description is one line naming every problem.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public let missing: [String]
    public let invalid: [String]

    public init(missing: [String], invalid: [String]) {
        self.missing = missing
        self.invalid = invalid
    }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
        parts += invalid
        return parts.joined(separator: "; ")
    }
}
