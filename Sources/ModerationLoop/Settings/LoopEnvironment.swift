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

    /// The deployment a flagged track belongs to, from its URI's collection: `fm.plyr.stg.*` is
    /// staging, `fm.plyr.dev.*` dev, any other `fm.plyr.*` production (the rule of the admin
    /// pages' `AdminLinks.environment`); nil for a subject that is no plyr.fm record. One labeler
    /// serves staging and production, so a run only acts on the flags of its own `--env`: a
    /// staging track id asked of the production track API answers 404 and would look deleted.
    public static func of(uri: String) -> LoopEnvironment? {
        guard uri.hasPrefix("at://") else { return nil }
        let parts = uri.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        let collection = parts[1]
        if collection.hasPrefix("fm.plyr.stg.") { return .staging }
        if collection.hasPrefix("fm.plyr.dev.") { return .dev }
        if collection.hasPrefix("fm.plyr.") { return .prod }
        return nil
    }
}
