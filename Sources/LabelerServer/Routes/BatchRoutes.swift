import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// `/admin/batches`, `/admin/review/:id/data`, `/admin/review/:id/submit`.
struct BatchRoutes {
    let service: LabelerService
    let commands: ModerationCommands
    let maxBody: Int
    static let maxURIs = 1000

    struct CreateBody: StrictBody {
        static let fields: Set<String> = ["uris", "created_by", "skip_batched"]
        var uris: [String]?
        var created_by: String?
        /// Leave out flags already waiting, undecided, in another pending batch (two runs of the
        /// moderation loop at once then batch each flag once).
        var skip_batched: Bool?
    }

    func create(_ request: Request) async throws -> Response {
        let body = try await decodeBody(CreateBody.self, request, limit: maxBody)
        let uris = body.uris ?? []
        guard uris.count <= Self.maxURIs else { throw XRPCError.invalidRequest("uris: at most \(Self.maxURIs)") }
        for (i, u) in uris.enumerated() { try requireSubject(u, field: "uris[\(i)]") }
        try requireName(body.created_by, field: "created_by")
        let skip = body.skip_batched ?? false
        let r = try await commands.createBatch(uris: uris, createdBy: body.created_by, actor: .admin(body.created_by), skipBatched: skip)
        var out: [String: Any] = ["id": r.id, "url": "/admin/review/\(r.id)", "flag_count": r.count]
        if skip { out["skipped"] = r.skipped }
        return try jsonResponse(out)
    }

    func data(_ id: String) throws -> Response {
        let store = service.store
        let (batch, flags): (BatchRecord?, [FlagRecord?]) = try store.read { txn in
            guard let b = try store.batches.batch(id, txn) else { return (nil, []) }
            return (b, try b.uris.map { try store.flags.record(uri: $0, txn) })
        }
        guard let batch else { throw XRPCError.notFound("no review batch \(id)") }
        let items: [[String: Any]] = zip(batch.uris, flags).map { uri, flag in
            var j = flag.map(FlagRoutes.json) ?? ["uri": uri]
            if let d = batch.decisions[uri] { j["decision"] = d.decision.rawValue }
            return j
        }
        return try jsonResponse([
            "batch_id": batch.id, "status": batch.status.rawValue, "created_at": batch.createdAt,
            "created_by": batch.createdBy ?? NSNull(), "completed_at": batch.completedAt ?? NSNull(), "flags": items,
            "announced_at": batch.announcedAt ?? NSNull(), "announced_to": batch.announcedTo ?? [],
        ])
    }

    struct AnnouncedBody: StrictBody {
        static let fields: Set<String> = ["destinations"]
        var destinations: [String]
    }

    /// `POST /admin/review/:id/announced`: the batch's link reached its reviewers (the loop calls
    /// it once a notice was delivered; a batch it made without one is announced again later).
    func announced(_ id: String, _ request: Request) async throws -> Response {
        let body = try await decodeBody(AnnouncedBody.self, request, limit: maxBody)
        guard (1...10).contains(body.destinations.count) else { throw XRPCError.invalidRequest("destinations: 1 to 10 of them") }
        for (i, d) in body.destinations.enumerated() { try requireName(d, field: "destinations[\(i)]") }
        let batches = service.store.batches
        let seq = try await service.log.append(deciding: { txn in
            guard try batches.batch(id, txn) != nil else { throw ModerationCommands.CommandError.notFound("no review batch \(id)") }
            return [ReviewBatchAnnounced(batchId: id, destinations: body.destinations).event(actor: .admin())]
        })
        return try jsonResponse(["seq": seq[0], "batch_id": id])
    }

    struct SubmitBody: StrictBody {
        static let fields: Set<String> = ["decisions", "decided_by"]
        struct Item: Decodable {
            var uri: String
            var decision: String
        }
        var decisions: [Item]
        /// Who decided (recorded as the events' actor `admin:NAME`).
        var decided_by: String?
    }

    func submit(_ id: String, _ request: Request) async throws -> Response {
        let body = try await decodeBody(SubmitBody.self, request, limit: maxBody)
        guard !body.decisions.isEmpty else { throw XRPCError.invalidRequest("decisions must not be empty") }
        guard body.decisions.count <= Self.maxURIs else { throw XRPCError.invalidRequest("decisions: at most \(Self.maxURIs)") }
        let decisions = try body.decisions.enumerated().map { i, d in
            guard let decision = ReviewDecision(rawValue: d.decision) else {
                throw XRPCError.invalidRequest("decisions[\(i)].decision must be clear, confirm or defer")
            }
            try requireSubject(d.uri, field: "decisions[\(i)].uri")
            return ModerationCommands.Decision(uri: d.uri, decision: decision)
        }
        try requireName(body.decided_by, field: "decided_by")
        let r = try await commands.submit(batchId: id, decisions: decisions, actor: .admin(body.decided_by))
        // A confirmation adds a known-content reference only when the subject's audio was
        // fingerprinted: the subjects for which it could not are named, not silently skipped.
        var out: [String: Any] = [
            "resolved_count": r.resolved, "status": r.completed ? "completed" : "pending",
            "message": "processed \(decisions.count) decisions, resolved \(r.resolved) flags",
            "references_added": r.referencesAdded, "no_fingerprint": r.noFingerprint,
        ]
        if !r.retroScanErrors.isEmpty { out["retro_scan_errors"] = r.retroScanErrors }
        return try jsonResponse(out)
    }
}
