import Foundation
import LabelerCore

/// Links the admin pages may show: only http(s) URLs checked here, or ones built from values
/// whose syntax was checked (a numeric track id, a valid handle). Anything else is shown as text.
enum AdminLinks {
    /// Where plyr.fm tracks and artists live (the original dashboard linked the same places).
    static let appBase = "https://plyr.fm"

    static func track(_ id: Int64?) -> String? {
        guard let id, id > 0 else { return nil }
        return "\(appBase)/track/\(id)"
    }

    static func artist(_ handle: String?) -> String? {
        guard let handle, Syntax.isValidHandle(handle) else { return nil }
        return "\(appBase)/u/\(handle)"
    }

    /// An absolute http(s) URL with a host and no credentials or whitespace, else nil.
    static func web(_ s: String?) -> String? {
        guard let s, s.utf8.count <= 2048, !s.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }),
            let c = URLComponents(string: s), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = c.host, !host.isEmpty, c.user == nil, c.password == nil
        else { return nil }
        return s
    }

    /// The plyr.fm environment of a track URI from its collection: nil for production
    /// (`fm.plyr.*`), `stg` / `dev` for `fm.plyr.stg.*` / `fm.plyr.dev.*`, `other` for anything else.
    static func environment(_ uri: String) -> String? {
        guard uri.hasPrefix("at://") else { return nil }
        let parts = uri.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        let collection = parts[1]
        if collection.hasPrefix("fm.plyr.stg.") { return "stg" }
        if collection.hasPrefix("fm.plyr.dev.") { return "dev" }
        if collection.hasPrefix("fm.plyr.") { return nil }
        return "other"
    }
}

/// Timestamps as the pages show them: `2026-05-01 14:03 UTC` from the log's RFC 3339 strings.
enum AdminTime {
    static func display(_ iso: String?) -> String? {
        guard let iso, iso.count >= 16 else { return iso }
        let date = iso.prefix(10)
        let time = iso.dropFirst(11).prefix(5)
        return iso.hasSuffix("Z") || iso.hasSuffix("+00:00") ? "\(date) \(time) UTC" : "\(date) \(time)"
    }
}
