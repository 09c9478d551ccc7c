import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// Scores arrive as fractions (0.85, as the original stored them) or percentages (85); the log
/// keeps integer percentages (DAG-CBOR has no floats).
func percent(_ v: Double, field: String) throws -> Int {
    guard v.isFinite, v >= 0 else { throw XRPCError.invalidRequest("\(field) must be a number from 0 to 100") }
    let p = v <= 1 ? (v * 100).rounded() : v.rounded()
    guard p <= 100 else { throw XRPCError.invalidRequest("\(field) must be a number from 0 to 100") }
    return Int(p)
}

func requireSubject(_ uri: String, field: String = "uri") throws {
    guard Syntax.isValidSubject(uri) else { throw XRPCError.invalidRequest("\(field): not a valid AT-URI or DID") }
}

func requireText(_ s: String?, field: String, max: Int) throws {
    if let s, s.utf8.count > max { throw XRPCError.invalidRequest("\(field) is longer than \(max) bytes") }
}

/// Who decided (`resolved_by`, `decided_by`, ...): recorded as the actor `admin:NAME` and printed
/// in histories, so 1–256 bytes with no control, format (bidi overrides, zero-width) or line/
/// paragraph separator characters (a newline could forge a line, an override disguise a name).
func requireName(_ s: String?, field: String) throws {
    guard let s else { return }
    try requireText(s, field: field, max: 256)
    guard !s.trimmingCharacters(in: .whitespaces).isEmpty else { throw XRPCError.invalidRequest("\(field) must not be empty") }
    let refused: Set<Unicode.GeneralCategory> = [.control, .format, .lineSeparator, .paragraphSeparator]
    guard !s.unicodeScalars.contains(where: { refused.contains($0.properties.generalCategory) }) else {
        throw XRPCError.invalidRequest("\(field) must not contain control, format or line-separator characters")
    }
}

/// `/admin/context`, `/admin/flags`, `/admin/resolve`.
struct FlagRoutes {
    let service: LabelerService
    let commands: ModerationCommands
    let maxBody: Int

    struct MatchIn: Decodable {
        var title: String
        var artist: String
        var score: Double
    }

    struct ContextFields: Decodable {
        var track_id: Int64?
        var track_title: String?
        var artist_handle: String?
        var artist_did: String?
        var highest_score: Double?
        var matches: [MatchIn]?

        func event(uri: String) throws -> TrackContextAttached {
            for (name, v) in [("track_title", track_title), ("artist_handle", artist_handle), ("artist_did", artist_did)] {
                try requireText(v, field: name, max: 1024)
            }
            if let did = artist_did, !Syntax.isValidDID(did) { throw XRPCError.invalidRequest("artist_did: not a valid DID") }
            if let m = matches, m.count > 100 { throw XRPCError.invalidRequest("matches: at most 100") }
            let ms = try matches?.enumerated().map { i, m in
                try requireText(m.title, field: "matches[\(i)].title", max: 1024)
                try requireText(m.artist, field: "matches[\(i)].artist", max: 1024)
                return ContextMatch(title: m.title, artist: m.artist, score: try percent(m.score, field: "matches[\(i)].score"))
            }
            return TrackContextAttached(
                uri: uri, trackId: track_id, trackTitle: track_title, artistHandle: artist_handle, artistDid: artist_did,
                highestScore: try highest_score.map { try percent($0, field: "highest_score") }, matches: ms)
        }
    }

