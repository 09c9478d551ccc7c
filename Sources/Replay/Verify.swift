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

    public static func run(
        dataDir: String, checkProjections: Bool = true, logger: Logger = Logger(label: "labeler.verify"),
        progress: ((String, UInt64, UInt64) -> Void)? = nil
    ) throws -> Report {
        let env = try LMDBEnvironment(path: dataDir, mustExist: true)
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

    /// One thread (this one) reads the log in order, decodes it and checks the chain, and hands
    /// the labels with the key in force to one verifier per core through a queue, so the cores
    /// verify signatures all the time (no phase waits for the slowest part of a page).
    static func checkLog(
        reader: EventLogReader, txn: LMDBTransaction, head: UInt64, report: inout Report,
        progress: ((String, UInt64, UInt64) -> Void)?
    ) throws {
        var expected: UInt64 = 1
        var prevHash = EventEnvelope.genesisPrev
        var key: PublicKey? = nil
        var did: String? = nil
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let queue = SignatureQueue(capacity: 64 * workers)
        // Threads of their own: this command itself runs on one of Dispatch's pool threads, and
        // the pool (as wide as the cores) did not always start a second verifier.
        let done = DispatchGroup()
        for i in 0..<workers {
            done.enter()
            startNamedThread("verify-\(i)") {
                queue.work()
                done.leave()
            }
        }
        var batch: [SignatureJob] = []
        batch.reserveCapacity(SignatureQueue.batchSize)
        var chainFault: ChainFault? = nil
        read: while true {
            let page = try reader.readRaw(txn: txn, from: expected, limit: 8192)
            if page.isEmpty { break }
            for (seq, bytes) in page {
                func fail(_ why: String, at s: UInt64? = nil) { chainFault = ChainFault(seq: s ?? seq, reason: why) }
                guard seq == expected else {
                    fail(seq > expected ? "event \(expected) is missing (next stored is \(seq))" : "out of order", at: expected)
                    break read
                }
                let env: EventEnvelope
                do { env = try EventEnvelope.decode(bytes) } catch { fail("envelope does not decode: \(error)"); break read }
                guard env.seq == seq else { fail("stored under key \(seq) but says seq \(env.seq)"); break read }
                guard env.prev == prevHash else { fail("prev is not the hash of event \(seq - 1) (chain broken)"); break read }
                let event: LabelerEvent
                do { event = try env.decodeEvent() } catch { fail("payload does not decode: \(error)"); break read }
                switch event {
                case .labelerIdentified(let e):
                    if did != nil { fail("a second labeler.identified event"); break read }
                    did = e.did
                    do { key = try PublicKey(didKey: e.signingKey) } catch { fail("identity key: \(error)"); break read }
                    report.keys += 1
                case .signingKeyRotated(let e):
                    do { key = try PublicKey(didKey: e.signingKey) } catch { fail("rotated key: \(error)"); break read }
                    report.keys += 1
                case .labelApplied(let e):
                    guard let k = key, let did else { fail("label before the labeler identified its key"); break read }
                    guard e.label.src == did else { fail("label src \(e.label.src) is not the labeler \(did)"); break read }
                    batch.append(SignatureJob(seq: seq, label: e.label, key: k))
                    report.labels += 1
                    if batch.count == SignatureQueue.batchSize {
                        guard queue.push(batch) else { break read }  // a signature failed: stop reading
                        batch.removeAll(keepingCapacity: true)
                    }
                default: break
                }
                prevHash = SHA256.hash(bytes)
                expected += 1
            }
            progress?("verify", expected - 1, head)
        }
        if !batch.isEmpty { _ = queue.push(batch) }
        queue.finish()
        done.wait()
        // Labels before a chain fault were all checked, so the first fault is the smaller seq.
        if let bad = queue.firstFailure, chainFault.map({ bad < $0.seq }) ?? true {
            report.fault = ChainFault(seq: bad, reason: "label signature does not verify against the key in force")
            return
        }
        if let chainFault {
            report.fault = chainFault
            return
        }
        report.events = expected - 1
        if expected - 1 != head {
            report.fault = ChainFault(seq: expected, reason: "log ends at \(expected - 1), head is \(head)")
        } else if let end = try reader.endFault(head: head, lastHash: prevHash, txn) {
            report.fault = ChainFault(seq: end.seq, reason: end.reason)
        }
    }

    /// Rebuilds every model into a scratch environment from the same snapshot and compares digests.
    static func compareWithRebuild(
        reader: EventLogReader, txn: LMDBTransaction, live: [any Projection], head: UInt64, logger: Logger
    ) throws -> [String] {
        let scratchPath = NSTemporaryDirectory() + "labeler-verify-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratchPath) }
        let scratch = try LMDBEnvironment(path: scratchPath)
        // Its files stay open while it is used; gone from the file system now, nothing is left
        // behind if the command is interrupted.
        try? FileManager.default.removeItem(atPath: scratchPath)
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


struct SignatureJob: Sendable {
    var seq: UInt64
    var label: Label
    var key: PublicKey
}

/// Batches of labels to verify, bounded (the reader waits when the verifiers are behind), and the
/// smallest seq whose signature failed.
final class SignatureQueue: @unchecked Sendable {
    static let batchSize = 256
    private let condition = NSCondition()
    private var batches: [[SignatureJob]] = []
    private var head = 0
    private var finished = false
    private var failed: UInt64? = nil
    private var readerWaiting = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Queues a batch; false once a signature has failed (later labels cannot come first). When
    /// the queue is full the reader sleeps until it is down to half, so it works in long
    /// bursts rather than waking (and taking a core from a verifier) for every batch.
    func push(_ batch: [SignatureJob]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if batches.count - head >= capacity {
            readerWaiting = true
            while batches.count - head > capacity / 2 && failed == nil && readerWaiting { condition.wait() }
            readerWaiting = false
        }
        if failed != nil { return false }
        batches.append(batch)
        condition.signal()
        return true
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    var firstFailure: UInt64? {
        condition.lock()
        defer { condition.unlock() }
        return failed
    }

    private func take() -> [SignatureJob]? {
        condition.lock()
        defer { condition.unlock() }
        while head == batches.count && !finished { condition.wait() }
        guard head < batches.count else { return nil }
        let batch = batches[head]
        batches[head] = []
        head += 1
        if head > 1024 {
            batches.removeFirst(head)
            head = 0
        }
        if readerWaiting && batches.count - head <= capacity / 2 { condition.broadcast() }
        return batch
    }

    /// A verifier: verifies batches until the queue is finished and empty. Batches queued before a
    /// failure are still verified, so the smallest failing seq is found.
    func work() {
        while let batch = take() {
            var bad: UInt64? = nil
            for job in batch where !job.label.verify(with: job.key) {
                bad = min(bad ?? job.seq, job.seq)
            }
            if let bad {
                condition.lock()
                if failed == nil || bad < failed! { failed = bad }
                condition.broadcast()
                condition.unlock()
            }
        }
    }
}
