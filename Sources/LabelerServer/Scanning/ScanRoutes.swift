import EventLog
import Foundation
import Hummingbird
import LabelerCore

/// `POST /scan` (admin): plan, pay for and record a copyright scan (see `ScanPipeline`); answer
/// with the original service's fields plus the plan, the provider calls and what they cost.
///
/// - A failed scan (download or provider) is recorded (`scan.recorded`, status `failed`) and
///   answered 502 `UpstreamFailure`, never as clean.
/// - Without `AUDD_API_KEY`: 503 `ScannerNotConfigured`. Invalid input: 400, nothing scanned or written.
struct ScanRoutes {
    let pipeline: ScanPipeline?
    let config: ServerConfig

    static let labelValue = ScanPipeline.labelValue

    init(service: LabelerService, config: ServerConfig, scanner: (any Scanner)? = nil) {
        self.config = config
        let scanner =
            scanner
            ?? config.auddAPIKey.map {
                AuddScanner(apiKey: $0, endpoint: config.auddAPIURL, timeout: .seconds(max(1, config.scanTimeoutSeconds)))
            }
        let policy = FlagPolicy(name: config.flagPolicy, threshold: config.flagThreshold)
        pipeline = scanner.flatMap { s in policy.map { ScanPipeline(service: service, settings: config.scan, scanner: s, policy: $0) } }
    }

    func register(_ admin: RouterGroup<LabelerRequestContext>) {
        admin.post("/scan") { request, _ in try await scan(request) }
    }

    func scan(_ request: Request) async throws -> Response {
        guard config.auddAPIKey != nil || pipeline != nil else {
            throw XRPCError(.serviceUnavailable, "ScannerNotConfigured", "no scanner is configured (set AUDD_API_KEY)")
        }
        guard let pipeline else {
            throw XRPCError(
                .serviceUnavailable, "ScannerNotConfigured",
                "unknown flag policy \(config.flagPolicy) or threshold \(config.flagThreshold) (FLAG_POLICY dominant|presence, FLAG_THRESHOLD in (0, 1])")
        }
        let body = try await decodeBody(ScanRequest.self, request, limit: config.maxBodyBytes)
        try body.validate()
        let result = try await pipeline.run(body)
        if let failure = result.failure { throw XRPCError(.badGateway, "UpstreamFailure", failure.message) }
        return try Self.response(result)
    }

    /// The original's response (`matches`, `is_flagged`, `dominant_match_pct`, `dominant_match`,
    /// `sustained_song_count`, `highest_score`, `raw_response`) plus what the log now holds: the
    /// plan, each provider call with its parameters, requests billed and a full scan's cost.
    static func response(_ r: ScanPipeline.Result) throws -> Response {
        let scan = r.scan
        var out: [String: Any] = [
            "scan_id": scan.scanId,
            "seq": r.seqs[0],
            "status": scan.status.rawValue,
            "matches": scan.matches.map(matchJSON),
            "is_flagged": scan.isFlagged,
            "highest_score": scan.highestScore,
            "dominant_match_pct": r.decision.dominantPercent,
            "sustained_song_count": r.decision.sustainedSongs,
            "policy": scan.policy ?? "",
            "flag_reason": scan.flagReason ?? "",
            "estimated_requests": scan.estimatedRequests,
            "billed_requests": scan.estimatedRequests,
            "provider": scan.provider,
            "calls": (scan.calls ?? []).map(callJSON),
        ]
        if let p = scan.plan { out["plan"] = planJSON(p) }
        if let f = scan.fullScanRequests { out["full_scan_requests"] = f }
        if let c = scan.scannedChunks { out["scanned_chunks"] = c }
        if let h = scan.contentHash { out["content_hash"] = h }
        if let s = scan.cachedFromSeq { out["cached_from_seq"] = s }
        if let k = scan.knownMatches, !k.isEmpty { out["known_matches"] = k.map(knownJSON) }
        if let m = r.decision.dominantMatch { out["dominant_match"] = m }
        if let l = r.labelSeq { out["label_seq"] = l }
        if let c = r.contextSeq { out["context_seq"] = c }
        // The provider's body goes out verbatim (it parsed as JSON), after the other fields: one
        // body for one call, an array of them for an escalated scan, null without a call.
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes]))
        guard bytes.last == UInt8(ascii: "}") else { return jsonResponse(bytes) }
        bytes.removeLast()
        bytes.append(contentsOf: ",\"raw_response\":".utf8)
        switch r.raw.count {
        case 0: bytes.append(contentsOf: "null".utf8)
        case 1: bytes.append(contentsOf: r.raw[0].isEmpty ? Array("null".utf8) : r.raw[0])
        default:
            bytes.append(UInt8(ascii: "["))
            for (i, raw) in r.raw.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: raw.isEmpty ? Array("null".utf8) : raw)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "}"))
        return jsonResponse(bytes)
    }

    static func matchJSON(_ m: ScanMatch) -> [String: Any] {
        var d: [String: Any] = ["artist": m.artist, "title": m.title, "score": m.score]
        if let v = m.album { d["album"] = v }
        if let v = m.isrc { d["isrc"] = v }
        if let v = m.timecode { d["timecode"] = v }
        if let v = m.offsetMs { d["offset_ms"] = v }
        if let v = m.songLink { d["song_link"] = v }
        return d
    }

    static func paramsJSON(_ p: AuddParams) -> [String: Any] {
        var d: [String: Any] = ["skip": p.skip, "every": p.every, "skip_first_seconds": p.skipFirstSeconds]
        if let l = p.limit { d["limit"] = l }
        return d
    }

    static func callJSON(_ c: AuddCall) -> [String: Any] {
        var d: [String: Any] = [
            "pass": c.pass, "params": paramsJSON(c.params), "billed_requests": c.billedRequests, "matched_chunks": c.matchedChunks,
        ]
        if let e = c.error { d["error"] = e }
        return d
    }

    static func planJSON(_ p: ScanPlanRecord) -> [String: Any] {
        var d: [String: Any] = ["mode": p.mode, "kind": p.kind, "reason": p.reason, "max_escalations": p.maxEscalations]
        if let v = p.durationSeconds { d["duration_s"] = v }
        if let v = p.durationSource { d["duration_source"] = v }
        if let v = p.tier { d["tier"] = v }
        if let v = p.params { d["params"] = paramsJSON(v) }
        return d
    }

    static func knownJSON(_ k: KnownMatch) -> [String: Any] {
        [
            "ref_id": k.refId, "upload_offset_ms": k.uploadOffsetMs, "reference_offset_ms": k.referenceOffsetMs,
            "matched_ms": k.matchedMs, "ber": Double(k.berBasisPoints) / 10_000, "verdict": k.verdict,
        ]
    }
}
