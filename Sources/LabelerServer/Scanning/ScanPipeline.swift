import EventLog
import Foundation
import LabelerCore
import Logging
import Projections
import Synchronization

/// One copyright scan, from request to log:
/// 1. learn what is free to know: the verdict cache (by the caller's blob CID before downloading);
///    then download the audio (streamed to a temporary file, size- and time-limited, removed
///    afterwards) to hash it (blob CID) and probe its duration; the verdict cache again, local
///    known-content matches and the uploader's history;
/// 2. plan with the pure `ScanPlanner`;
/// 3. pay for the plan's provider passes (`ScanExecutor`), escalating only when inconclusive;
/// 4. append the scan event with the plan, the calls, the requests billed and a full scan's cost,
///    and when it flags a subject the signed label and its context, in one batch.
struct ScanPipeline: Sendable {
    let service: LabelerService
    let settings: ScanSettings
    let scanner: any Scanner
    let policy: FlagPolicy
    let planner: ScanPlanner
    let downloader: AudioDownloader

    static let labelValue = "copyright-violation"

    init(service: LabelerService, settings: ScanSettings, scanner: any Scanner, policy: FlagPolicy) {
        self.service = service
        self.settings = settings
        self.scanner = scanner
        self.policy = policy
        planner = ScanPlanner(config: settings.plan)
        downloader = AudioDownloader(maxBytes: settings.downloadMaxBytes, timeout: .seconds(settings.downloadTimeoutSeconds),
            directory: settings.downloadDirectory, allowPrivate: settings.downloadAllowPrivate)
    }

    struct Result: Sendable {
        var scan: ScanRecorded
        var decision: FlagDecision
        var seqs: [UInt64]
        var labelSeq: UInt64?
        var contextSeq: UInt64?
        var raw: [[UInt8]]
        /// Set when the scan failed (recorded as such).
        var failure: ScanFailure?
    }

