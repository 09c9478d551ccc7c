/// What the track API said about a flagged track. Only a 404 means deleted; any other answer,
/// or none, keeps the flag (the original counted every non-200, a 500 included, as deleted).
public enum TrackCheck: Sendable, Equatable {
    case noTrackId
    case exists(status: Int)
    case deleted
    /// Another status: not evidence of anything.
    case unexpected(status: Int)
    /// A network error or a timeout: not evidence of anything either.
    case unreachable(String)
    /// Not asked (the track API was failing; see `TrackAPI.giveUpAfter`).
    case skipped(String)

    public var isDeleted: Bool { self == .deleted }

    public var summary: String {
        switch self {
        case .noTrackId: "no track id"
        case .exists(let s): "exists (\(s))"
        case .deleted: "deleted (404)"
        case .unexpected(let s): "track API answered \(s)"
        case .unreachable(let why): "track API \(why)"
        case .skipped(let why): why
        }
    }

    public var code: String {
        switch self {
        case .noTrackId: "no_track_id"
        case .exists: "exists"
        case .deleted: "deleted"
        case .unexpected: "unexpected_status"
        case .unreachable: "unreachable"
        case .skipped: "skipped"
        }
    }
}

/// `GET {baseURL}/tracks/{id}` on the plyr.fm API.
public struct TrackAPI: Sendable {
    public let baseURL: String
    let http: HTTPExchange
    /// After this many network failures in a row the API is taken as down: the remaining flags
    /// are kept without asking (a blackholed API would otherwise cost one timeout per flag).
    public static let giveUpAfter = 3

    public init(baseURL: String, http: HTTPExchange) {
        self.baseURL = baseURL
        self.http = http
    }

    public func check(trackId: Int64) async -> TrackCheck {
        do {
            let answer = try await http.get(join(baseURL, "/tracks/\(trackId)"))
            switch answer.status {
            case 404: return .deleted
            case 200..<300: return .exists(status: answer.status)
            default: return .unexpected(status: answer.status)
            }
        } catch {
            return .unreachable(error.description)
        }
    }
}

/// A wrong `--track-api` (a path that does not exist, a proxy answering 404 for everything)
/// would make every track look deleted. When every asked track (at least `minimum`) answers 404,
/// the run takes that as doubt and resolves none of them.
public enum DeletionGuard {
    public static let minimum = 3

    public static func trust(_ checks: [TrackCheck]) -> Bool {
        let asked = checks.filter { if case .exists = $0 { true } else { $0 == .deleted } }
        let deleted = asked.filter(\.isDeleted).count
        return !(asked.count >= minimum && deleted == asked.count)
    }
}
