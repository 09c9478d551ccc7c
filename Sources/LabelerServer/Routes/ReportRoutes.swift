import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections
import Synchronization

/// `com.atproto.moderation.createReport` (public, rate-limited per client), the report queue.
struct ReportRoutes {
    let service: LabelerService
    let maxBody: Int
    let limiter: RateLimiter

    /// The lexicon's input: a reason type, optional text, and a repo ref or strong ref subject.
    struct CreateBody: Decodable {
        struct Subject: Decodable {
            var type: String?
            var did: String?
            var uri: String?
            var cid: String?
            enum CodingKeys: String, CodingKey {
                case type = "$type"
                case did, uri, cid
            }
        }
        var reasonType: String
        var reason: String?
        var subject: Subject
    }

    static let reasonTypes: Set<String> = [
        "com.atproto.moderation.defs#reasonSpam", "com.atproto.moderation.defs#reasonViolation",
        "com.atproto.moderation.defs#reasonMisleading", "com.atproto.moderation.defs#reasonSexual",
        "com.atproto.moderation.defs#reasonRude", "com.atproto.moderation.defs#reasonOther",
        "com.atproto.moderation.defs#reasonAppeal",
    ]

    func create(_ request: Request, client: String) async throws -> Response {
        guard limiter.allow(client) else {
            throw XRPCError(.tooManyRequests, "RateLimitExceeded", "too many reports from this client; try again in a minute")
        }
        let b = try await decodeBody(CreateBody.self, request, limit: 64 * 1024)
        guard Self.reasonTypes.contains(b.reasonType) || b.reasonType.hasPrefix("tools.ozone.report.defs#reason") else {
            throw XRPCError.invalidRequest("reasonType must be a com.atproto.moderation.defs#reason… value")
        }
        try requireText(b.reason, field: "reason", max: 20_000)
        let subject: String
        let cid: String?
        switch (b.subject.did, b.subject.uri) {
        case (let did?, nil):
            guard Syntax.isValidDID(did) else { throw XRPCError.invalidRequest("subject.did: not a valid DID") }
            subject = did
            cid = nil
        case (nil, let uri?):
            guard Syntax.isValidATURI(uri) else { throw XRPCError.invalidRequest("subject.uri: not a valid AT-URI") }
            guard let c = b.subject.cid, Syntax.isValidCID(c) else {
                throw XRPCError.invalidRequest("subject.cid: a strong ref needs a valid CID")
            }
            subject = uri
            cid = c
        default:
            throw XRPCError.invalidRequest("subject must be a repo ref {did} or a strong ref {uri, cid}")
        }
        let reporter = Self.unverifiedIssuer(request)
        let seq = try await service.log.append(
            ReportCreated(reasonType: b.reasonType, reason: b.reason, subject: subject, subjectCid: cid, reportedBy: reporter, client: client)
                .event(actor: Actor("reporter:\(reporter ?? client)")))
        var subjectOut: [String: Any] =
            cid == nil ? ["$type": "com.atproto.admin.defs#repoRef", "did": subject]
            : ["$type": "com.atproto.repo.strongRef", "uri": subject, "cid": cid!]
        if let t = b.subject.type { subjectOut["$type"] = t }
        return try jsonResponse([
            "id": seq, "reasonType": b.reasonType, "reason": b.reason ?? NSNull(), "subject": subjectOut,
            "reportedBy": reporter ?? service.did, "createdAt": Datetime.now(),
        ])
    }

    /// The `iss` of a bearer JWT, if it is a DID. NOT verified (no DID resolution here): kept as
    /// what the reporter claims, never used for authorisation.
    static func unverifiedIssuer(_ request: Request) -> String? {
        guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer ") else { return nil }
        let parts = auth.dropFirst(7).split(separator: ".")
        guard parts.count == 3, let payload = Base64.decode(String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")),
            let obj = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any], let iss = obj["iss"] as? String,
            Syntax.isValidDID(iss)
        else { return nil }
        return iss
    }