    func run(_ body: ScanRequest) async throws -> Result {
        if let uri = body.uri {
            // The label must be valid before we pay for a scan (the same check runs again at signing).
            _ = try service.makeLabel(LabelRequest(uri: uri, val: Self.labelValue, cid: body.cid))
        }
        let scanId = UUID().uuidString.lowercased()
        var metadata: Logger.Metadata = ["scan.id": "\(scanId)", "scan.audio_url": "\(body.audio_url)"]
        if let uri = body.uri { metadata["scan.uri"] = "\(uri)" }
        let now = Int64(Date().timeIntervalSince1970)
        var scan = ScanRecorded(scanId: scanId, uri: body.uri, cid: body.cid, audioURL: body.audio_url, provider: scanner.provider, status: .ok)

        // The caller's blob CID is looked up before anything is downloaded.
        if let cid = body.blob_cid, let cached = try cachedVerdict(cid, uploader: uploader(body)), !cached.needsKnownContentCheck {
            let plan = planner.plan(ScanFacts(durationSeconds: body.duration_s, cached: cached, now: now))
            if plan.kind == .cacheHit {
                scan.contentHash = cid
                return try await recordCacheHit(scan, plan: plan, body: body, metadata: metadata)
            }
        }

        let audio: DownloadedAudio
        do { audio = try await downloader.download(body.audio_url) } catch {
            metadata["scan.plan"] = "none"
            return try await recordFailure(scan, error, calls: [], metadata: metadata)
        }
        defer { audio.remove() }
        scan.contentHash = audio.blobCID
        scan.downloadedBytes = audio.bytes
        var notes: [String] = []
        if let claimed = body.blob_cid, claimed != audio.blobCID {
            notes.append("blob_cid \(claimed) does not match the downloaded bytes (\(audio.blobCID))")
        }
        var facts = ScanFacts(durationSeconds: body.duration_s, now: now)
        do {
            facts.durationSeconds = try await MediaTools.probeDuration(audio.path)
            facts.durationSource = "probe"
            if let claimed = body.duration_s, abs(claimed - facts.durationSeconds!) > 2 {
                notes.append("duration_s \(claimed) disagrees with the probed \(facts.durationSeconds!) s")
            }
        } catch {
            notes.append("probe failed: \(error.description)")
        }
        facts.cached = try cachedVerdict(audio.blobCID, uploader: uploader(body))
        facts.trust = try trust(of: body)
        do {
            if planner.plan(facts).kind != .cacheHit || facts.cached?.needsKnownContentCheck == true {
                // Not answered by the cache (none, a clean verdict that expired, or one older than
                // the latest reference): fingerprint the whole upload: stored for retro-scans and
                // references, and matched segment by segment against the known-content index.
                do {
                    let items = try await MediaTools.fingerprint(audio.path)
                    try service.fingerprints.put(contentHash: audio.blobCID, items: items, uri: body.uri)
                    let store = service.store
                    let known = settings.known
                    let found = try await KnownContentMatcher.match(path: audio.path, items: items) { q in
                        try store.read { try store.known.match(q, known, $0) }
                    }
                    facts.known = found.matches
                    if found.phaseSearched { notes.append("known-content phase search ran (BER 0.03–0.12)") }
                } catch let e as MediaTools.Failure {
                    notes.append("no local fingerprint: \(e.description)")
                }
            } else if let uri = body.uri, let items = try service.fingerprints.fingerprint(contentHash: audio.blobCID) {
                try service.fingerprints.put(contentHash: audio.blobCID, items: items, uri: uri)
            }
        } catch {
            // A storage error after the download: recorded as a failed scan, never lost.
            metadata["scan.plan"] = "none"
            _ = try await recordFailure(scan, ScanFailure(.unreachable, "storing or matching the fingerprint failed: \(error)"), calls: [], metadata: metadata)
            throw error
        }
        scan.knownMatches = facts.known.isEmpty ? nil : facts.known
        let reviews = facts.known.filter { $0.verdict == "review" }.map {
            KnownContentMatched(source: "scan", uri: body.uri, contentHash: audio.blobCID, match: $0).event(actor: .scanner)
        }

        var plan = planner.plan(facts)
        if !notes.isEmpty { plan.record.reason += "; " + notes.joined(separator: "; ") }
        metadata["scan.plan"] = "\(plan.kind.rawValue)"
        scan.plan = plan.record
        scan.fullScanRequests = plan.fullScanRequests
        if plan.kind == .cacheHit { return try await recordCacheHit(scan, plan: plan, body: body, metadata: metadata) }
        if plan.kind == .knownContent { return try await recordKnownContent(scan, plan: plan, body: body, extra: reviews, metadata: metadata) }

        let execution: ScanExecution
        do {
            execution = try await ScanExecutor.run(
                plan: plan, policy: policy, durationSeconds: facts.durationSeconds, minEvidenceChunks: settings.plan.minEvidenceChunks
            ) { params in try await scanner.scan(audioURL: body.audio_url, params: params) }
        } catch {
            return try await recordFailure(scan, error, calls: plan.passes.prefix(1).map {
                AuddCall(pass: 0, params: $0, billedRequests: 0, matchedChunks: 0, error: Self.failure(error, provider: scanner.provider).message)
            }, extra: reviews, metadata: metadata)
        }
        scan.calls = execution.calls
        scan.matches = execution.matches
        scan.isFlagged = execution.decision.isFlagged
        scan.highestScore = execution.matches.map(\.score).max() ?? 0
        scan.policy = policy.description
        scan.flagReason = ([execution.decision.reason] + execution.notes).joined(separator: "; ")
        scan.estimatedRequests = execution.billedRequests
        scan.scannedChunks = execution.scannedChunks
        return try await record(scan, body: body, decision: execution.decision, raw: execution.rawResponses, extra: reviews, metadata: metadata)
    }

    /// A strong local match of a confirmed reference: flagged with no provider call. The
    /// matches shown are the references matched ("Known content" – their work).
    func recordKnownContent(_ proposed: ScanRecorded, plan: ScanPlan, body: ScanRequest, extra: [NewEvent], metadata: Logger.Metadata) async throws -> Result {
        var scan = proposed
        scan.provider = "known-content"
        scan.estimatedRequests = 0
        scan.scannedChunks = 0
        scan.calls = []
        scan.policy = policy.description
        let store = service.store
        let strong = (scan.knownMatches ?? []).filter { $0.verdict == "flag" }
        scan.matches = try strong.map { m in
            let work = try store.read { try store.known.reference(m.refId, $0) }?.work
            return ScanMatch(
                artist: KnownContentService.evidenceArtist, title: KnownContentService.evidenceTitle(work: work, refId: m.refId),
                offsetMs: m.uploadOffsetMs, score: m.score)
        }
        scan.highestScore = scan.matches.map(\.score).max() ?? 0
        scan.isFlagged = true
        scan.flagReason = plan.record.reason
        var metadata = metadata
        metadata["scan.plan"] = "known-content"
        return try await record(scan, body: body, decision: policy.decide(scan.matches), raw: [], extra: extra, metadata: metadata)
    }

