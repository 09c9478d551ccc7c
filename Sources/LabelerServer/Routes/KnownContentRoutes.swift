import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// The known-content index over the admin API:
/// - `POST /admin/known-content` `{uri}` (the subject's last scanned audio) or `{audio_url, uri?}`
///   (downloaded and fingerprinted now), `work?`: adds a reference (`known-content.added`), then
///   re-checks the stored catalogue locally; answers `{ref_id, seq, items, already, retro_scan}`.
/// - `POST /admin/known-content/remove` `{ref_id, reason?}`: takes a reference out of force.
/// - `POST /admin/known-content/matches/{seq}/review` `{decision: flag|dismiss, notes?, decided_by?}`:
///   an operator's judgement of a borderline match (`flag` labels the subject); answers
///   `{seq, match_seq, decision, labelled}`.
/// - `GET /admin/known-content?limit=`: references (without prints) and the latest recorded
///   matches (`review` ones wait for an operator and never labelled anything).
struct KnownContentRoutes {
    let service: LabelerService
    let settings: ScanSettings
    let maxBody: Int

    var known: KnownContentService { KnownContentService(service: service, thresholds: settings.known) }

    struct AddBody: StrictBody {
        static let fields: Set<String> = ["uri", "audio_url", "work"]
        var uri: String?
        var audio_url: String?
        var work: String?
    }

    struct RemoveBody: StrictBody {
        static let fields: Set<String> = ["ref_id", "reason"]
        var ref_id: String
        var reason: String?
    }

    func add(_ request: Request) async throws -> Response {
        let body = try await decodeBody(AddBody.self, request, limit: maxBody)
        if let u = body.uri { try requireSubject(u) }
        try requireText(body.work, field: "work", max: 1024)
        let ref: KnownContentAdded
        switch (body.uri, body.audio_url) {
        case (_, let url?):
            try ScanRequest.validateAudioURL(url)
            ref = try await fromAudio(url, uri: body.uri, work: body.work)
        case (let uri?, nil):
            guard let r = try known.reference(uri: uri, reason: "admin", work: body.work) else {
                throw XRPCError(.notFound, "NotFound", "no stored fingerprint for \(uri): scan it first, or give audio_url")
            }
            ref = r
        case (nil, nil):
            throw XRPCError.invalidRequest("give uri (a scanned subject) or audio_url")
        }
        let store = service.store
        var out: [String: Any]
        if let existing = try store.read({ try store.known.reference(ref.refId, $0) }), !existing.removed {
            // Already there: the retro-scan runs again (labels go only on unflagged subjects), so
            // a retry repairs a reference whose first retro-scan failed.
            out = ["ref_id": ref.refId, "seq": existing.addedSeq, "items": existing.items, "already": true]
        } else {
            let seq = try await service.log.append(ref.event(actor: .admin()))
            out = ["ref_id": ref.refId, "seq": seq, "items": ref.fingerprint.count / 4, "already": false]
        }
        // The reference is committed: a failed retro-scan is logged and reported, not a 500.
        do {
            let retro = try await known.retroScan(ref)
            out["retro_scan"] = [
                "checked": retro.checked, "labelled": retro.labelled,
                "matches": retro.matched.map { f -> [String: Any] in
                    var d = ScanRoutes.knownJSON(f.match)
                    d["content_hash"] = f.contentHash
                    if let u = f.uri { d["uri"] = u }
                    return d
                },
            ]
        } catch {
            service.logger.error("known-content retro-scan failed", metadata: ["ref": "\(ref.refId)", "error": "\(error)"])
            out["retro_scan"] = ["error": "the retro-scan failed: \(error); add the reference again to retry"]
        }
        return try jsonResponse(out)
    }

