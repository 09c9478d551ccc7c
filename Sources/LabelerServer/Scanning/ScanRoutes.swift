import EventLog
import Foundation
import Synchronization
import Hummingbird
import LabelerCore
import Logging

/// `POST /scan` (admin): fingerprint an audio URL, record the scan, and label the track when the
/// flag policy says so.
///
/// - Every scan that reached the provider is recorded (`scan.recorded`, actor `scanner`): `ok`
///   with its matches and the policy's decision, or `failed` with the reason — answered 502
///   `UpstreamFailure`, never as clean. A failed scan is retried by scanning again.
/// - A flagged scan with a `uri` appends, in one batch: the scan, the signed `copyright-violation`
///   label, then the track context — so the log shows the scan that caused the label.
/// - Without `AUDD_API_KEY`: 503 `ScannerNotConfigured`. Invalid input: 400, nothing scanned or written.
struct ScanRoutes {
    let service: LabelerService
    let config: ServerConfig
    let scanner: (any Scanner)?
    let policy: FlagPolicy?

    static let labelValue = "copyright-violation"

    /// The scanner defaults to AuDD when a key is configured; tests may pass their own.
    init(service: LabelerService, config: ServerConfig, scanner: (any Scanner)? = nil) {
        self.service = service
        self.config = config
        self.scanner =
            scanner
            ?? config.auddAPIKey.map {
                AuddScanner(apiKey: $0, endpoint: config.auddAPIURL, timeout: .seconds(max(1, config.scanTimeoutSeconds)))
            }
        policy = FlagPolicy(name: config.flagPolicy, threshold: config.flagThreshold)
    }

    func register(_ admin: RouterGroup<LabelerRequestContext>) {
        admin.post("/scan") { request, _ in try await scan(request) }
    }

    func scan(_ request: Request) async throws -> Response {
        guard let scanner else {
            throw XRPCError(.serviceUnavailable, "ScannerNotConfigured", "no scanner is configured (set AUDD_API_KEY)")
        }
        guard let policy else {
            throw XRPCError(
                .serviceUnavailable, "ScannerNotConfigured",
                "unknown flag policy \(config.flagPolicy) or threshold \(config.flagThreshold) (FLAG_POLICY dominant|presence, FLAG_THRESHOLD in (0, 1])")
        }
        let body = try await decodeBody(ScanRequest.self, request, limit: config.maxBodyBytes)
        try body.validate()
        if let uri = body.uri {
            // The label must be valid before we pay for a scan (the same check runs again at signing).
            _ = try service.makeLabel(LabelRequest(uri: uri, val: Self.labelValue, cid: body.cid))
        }

        let scanId = UUID().uuidString.lowercased()
        var metadata: Logger.Metadata = ["scan.id": "\(scanId)", "scan.audio_url": "\(body.audio_url)"]
        if let uri = body.uri { metadata["scan.uri"] = "\(uri)" }

        let outcome: ScanOutcome
        do {
            outcome = try await scanner.scan(audioURL: body.audio_url)
        } catch {
            let failure: ScanFailure =
                switch error {
                case let f as ScanFailure: f
                case is CancellationError: ScanFailure(.unreachable, "the scan was cancelled before \(scanner.provider) answered")
                default: ScanFailure(.unreachable, "\(scanner.provider) scan failed: \(error)")
                }
            let event = ScanRecorded(
                scanId: scanId, uri: body.uri, cid: body.cid, audioURL: body.audio_url, provider: scanner.provider,
                status: .failed, error: failure.message, estimatedRequests: 0)
            let seq = try await service.log.append(event.event(actor: .scanner))
            metadata["scan.seq"] = "\(seq)"
            metadata["scan.failure"] = "\(failure.kind.rawValue)"
            service.logger.warning("scan failed: \(failure.message)", metadata: metadata)
            throw XRPCError(.badGateway, "UpstreamFailure", failure.message)
        }

        let decision = policy.decide(outcome.matches)
        let proposed = ScanRecorded(
            scanId: scanId, uri: body.uri, cid: body.cid, audioURL: body.audio_url, provider: scanner.provider, status: .ok,
            matches: outcome.matches, isFlagged: decision.isFlagged, highestScore: outcome.matches.map(\.score).max() ?? 0,
            policy: policy.description, flagReason: decision.reason,
            estimatedRequests: ScanCost.estimate(durationSeconds: body.duration_s, matches: outcome.matches))

        // A subject that already has a flag (open, confirmed or cleared by an operator) is not
        // labelled again: the scan is recorded with why, decided inside the write so two scans of
        // one track cannot both label it.
        // Signed here, off the writer, as `emit` does; appended after the scan that caused it.
        let label: Label? = try body.uri.flatMap { uri in
            decision.isFlagged
                ? try service.makeLabel(LabelRequest(uri: uri, val: Self.labelValue, cid: body.cid)).signed(with: service.key) : nil
        }
        let flags = service.store.flags
        let scan = proposed
        let recorded = Mutex(scan)
        let context = body.uri.map { body.contextEvent(uri: $0, matches: outcome.matches).event(actor: .scanner) }
        let seqs = try await service.log.append(deciding: { txn in
            guard let label else { return [scan.event(actor: .scanner)] }
            if let existing = try flags.record(uri: label.uri, txn), existing.isFlag {
                var s = scan
                s.flagReason = (s.flagReason.map { $0 + "; " } ?? "")
                    + "not labelled again: the flag is already \(existing.state.rawValue)"
                    + (existing.resolution?.reason.map { " (\($0.rawValue))" } ?? "")
                recorded.withLock { $0 = s }
                return [s.event(actor: .scanner)]
            }
            return [scan.event(actor: .scanner), LabelApplied(label: label).event(actor: .scanner), context!]
        })
        let final = recorded.withLock { $0 }
        metadata["scan.seq"] = "\(seqs[0])"
        if decision.isFlagged {
            metadata["scan.reason"] = "\(decision.reason)"
            if seqs.count > 1 { metadata["label.seq"] = "\(seqs[1])" }
            service.logger.notice("scan flagged", metadata: metadata)
        }
        return try Self.response(
            scan: final, decision: decision, seqs: seqs, raw: outcome.rawResponse)
    }

    /// The original's response (`matches`, `is_flagged`, `dominant_match_pct`, `dominant_match`,
    /// `sustained_song_count`, `highest_score`, `raw_response`) plus what the log now holds.
    static func response(scan: ScanRecorded, decision: FlagDecision, seqs: [UInt64], raw: [UInt8]) throws -> Response {
        var out: [String: Any] = [
            "scan_id": scan.scanId,
            "seq": seqs[0],
            "status": scan.status.rawValue,
            "matches": scan.matches.map(matchJSON),
            "is_flagged": scan.isFlagged,
            "highest_score": scan.highestScore,
            "dominant_match_pct": decision.dominantPercent,
            "sustained_song_count": decision.sustainedSongs,
            "policy": scan.policy ?? "",
            "flag_reason": scan.flagReason ?? "",
            "estimated_requests": scan.estimatedRequests,
        ]
        if let m = decision.dominantMatch { out["dominant_match"] = m }
        if seqs.count > 1 {
            out["label_seq"] = seqs[1]
            out["context_seq"] = seqs[2]
        }
        // The provider's body goes out verbatim (it parsed as JSON), after the other fields.
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes]))
        guard bytes.last == UInt8(ascii: "}") else { return jsonResponse(bytes) }
        bytes.removeLast()
        bytes.append(contentsOf: ",\"raw_response\":".utf8)
        bytes.append(contentsOf: raw.isEmpty ? Array("null".utf8) : raw)
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
}