    /// The cached verdict for some bytes. When an operator cleared the flag it caused, the bytes
    /// are clean for everyone if the match was noise or a cover; if the uploader was the original
    /// artist or licensed, only for the uploader of the resolved subject (anyone else posting them
    /// is scanned again). `content_deleted`/`other` and the loop's resolutions never clear.
    func cachedVerdict(_ contentHash: String, uploader: String?) throws -> CachedVerdict? {
        let store = service.store
        guard let r = try store.read({ try store.verdicts.verdict(contentHash: contentHash, $0) }) else { return nil }
        let latestReference = try store.read { try store.verdicts.latestReferenceSeq($0) }
        let predates = r.scanSeq < latestReference
        guard let cleared = r.cleared, let reason = ResolutionReason(rawValue: cleared) else {
            return CachedVerdict(scanSeq: r.scanSeq, flagged: r.flagged, recordedAt: r.recordedAt / 1_000_000, predatesReferences: predates)
        }
        if CachedVerdictRecord.clearsForEveryone.contains(reason) {
            return CachedVerdict(scanSeq: r.scanSeq, flagged: false, recordedAt: r.recordedAt / 1_000_000, clearedAs: cleared, predatesReferences: predates)
        }
        // Cleared for the uploaders whose own subjects were resolved; anyone else gets the flag.
        if let uploader, CachedVerdictRecord.clearsForUploader.contains(reason), r.clearedFor?.contains(uploader) == true {
            return CachedVerdict(scanSeq: r.scanSeq, flagged: false, recordedAt: r.recordedAt / 1_000_000, clearedAs: cleared, predatesReferences: predates)
        }
        return nil
    }

    func uploader(_ body: ScanRequest) -> String? {
        body.uri.flatMap { UploaderTrustProjection.uploader(of: $0) } ?? body.context?.artist_did
    }

    /// The uploader's history: the subject's DID (or the context's artist DID).
    func trust(of body: ScanRequest) throws -> UploaderTrust? {
        guard let did = uploader(body) else { return nil }
        let store = service.store
        guard let r = try store.read({ try store.trust.record(did: did, $0) }) else { return nil }
        return UploaderTrust(originalArtist: r.originalArtist, confirmedViolations: r.confirmedViolations)
    }

    /// The same bytes were judged before: their verdict (and matches) for free, 0 requests.
    func recordCacheHit(_ proposed: ScanRecorded, plan: ScanPlan, body: ScanRequest, metadata: Logger.Metadata) async throws -> Result {
        let cached = plan.cached!
        var scan = proposed
        scan.provider = "cache"
        scan.plan = plan.record
        scan.cachedFromSeq = cached.scanSeq
        scan.estimatedRequests = 0
        scan.scannedChunks = 0
        scan.calls = []
        scan.policy = policy.description
        var earlier: ScanRecorded? = nil
        if let stored = try service.log.read(from: cached.scanSeq, limit: 1).first {
            switch try stored.envelope.decodeEvent() {
            case .scanRecorded(let s): earlier = s
            case .knownContentMatched(let m):
                // A retro-scan found a confirmed reference in these bytes.
                earlier = try knownContentVerdict(
                    uri: m.uri, refId: m.match.refId, match: m.match, reason: "known content: reference \(m.match.refId) found by a retro-scan")
            case .knownMatchReviewed(let r):
                // An operator judged a borderline match of these bytes to be the reference's work.
                let store = service.store
                let match = try store.read { try store.known.recordedMatch(seq: r.matchSeq, $0) }?.match
                earlier = try knownContentVerdict(
                    uri: r.uri, refId: r.refId, match: match,
                    reason: "known content: an operator judged the borderline match of reference \(r.refId) (seq \(r.matchSeq)) to be its work")
            default: break
            }
        }
        scan.matches = earlier?.matches ?? []
        scan.highestScore = earlier?.highestScore ?? 0
        scan.fullScanRequests = plan.fullScanRequests ?? earlier?.fullScanRequests
        scan.isFlagged = cached.flagged
        scan.flagReason = "cached verdict of scan seq \(cached.scanSeq): " + (cached.flagged ? "flagged" : "clean")
            + (cached.clearedAs.map { ", its flag cleared by an operator as \($0)" } ?? "")
            + (earlier?.flagReason.map { " (\($0))" } ?? "")
        if cached.clearedAs != nil { scan.matches = [] }
        var metadata = metadata
        metadata["scan.plan"] = "cache-hit"
        return try await record(scan, body: body, decision: policy.decide(scan.matches), raw: [], metadata: metadata)
    }