    /// Downloads and fingerprints audio for a reference (and stores the fingerprint).
    func fromAudio(_ url: String, uri: String?, work: String?) async throws -> KnownContentAdded {
        let downloader = AudioDownloader(
            maxBytes: settings.downloadMaxBytes, timeout: .seconds(settings.downloadTimeoutSeconds), directory: settings.downloadDirectory,
            allowPrivate: settings.downloadAllowPrivate)
        let audio: DownloadedAudio
        do { audio = try await downloader.download(url) } catch { throw XRPCError(.badGateway, "UpstreamFailure", error.message) }
        defer { audio.remove() }
        let items: [UInt32]
        do { items = try await MediaTools.fingerprint(audio.path) } catch {
            throw XRPCError(.badGateway, "FingerprintFailed", error.description)
        }
        guard items.count >= Chromaprint.items(forSeconds: settings.known.excerptSeconds) else {
            throw XRPCError.invalidRequest("the audio is too short to fingerprint (\(items.count) items)")
        }
        try service.fingerprints.put(contentHash: audio.blobCID, items: items, uri: uri)
        return KnownContentAdded(
            refId: KnownContentService.refId(contentHash: audio.blobCID), reason: "admin", uri: uri, contentHash: audio.blobCID,
            fingerprint: Chromaprint.bytes(items), work: work)
    }

    struct ReviewBody: StrictBody {
        static let fields: Set<String> = ["decision", "notes", "decided_by"]
        var decision: String
        var notes: String?
        var decided_by: String?
    }

    func review(_ seqText: String, _ request: Request) async throws -> Response {
        guard let seq = UInt64(seqText), seq > 0 else { throw XRPCError.invalidRequest("the match seq must be a positive integer (got \(seqText.prefix(40)))") }
        let body = try await decodeBody(ReviewBody.self, request, limit: maxBody)
        guard let decision = KnownMatchDecision(rawValue: body.decision) else {
            throw XRPCError.invalidRequest("decision must be one of \(KnownMatchDecision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try requireText(body.notes, field: "notes", max: 10_000)
        try requireName(body.decided_by, field: "decided_by")
        let r = try await known.reviewMatch(seq: seq, decision: decision, notes: body.notes, actor: .admin(body.decided_by))
        return try jsonResponse(["seq": r.seq, "match_seq": seq, "decision": decision.rawValue, "labelled": r.labelled])
    }

    func remove(_ request: Request) async throws -> Response {
        let body = try await decodeBody(RemoveBody.self, request, limit: maxBody)
        try requireText(body.reason, field: "reason", max: 1024)
        let store = service.store
        guard let ref = try store.read({ try store.known.reference(body.ref_id, $0) }) else {
            throw XRPCError(.notFound, "NotFound", "no known-content reference \(body.ref_id)")
        }
        if ref.removed { return try jsonResponse(["ref_id": ref.refId, "already": true]) }
        let seq = try await service.log.append(KnownContentRemoved(refId: ref.refId, reason: body.reason).event(actor: .admin()))
        return try jsonResponse(["ref_id": ref.refId, "seq": seq, "already": false])
    }

    func list(_ request: Request) throws -> Response {
        let limit = try request.queryInt("limit", in: 1...1000) ?? 100
        let store = service.store
        let (refs, matches, reviews) = try store.read { txn in
            let matches = try store.known.recordedMatches(limit: limit, txn)
            var reviews: [UInt64: KnownMatchReviewRecord] = [:]
            for m in matches { reviews[m.seq] = try store.known.review(ofMatch: m.seq, txn) }
            return (try store.known.references(txn), matches, reviews)
        }
        return try jsonResponse([
            "references": refs.map { r -> [String: Any] in
                var d: [String: Any] = [
                    "ref_id": r.refId, "reason": r.reason, "items": r.items, "seconds": Chromaprint.milliseconds(items: r.items) / 1000,
                    "added_seq": r.addedSeq, "added_at": r.addedAt, "removed": r.removed,
                ]
                if let v = r.uri { d["uri"] = v }
                if let v = r.contentHash { d["content_hash"] = v }
                if let v = r.work { d["work"] = v }
                if let v = r.removedReason { d["removed_reason"] = v }
                return d
            },
            "matches": matches.map { m -> [String: Any] in
                var d = ScanRoutes.knownJSON(m.match)
                d["seq"] = m.seq
                d["at"] = m.at
                d["source"] = m.source
                if let v = m.uri { d["uri"] = v }
                if let v = m.contentHash { d["content_hash"] = v }
                if let r = reviews[m.seq] {
                    d["review"] = ["decision": r.decision.rawValue, "by": r.actor, "at": r.at, "seq": r.seq, "notes": r.notes ?? NSNull()] as [String: Any]
                }
                return d
            },
        ])
    }
}