    func list(_ request: Request) throws -> Response {
        let q = request.uri.queryParameters
        let statusParam = q["status"].map(String.init) ?? "open"
        let status: ReportResolved.Status?
        if statusParam == "all" {
            status = nil
        } else {
            guard let s = ReportResolved.Status(rawValue: statusParam) else {
                throw XRPCError.invalidRequest("status must be open, investigating, resolved, dismissed or all")
            }
            status = s
        }
        let limit = try request.queryInt("limit", in: 1...100) ?? 50
        let offset = try request.queryInt("offset", in: 0...Int.max) ?? 0
        let store = service.store
        let reports = try store.read { try store.reports.list(status: status, limit: limit, offset: offset, $0) }
        return try jsonResponse(["reports": reports.map(Self.json), "count": reports.count])
    }

    static func json(_ r: ReportRecord) -> [String: Any] {
        [
            "id": r.id, "reason_type": r.reasonType, "reason": r.reason ?? NSNull(), "subject": r.subject,
            "subject_cid": r.subjectCid ?? NSNull(), "reported_by": r.reportedBy ?? NSNull(), "created_at": r.createdAt,
            "status": r.status.rawValue, "admin_notes": r.notes ?? NSNull(), "resolved_by": r.resolvedBy ?? NSNull(),
            "updated_at": r.updatedAt ?? NSNull(),
        ]
    }

    struct ResolveBody: StrictBody {
        static let fields: Set<String> = ["status", "admin_notes", "resolved_by"]
        var status: String
        var admin_notes: String?
        var resolved_by: String?
    }

    func resolve(_ idText: String, _ request: Request) async throws -> Response {
        guard let id = UInt64(idText) else { throw XRPCError.invalidRequest("report id must be an integer") }
        let b = try await decodeBody(ResolveBody.self, request, limit: maxBody)
        guard let status = ReportResolved.Status(rawValue: b.status) else {
            throw XRPCError.invalidRequest("status must be open, investigating, resolved or dismissed")
        }
        try requireText(b.admin_notes, field: "admin_notes", max: 10_000)
        try requireName(b.resolved_by, field: "resolved_by")
        let reports = service.store.reports
        try await service.log.append(deciding: { txn in
            guard try reports.report(id, txn) != nil else { throw XRPCError.notFound("report not found") }
            return [ReportResolved(reportId: id, status: status, notes: b.admin_notes, resolvedBy: b.resolved_by).event(actor: .admin(b.resolved_by))]
        })
        let store = service.store
        let r = try store.read { try store.reports.report(id, $0) }!
        return try jsonResponse(Self.json(r))
    }
}

/// At most `perMinute` allowed calls per client key in any 60 seconds (a sliding log of the
/// allowed calls' times: a fixed per-minute window let twice the limit through across a minute's
/// edge, and made the limit depend on when in the minute a burst began).
final class RateLimiter: Sendable {
    private struct State {
        var log: [String: [Double]] = [:]
        var lastPrune = -Double.infinity
    }
    private let state = Mutex(State())
    let perMinute: Int
    static let window = 60.0
    /// Idle clients are forgotten once this many are tracked, at most once a window (so a flood of
    /// distinct clients costs one pass a minute, not one per call).
    static let pruneAbove = 10_000

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Clients currently remembered (for tests).
    var trackedClients: Int { state.withLock { $0.log.count } }

    func allow(_ key: String, now: Double = Date().timeIntervalSince1970) -> Bool {
        state.withLock { s in
            if s.log.count > Self.pruneAbove, now - s.lastPrune >= Self.window {
                s.log = s.log.filter { ($0.value.last ?? 0) > now - Self.window }
                s.lastPrune = now
            }
            var times = s.log[key, default: []]
            times.removeAll { $0 <= now - Self.window }
            guard times.count < perMinute else {
                s.log[key] = times
                return false
            }
            times.append(now)
            s.log[key] = times
            return true
        }
    }
}
