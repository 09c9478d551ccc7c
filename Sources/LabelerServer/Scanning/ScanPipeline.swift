import EventLog
import Foundation
import LabelerCore
import Logging
import Synchronization

/// One copyright scan, from request to log:
/// 1. learn what is free to know (the caller's duration; the verdict cache, local known-content
///    matches and the uploader's history — see `ScanFactsGatherer`);
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

    static let labelValue = "copyright-violation"

    init(service: LabelerService, settings: ScanSettings, scanner: any Scanner, policy: FlagPolicy) {
        self.service = service
        self.settings = settings
        self.scanner = scanner
        self.policy = policy
        planner = ScanPlanner(config: settings.plan)
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

        let facts = ScanFacts(durationSeconds: body.duration_s, now: Int64(Date().timeIntervalSince1970))
        let plan = planner.plan(facts)
        metadata["scan.plan"] = "\(plan.kind.rawValue)"

        var scan = ScanRecorded(
            scanId: scanId, uri: body.uri, cid: body.cid, audioURL: body.audio_url, provider: scanner.provider, status: .ok,
            plan: plan.record, fullScanRequests: plan.fullScanRequests)

        let execution: ScanExecution
        do {
            execution = try await ScanExecutor.run(
                plan: plan, policy: policy, durationSeconds: facts.durationSeconds, minEvidenceChunks: settings.plan.minEvidenceChunks
            ) { params in try await scanner.scan(audioURL: body.audio_url, params: params) }
        } catch {
            let failure = Self.failure(error, provider: scanner.provider)
            return try await recordFailure(scan, failure, calls: plan.passes.prefix(1).map {
                AuddCall(pass: 0, params: $0, billedRequests: 0, matchedChunks: 0, error: failure.message)
            }, metadata: metadata)
        }
        scan.calls = execution.calls
        scan.matches = execution.matches
        scan.isFlagged = execution.decision.isFlagged
        scan.highestScore = execution.matches.map(\.score).max() ?? 0
        scan.policy = policy.description
        scan.flagReason = ([execution.decision.reason] + execution.notes).joined(separator: "; ")
        scan.estimatedRequests = execution.billedRequests
        scan.scannedChunks = execution.scannedChunks
        return try await record(scan, body: body, decision: execution.decision, raw: execution.rawResponses, metadata: metadata)
    }

    static func failure(_ error: any Error, provider: String) -> ScanFailure {
        switch error {
        case let f as ScanFailure: f
        case is CancellationError: ScanFailure(.unreachable, "the scan was cancelled before \(provider) answered")
        default: ScanFailure(.unreachable, "\(provider) scan failed: \(error)")
        }
    }

    /// A failed scan: recorded with its reason, never as clean; 0 requests counted (whether AuDD
    /// bills a failed call is unknown; its dashboard is the reference).
    func recordFailure(_ proposed: ScanRecorded, _ failure: ScanFailure, calls: [AuddCall], metadata: Logger.Metadata) async throws -> Result {
        var scan = proposed
        scan.status = .failed
        scan.error = failure.message
        scan.calls = calls
        scan.estimatedRequests = 0
        scan.fullScanRequests = nil
        let seq = try await service.log.append(scan.event(actor: .scanner))
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
