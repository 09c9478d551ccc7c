import EventLog
import Foundation
import LabelerCore
import Projections

/// Matching time against a large known-content index: `references` synthetic fingerprints added
/// through the real projection (`known-content.added` events applied in LMDB write transactions),
/// then timed lookups (vote + verification) of copies, spliced sets and unrelated audio.
///
/// Real fingerprints of different tracks share 24-bit keys far more often than random numbers
/// do (scan-cost.md §2.6 measured 1.3e-2 cross-track hits per item per track at 24-bit keys);
/// `pessimistic` draws 30 % of items from a pool of common values sized to reproduce that rate.
public enum KnownContentBenchmark {
    public struct Report: Sendable {
        public var references: Int
        public var items: Int
        public var buildSeconds: Double
        public var indexBytes: Int
        /// Median milliseconds per query, and whether each query found what it should.
        public var copyMs: Double
        public var setMs: Double
        public var unrelatedMs: Double
        public var copiesFound: Int
        public var copiesTried: Int
        public var setRefsFound: Int
        public var setRefsTried: Int
        public var unrelatedFalseMatches: Int
    }

    typealias RNG = SplitMix64

    static func print(_ rng: inout RNG, items: Int, common: [UInt32]?) -> [UInt32] {
        (0..<items).map { _ in
            if let common, rng.next() % 10 < 3 { return common[Int(rng.next() % UInt64(common.count))] }
            return UInt32(truncatingIfNeeded: rng.next())
        }
    }

    /// Flips bits at `ber` (a lossy re-encode).
    static func degrade(_ items: [UInt32], ber: Double, _ rng: inout RNG) -> [UInt32] {
        items.map { v in
            var x = v
            for b in 0..<32 where Double(rng.next() % 1_000_000) / 1_000_000 < ber { x ^= 1 << UInt32(b) }
            return x
        }
    }

    public static func run(references: Int, itemsPerReference: Int = 1900, pessimistic: Bool, queries: Int = 20, directory: String) throws -> Report {
        var rng = RNG(state: pessimistic ? 7 : 3)
        // Common-value pool: 1900·q²/M = 1.3e-2 with q = 0.3.
        let common: [UInt32]? = pessimistic ? (0..<13_150).map { _ in UInt32(truncatingIfNeeded: rng.next()) } : nil
        let env = try LMDBEnvironment(path: directory, mapSize: 1 << 36)
        let projection = try KnownContentProjection(env: env)
        var prints: [[UInt32]] = []
        let started = Date()
        var n = 0
        while n < references {
            try env.write { txn in
                for _ in 0..<min(500, references - n) {
                    let p = Self.print(&rng, items: itemsPerReference, common: common)
                    prints.append(p)
                    let e = KnownContentAdded(refId: "bench-\(n)", reason: "benchmark", uri: nil, contentHash: nil, fingerprint: Chromaprint.bytes(p), work: nil)
                    let ev = e.event(actor: .system)
                    let envelope = EventEnvelope(seq: UInt64(n + 1), recordedAt: 0, type: ev.type, v: ev.v, actor: "system", payload: ev.payload, prev: EventEnvelope.genesisPrev)
                    try projection.apply(StoredEvent(envelope: envelope, bytes: []), .knownContentAdded(e), in: txn)
                    n += 1
                }
            }
        }
        let build = Date().timeIntervalSince(started)
        let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")[.size] as? Int) ?? 0
        let t = KnownContentThresholds()

        func timed(_ q: [UInt32]) throws -> (Double, [KnownMatch]) {
            let s = DispatchTime.now().uptimeNanoseconds
            let m = try env.read { try projection.match(q, t, $0) }
            return (Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6, m)
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

        var copyTimes: [Double] = [], setTimes: [Double] = [], otherTimes: [Double] = []
        var copiesFound = 0, setFound = 0, falseMatches = 0
        for i in 0..<queries {
            // A re-encoded copy (BER 0.02) of a 3-min excerpt of one reference.
            let r = Int(rng.next() % UInt64(references))
            let copy = degrade(Array(prints[r][100..<min(prints[r].count, 100 + 1450)]), ber: 0.02, &rng)
            let (ms, m) = try timed(copy)
            copyTimes.append(ms)
            if m.first?.refId == "bench-\(r)" && m.first?.verdict == "flag" { copiesFound += 1 }
            // A 40-min set (≈19,400 items) of unrelated audio with two references inside.
            let a = Int(rng.next() % UInt64(references)), b = (a + 1 + i) % references
            var set = Self.print(&rng, items: 8000, common: common)
            set += degrade(prints[a], ber: 0.02, &rng) + Self.print(&rng, items: 5000, common: common) + degrade(prints[b], ber: 0.02, &rng)
            set += Self.print(&rng, items: 2600, common: common)
            let (sms, sm) = try timed(set)
            setTimes.append(sms)
            let ids = Set(sm.filter { $0.verdict == "flag" }.map(\.refId))
            setFound += (ids.contains("bench-\(a)") ? 1 : 0) + (ids.contains("bench-\(b)") ? 1 : 0)
            // Unrelated 4-min audio.
            let (oms, om) = try timed(Self.print(&rng, items: 1900, common: common))
            otherTimes.append(oms)
            falseMatches += om.count
        }
        return Report(
            references: references, items: references * itemsPerReference, buildSeconds: build, indexBytes: size,
            copyMs: median(copyTimes), setMs: median(setTimes), unrelatedMs: median(otherTimes), copiesFound: copiesFound, copiesTried: queries,
            setRefsFound: setFound, setRefsTried: 2 * queries, unrelatedFalseMatches: falseMatches)
    }
}