    /// An earlier verdict that came from a known-content reference, as a scan with that reference
    /// as its one match (none when the match is unknown).
    func knownContentVerdict(uri: String?, refId: String, match: KnownMatch?, reason: String) throws -> ScanRecorded {
        let store = service.store
        let work = try store.read { try store.known.reference(refId, $0) }?.work
        var earlier = ScanRecorded(scanId: "", uri: uri, cid: nil, audioURL: "", provider: "known-content", status: .ok)
        if let match {
            earlier.matches = [ScanMatch(
                artist: KnownContentService.evidenceArtist, title: KnownContentService.evidenceTitle(work: work, refId: refId),
                offsetMs: match.uploadOffsetMs, score: match.score)]
            earlier.highestScore = match.score
        }
        earlier.flagReason = reason
        return earlier
    }

    static func failure(_ error: any Error, provider: String) -> ScanFailure {
        switch error {
        case let f as ScanFailure: f
        case is CancellationError: ScanFailure(.unreachable, "the scan was cancelled before \(provider) answered")
        default: ScanFailure(.unreachable, "\(provider) scan failed: \(error)")
        }
    }

    /// A failed scan (download or provider): recorded with its reason, never as clean; 0 requests
    /// counted (whether AuDD bills a failed call is unknown; its dashboard is the reference).
    func recordFailure(
        _ proposed: ScanRecorded, _ error: any Error, calls: [AuddCall], extra: [NewEvent] = [], metadata: Logger.Metadata
    ) async throws -> Result {
        let failure = Self.failure(error, provider: scanner.provider)
        var scan = proposed
        scan.status = .failed
        scan.error = failure.message
        scan.calls = calls
        scan.estimatedRequests = 0
        scan.fullScanRequests = nil
        let seq = try await service.log.append([scan.event(actor: .scanner)] + extra)[0]
        var metadata = metadata
        metadata["scan.seq"] = "\(seq)"
        metadata["scan.failure"] = "\(failure.kind.rawValue)"
        service.logger.warning("scan failed: \(failure.message)", metadata: metadata)
        return Result(scan: scan, decision: policy.decide([]), seqs: [seq], raw: [], failure: failure)
    }

    /// Appends the scan and, when it flags a subject that has no flag yet, the signed label and
    /// the track context, decided inside the write so two scans of one track cannot both label it.
    func record(
        _ proposed: ScanRecorded, body: ScanRequest, decision: FlagDecision, raw: [[UInt8]], extra: [NewEvent] = [],
        metadata: Logger.Metadata
    ) async throws -> Result {
        // Signed here, off the writer, as `emit` does; appended after the scan that caused it.
        let label: Label? = try body.uri.flatMap { uri in
            proposed.isFlagged
                ? try service.makeLabel(LabelRequest(uri: uri, val: Self.labelValue, cid: body.cid)).signed(with: service.key) : nil
        }
        let flags = service.store.flags
        let scan = proposed
        let recorded = Mutex(scan)
        let context = body.uri.map { body.contextEvent(uri: $0, matches: scan.matches).event(actor: .scanner) }
        let seqs = try await service.log.append(deciding: { txn in
            recorded.withLock { $0 = scan }  // `decide` may run again (see `append(deciding:)`)
            guard let label else { return [scan.event(actor: .scanner)] + extra }
            if let existing = try flags.record(uri: label.uri, txn), existing.isFlag {
                var s = scan
                s.flagReason = (s.flagReason.map { $0 + "; " } ?? "")
                    + "not labelled again: the flag is already \(existing.state.rawValue)"
                    + (existing.resolution?.reason.map { " (\($0.rawValue))" } ?? "")
                recorded.withLock { $0 = s }
                return [s.event(actor: .scanner)] + extra
            }
            return [scan.event(actor: .scanner), LabelApplied(label: label).event(actor: .scanner), context!] + extra
        })
        let final = recorded.withLock { $0 }
        var metadata = metadata
        metadata["scan.seq"] = "\(seqs[0])"
        metadata["scan.billed"] = "\(final.estimatedRequests)"
        let labelled = label != nil && seqs.count >= 3 + extra.count
        if final.isFlagged {
            metadata["scan.reason"] = "\(final.flagReason ?? "")"
            if labelled { metadata["label.seq"] = "\(seqs[1])" }
            service.logger.notice("scan flagged", metadata: metadata)
        }
        return Result(
            scan: final, decision: decision, seqs: seqs, labelSeq: labelled ? seqs[1] : nil, contextSeq: labelled ? seqs[2] : nil,
            raw: raw)
    }
}
