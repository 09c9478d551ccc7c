/// Which deployment a run talks to: it picks the default labeler and track API URLs (flags and
/// environment variables override them) and the `[PLYR-MOD:ENV]` tag of the notification.
public enum LoopEnvironment: String, Sendable, CaseIterable, Codable {
    case dev, staging, prod

    /// The labeler. There is one moderation service for staging and production (as in the
    /// original); dev is a local `labeler serve` on its default port.
    public var defaultServiceURL: String {
        switch self {
        case .dev: "http://127.0.0.1:8080"
        case .staging, .prod: "https://moderation.plyr.fm"
        }
    }

    /// The plyr.fm API asked whether a flagged track still exists.
    public var defaultTrackAPI: String {
        switch self {
        case .dev: "http://localhost:8001"
        case .staging: "https://api-stg.plyr.fm"
        case .prod: "https://api.plyr.fm"
        }
    }

    public var tag: String { "[PLYR-MOD:\(rawValue.uppercased())]" }
}
