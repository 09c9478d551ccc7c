/// Chromaprint raw fingerprints (algorithm 2): one 32-bit item per 4096/3 samples at 11,025 Hz
/// (123.8 ms). Matching is by segment, not whole file (scan-cost.md §2.6): an inverted index over
/// the top 24 bits of each item votes for (reference, offset) alignments, then each candidate is
/// verified by its bit-error rate (BER) over sliding windows.
public enum Chromaprint {
    public static let itemSeconds = 4096.0 / 3.0 / 11_025.0
    /// The item of digital silence; it matches everything silent, so it is never indexed.
    public static let silence: UInt32 = 627_964_279

    @inline(__always) public static func key(_ item: UInt32) -> UInt32 { item >> 8 }

    public static func items(forSeconds s: Double) -> Int { Int((s / itemSeconds).rounded()) }
    public static func milliseconds(items: Int) -> Int { Int((Double(items) * itemSeconds * 1000).rounded()) }

    /// Little-endian bytes, as stored in events.
    public static func bytes(_ items: [UInt32]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(items.count * 4)
        for v in items { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    public static func items(_ bytes: some Collection<UInt8>) -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(bytes.count / 4)
        var it = bytes.makeIterator()
        while let a = it.next(), let b = it.next(), let c = it.next(), let d = it.next() {
            out.append(UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24)
        }
        return out
    }
}

/// A candidate alignment: reference `ref` at `offset` = reference position − query position.
public struct AlignmentCandidate: Sendable, Equatable {
    public var ref: UInt32
    public var offset: Int
    public var votes: Int
}

/// A verified segment: query items `[queryStart, queryEnd)` match the reference from `refStart`.
public struct SegmentMatch: Sendable, Equatable {
    public var queryStart: Int
    public var queryEnd: Int
    public var refStart: Int
    /// Mean BER over the segment, and the best single window's.
    public var ber: Double
    public var bestWindowBER: Double
    public var length: Int { queryEnd - queryStart }
}

public enum FingerprintMatcher {
    /// Votes for alignments: every (reference, position) posting of every distinct key of the
    /// query votes for `position − query position`. Keys repeated many times in the query count
    /// at their first `maxPositionsPerKey` positions; keys with more than `maxPostingsPerKey`
    /// postings are too common to tell anything apart and are skipped. Returns the best offset per
    /// reference with at least `minVotes` votes, most votes first.
    public static func vote(
        query: [UInt32], minVotes: Int, maxPositionsPerKey: Int = 8, maxPostingsPerKey: Int = 20_000,
        postings: (UInt32) throws -> [(ref: UInt32, pos: UInt32)]
    ) rethrows -> [AlignmentCandidate] {
        var positions: [UInt32: [Int32]] = [:]
        positions.reserveCapacity(query.count)
        for (i, item) in query.enumerated() where item != Chromaprint.silence {
            let k = Chromaprint.key(item)
            if positions[k, default: []].count < maxPositionsPerKey { positions[k, default: []].append(Int32(i)) }
        }
        var votes: [UInt64] = []
        for (k, qs) in positions {
            let ps = try postings(k)
            if ps.isEmpty || ps.count > maxPostingsPerKey { continue }
            for p in ps {
                for q in qs {
                    let offset = Int64(p.pos) - Int64(q)
                    votes.append(UInt64(p.ref) << 32 | UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: offset))))
                }
            }
        }
        votes.sort()
        var best: [UInt32: AlignmentCandidate] = [:]
        var i = 0
        while i < votes.count {
            var j = i + 1
            while j < votes.count && votes[j] == votes[i] { j += 1 }
            let n = j - i
            if n >= minVotes {
                let ref = UInt32(votes[i] >> 32)
                let offset = Int(Int32(bitPattern: UInt32(truncatingIfNeeded: votes[i])))
                if (best[ref]?.votes ?? 0) < n { best[ref] = AlignmentCandidate(ref: ref, offset: offset, votes: n) }
            }
            i = j
        }
        return best.values.sorted { $0.votes != $1.votes ? $0.votes > $1.votes : $0.ref < $1.ref }
    }

    /// The longest segment at `offset` whose every `window`-item window has a BER ≤ `maxBER`
    /// (windows that qualify and overlap are merged), or nil.
    public static func verify(query: [UInt32], reference: [UInt32], offset: Int, window: Int, maxBER: Double) -> SegmentMatch? {
        let i0 = max(0, -offset)
        let i1 = min(query.count, reference.count - offset)
        let n = i1 - i0
        guard window > 0, n >= window else { return nil }
        var prefix = [Int](repeating: 0, count: n + 1)
        query.withUnsafeBufferPointer { q in
            reference.withUnsafeBufferPointer { r in
                for k in 0..<n { prefix[k + 1] = prefix[k] + (q[i0 + k] ^ r[i0 + k + offset]).nonzeroBitCount }
            }
        }
        let limit = Int((maxBER * Double(32 * window)).rounded(.down))
        var bestWindow = Int.max
        var best: (Int, Int)? = nil
        var current: (Int, Int)? = nil
        for s in 0...(n - window) {
            let errs = prefix[s + window] - prefix[s]
            bestWindow = min(bestWindow, errs)
            guard errs <= limit else { continue }
            if let c = current, s <= c.1 {
                current = (c.0, s + window)
            } else {
                if let c = current, best.map({ c.1 - c.0 > $0.1 - $0.0 }) ?? true { best = c }
                current = (s, s + window)
            }
        }
        if let c = current, best.map({ c.1 - c.0 > $0.1 - $0.0 }) ?? true { best = c }
        guard let (a, b) = best else { return nil }
        let ber = Double(prefix[b] - prefix[a]) / Double(32 * (b - a))
        return SegmentMatch(
            queryStart: i0 + a, queryEnd: i0 + b, refStart: i0 + a + offset, ber: ber,
            bestWindowBER: Double(bestWindow) / Double(32 * window))
    }

    /// An in-memory inverted index of one fingerprint (the retro-scan's reference): key → positions.
    public static func postings(of items: [UInt32]) -> [UInt32: [UInt32]] {
        var d: [UInt32: [UInt32]] = [:]
        for (i, item) in items.enumerated() where item != Chromaprint.silence { d[Chromaprint.key(item), default: []].append(UInt32(i)) }
        return d
    }
}

/// When a local match counts (scan-cost.md §2.6, §3.2): lossy re-encodes, trims and volume changes
/// sit at BER ≤ 0.05; same-chord lookalikes at 0.07–0.09; unrelated audio ≥ 0.3.
public struct KnownContentThresholds: Sendable, Equatable {
    /// A match must span at least this long (windows of this length are verified).
    public var minMatchSeconds = 20.0
    /// Mean BER at or below which a match flags locally (no provider call).
    public var flagBER = 0.05
    /// Mean BER at or below which a match goes to review (never labels).
    public var reviewBER = 0.10
    /// Shorter excerpts (windows this long) at `reviewBER` go to review too, with `excerptVotes`.
    public var excerptSeconds = 5.0
    public var excerptVotes = 15
    /// Inverted-index votes a candidate alignment needs before it is verified.
    public var minVotes = 8
    public init() {}
}