    /// `{uri, track_id?, …}` as the issue has it, or `{uri, context: {…}}` as the original's callers send.
    struct ContextBody: Decodable {
        var uri: String
        var context: ContextFields?
        var flat: ContextFields
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: K.self)
            uri = try c.decode(String.self, forKey: .uri)
            context = try c.decodeIfPresent(ContextFields.self, forKey: .context)
            flat = try ContextFields(from: decoder)
        }
        enum K: String, CodingKey { case uri, context }
    }

    func context(_ request: Request) async throws -> Response {
        let body = try await decodeBody(ContextBody.self, request, limit: maxBody)
        try requireSubject(body.uri)
        let event = try (body.context ?? body.flat).event(uri: body.uri)
        let seq = try await service.log.append(event.event(actor: .admin()))
        return try jsonResponse(["message": "context stored for \(body.uri)", "seq": seq])
    }

    struct ResolveBody: StrictBody {
        static let fields: Set<String> = ["uri", "val", "reason", "notes", "resolved_by", "automated"]
        var uri: String
        var val: String?
        var reason: String
        var notes: String?
        /// Who decided (recorded as the event's actor `admin:NAME`).
        var resolved_by: String?
        /// True when a program decided, not a person (`labeler loop`): recorded as actor `loop`,
        /// so read models that trust human decisions (uploader trust, verdict reuse) can tell.
        var automated: Bool?
    }

    func resolve(_ request: Request) async throws -> Response {
        let body = try await decodeBody(ResolveBody.self, request, limit: maxBody)
        try requireSubject(body.uri)
        guard let reason = ResolutionReason(rawValue: body.reason) else {
            throw XRPCError.invalidRequest(
                "reason must be one of \(ResolutionReason.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try requireText(body.notes, field: "notes", max: 10_000)
        try requireName(body.resolved_by, field: "resolved_by")
        let actor: Actor = body.automated == true ? .loop : .admin(body.resolved_by)
        let val = body.val ?? ModerationCommands.copyrightValue
        guard val == ModerationCommands.copyrightValue else {
            throw XRPCError.invalidRequest("only \(ModerationCommands.copyrightValue) flags are resolved here; use /emit-label with neg for others")
        }
        let r = try await commands.resolve(uri: body.uri, val: val, reason: reason, notes: body.notes, actor: actor)
        return try jsonResponse([
            "seq": r.seq, "already_resolved": r.alreadyResolved,
            "message": r.alreadyResolved ? "\(body.uri) was already resolved" : "created negation label for \(body.uri)",
        ])
    }

    static let maxListLimit = 10_000

    /// `?filter=`, and for paging: `order=newest|oldest` (newest by default), `limit` (1 to
    /// 10,000, the default) and `cursor` (the seq of the last flag of the previous page). The
    /// answer carries `cursor` when more flags follow in that order.
    func list(_ request: Request) throws -> Response {
        let q = request.uri.queryParameters
        let filter = q["filter"].map(String.init) ?? "pending"
        let states: Set<FlagRecord.State>? = switch filter {
        case "pending": [.pending]
        case "resolved": [.resolved]
        case "confirmed": [.confirmed]
        case "all": nil
        default: throw XRPCError.invalidRequest("filter must be pending, confirmed, resolved or all")
        }
        let oldestFirst: Bool = switch q["order"].map(String.init) ?? "newest" {
        case "newest": false
        case "oldest": true
        default: throw XRPCError.invalidRequest("order must be newest or oldest")
        }
        let limit = try request.queryInt("limit", in: 1...Self.maxListLimit) ?? Self.maxListLimit
        let cursor = try request.querySeq("cursor")
        let store = service.store
        // Newest first from the start needs only one flag past the page to know more follow.
        let read = !oldestFirst && cursor == nil ? limit + 1 : Int.max
        let (all, inReview) = try store.read { txn in
            (try store.flags.list(states: states, limit: read, txn), try store.batches.awaitingReview(txn))
        }
        var ordered = oldestFirst ? Array(all.reversed()) : all
        if let cursor {
            ordered.removeAll { f in
                guard let s = f.labelSeq else { return true }
                return oldestFirst ? s <= cursor : s >= cursor
            }
        }
        let flags = Array(ordered.prefix(limit))
        var out: [String: Any] = [
            "tracks": flags.map { f in
                var j = Self.json(f)
                if f.state == .pending, let id = inReview[f.uri] { j["review_batch"] = id }
                return j
            },
            "count": flags.count,
        ]
        if ordered.count > limit, let last = flags.last?.labelSeq { out["cursor"] = last }
        return try jsonResponse(out)
    }


    /// The original's FlaggedTrack shape, plus state, resolution and confirmation.
    static func json(_ f: FlagRecord) -> [String: Any] {
        var out: [String: Any] = [
            "uri": f.uri, "val": ModerationCommands.copyrightValue, "state": f.state.rawValue,
            "resolved": f.state == .resolved, "deferrals": f.deferrals,
        ]
        if let s = f.labelSeq { out["seq"] = s }
        if let at = f.flaggedAt {
            out["flagged_at"] = at
            out["created_at"] = at.prefix(19).replacingOccurrences(of: "T", with: " ")
        }
        var ctx: [String: Any] = [:]
        if let c = f.context {
            ctx["track_id"] = c.trackId.map { $0 as Any } ?? NSNull()
            ctx["track_title"] = c.trackTitle ?? NSNull()
            ctx["artist_handle"] = c.artistHandle ?? NSNull()
            ctx["artist_did"] = c.artistDid ?? NSNull()
            ctx["highest_score"] = c.highestScore.map { Double($0) / 100 as Any } ?? NSNull()
            ctx["matches"] = c.matches.map { ms in ms.map { ["title": $0.title, "artist": $0.artist, "score": Double($0.score) / 100] } as Any } ?? NSNull()
        }
        if let r = f.resolution {
            if let reason = r.reason { ctx["resolution_reason"] = reason.rawValue }
            if let notes = r.notes { ctx["resolution_notes"] = notes }
            out["resolution"] = [
                "reason": r.reason?.rawValue ?? NSNull(), "notes": r.notes ?? NSNull(), "by": r.actor, "at": r.at, "seq": r.seq,
            ] as [String: Any]
        }
        if !ctx.isEmpty { out["context"] = ctx }
        if let c = f.confirmation {
            out["confirmation"] = ["batch_id": c.batchId, "by": c.actor, "at": c.at, "seq": c.seq] as [String: Any]
        }
        return out
    }
}
