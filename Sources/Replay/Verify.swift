import Dispatch
import EventLog
import Foundation
import LabelerCore
import Logging
import Projections

/// `labeler replay verify`: the audit of a data directory from seq 1, on one consistent snapshot.
public enum Verify {
    public struct Report: Sendable {
        public var events: UInt64 = 0
        public var labels: Int = 0
        public var keys: Int = 0
        /// The first fault found, if any.
        public var fault: ChainFault?
        public var projectionMismatches: [String] = []
        public var chainSeconds: Double = 0
        public var projectionSeconds: Double = 0
        public var ok: Bool { fault == nil && projectionMismatches.isEmpty }
        public var labelsPerSecond: Double { Double(labels) / max(chainSeconds, 1e-9) }
    }

    struct Decoded {
        var envelope: EventEnvelope?
        var event: LabelerEvent?
        var error: String?
        var hash: [UInt8] = []
    }

    public static func run(
        dataDir: String, checkProjections: Bool = true, logger: Logger = Logger(label: "labeler.verify"),
        progress: ((String, UInt64, UInt64) -> Void)? = nil
    ) throws -> Report {
        let env = try LMDBEnvironment(path: dataDir)
        let reader = try EventLogReader(env: env)
        let projections = try ModerationStore.makeProjections(env: env)
        let set = try ProjectionSet(env: env, projections: projections, logger: logger)
        return try env.read { txn in
            var report = Report()
            let head = try txn.last(reader.eventsDB).map { BigEndian.uint64($0.key) } ?? 0
            let start = Date()
            try checkLog(reader: reader, txn: txn, head: head, report: &report, progress: progress)
            report.chainSeconds = Date().timeIntervalSince(start)
            if report.fault == nil {
                // Read models are checkpointed with the log: one built past the end means events are gone.
                let built = try projections.compactMap { try set.checkpoint(of: $0, txn) }.max() ?? 0
                if built > head {
                    report.fault = ChainFault(
                        seq: head + 1, reason: "log ends at \(head) but read models were built to \(built): events \(head + 1)...\(built) are missing (truncated)")
                }
            }
            if checkProjections, report.fault == nil {
                let pStart = Date()
                report.projectionMismatches = try compareWithRebuild(
                    reader: reader, txn: txn, live: projections, head: head, logger: logger)
                report.projectionSeconds = Date().timeIntervalSince(pStart)
            }
            return report
        }
    }

    static func checkLog(
        reader: EventLogReader, txn: LMDBTransaction, head: UInt64, report: inout Report,
        progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        var expected: UInt64 = 1
        var prevHash = EventEnvelope.genesisPrev
        var key: PublicKey? = nil
        var did: String? = nil
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        while true {
            let page = try reader.readRaw(txn: txn, from: expected, limit: 8192)
            if page.isEmpty { break }
            // 1. In parallel: decode every envelope and event, hash the stored bytes.
            var decoded = [Decoded](repeating: Decoded(), count: page.count)
            decoded.withUnsafeMutableBufferPointer { out in
                nonisolated(unsafe) let buffer = out
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    var i = w
                    while i < page.count {
                        var d = Decoded()
                        d.hash = SHA256.hash(page[i].1)
                        do {
                            let env = try EventEnvelope.decode(page[i].1)
                            d.envelope = env
                            d.event = try env.decodeEvent()
                        } catch { d.error = "\(error)" }
                        buffer[i] = d
                        i += workers
                    }
                }
            }
            // 2. In order: contiguity, the hash chain, the key in force for each label. A chain
            //    fault stops the walk; labels before it are still checked so the first fault wins.
            var jobs: [(seq: UInt64, label: Label, key: PublicKey)] = []
            var chainFault: ChainFault? = nil
            walk: for (i, (seq, _)) in page.enumerated() {
                let d = decoded[i]
                func fail(_ why: String, at s: UInt64? = nil) { chainFault = ChainFault(seq: s ?? seq, reason: why) }
                guard seq == expected else {
                    fail(seq > expected ? "event \(expected) is missing (next stored is \(seq))" : "out of order", at: expected)
                    break walk
                }
                guard let env = d.envelope else { fail("envelope does not decode: \(d.error ?? "")"); break walk }
                guard env.seq == seq else { fail("stored under key \(seq) but says seq \(env.seq)"); break walk }
                guard env.prev == prevHash else { fail("prev is not the hash of event \(seq - 1) (chain broken)"); break walk }
                guard let event = d.event else { fail("payload does not decode: \(d.error ?? "")"); break walk }
                switch event {
                case .labelerIdentified(let e):
                    if did != nil { fail("a second labeler.identified event"); break walk }
                    did = e.did
                    do { key = try PublicKey(didKey: e.signingKey) } catch { fail("identity key: \(error)"); break walk }
                    report.keys += 1
                case .signingKeyRotated(let e):
                    do { key = try PublicKey(didKey: e.signingKey) } catch { fail("rotated key: \(error)"); break walk }
                    report.keys += 1
                case .labelApplied(let e):
                    guard let k = key, let did else { fail("label before the labeler identified its key"); break walk }
                    guard e.label.src == did else { fail("label src \(e.label.src) is not the labeler \(did)"); break walk }
                    jobs.append((seq, e.label, k))
                default: break
                }
                prevHash = d.hash
                expected += 1
            }
            // 3. In parallel: every label's signature against the key of its time.
            let failed = Mutex<UInt64?>(nil)
            let allJobs = jobs
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < allJobs.count {
                    if !allJobs[i].label.verify(with: allJobs[i].key) {
                        let s = allJobs[i].seq
                        failed.withLock { f in if f == nil || s < f! { f = s } }
                    }
                    i += workers
                }
            }
            report.labels += jobs.count
            if let bad = failed.withLock({ $0 }) {
                report.fault = ChainFault(seq: bad, reason: "label signature does not verify against the key in force")
                return
            }
            if let chainFault {
                report.fault = chainFault
                return
            }
            progress?("verify", expected - 1, head)
        }
        report.events = expected - 1
        if expected - 1 != head { report.fault = ChainFault(seq: expected, reason: "log ends at \(expected - 1), head is \(head)") }
    }

    /// Rebuilds every model into a scratch environment from the same snapshot and compares digests.
    static func compareWithRebuild(
        reader: EventLogReader, txn: LMDBTransaction, live: [any Projection], head: UInt64, logger: Logger
    ) throws -> [String] {
        let scratchPath = NSTemporaryDirectory() + "labeler-verify-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratchPath) }
        let scratch = try LMDBEnvironment(path: scratchPath)
        let fresh = try ModerationStore.makeProjections(env: scratch)
        let set = try ProjectionSet(env: scratch, projections: fresh, logger: logger)
        try set.replayChunked(fresh, reader: reader, to: head, progress: nil)
        var mismatches: [String] = []
        try scratch.read { stxn in
            for (l, f) in zip(live, fresh) {
                if try ProjectionSet.digest(l, txn) != ProjectionSet.digest(f, stxn) { mismatches.append(l.name) }
            }
        }
        return mismatches
    }
}

import Synchronization
