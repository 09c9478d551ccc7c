import EventLog
import Foundation
import LabelerCore

/// A synthetic month of uploads modelled on plyr.fm (scan-cost.md §5.3): 88 % four-minute tracks,
/// 12 % forty-minute sets, 20 % re-uploads. Each upload carries a ground truth (which song at which
/// seconds, with the chance AuDD recognises a chunk of it), and is scanned with the real scan-plan
/// policy, escalation and flag rule against a simulated AuDD that bills exactly like the real one
/// (one request per scanned 12-s chunk). The verdict cache and the known-content index are the
/// pre-filters' logic (same bytes → cached verdict; a re-encode of a confirmed violation → a
/// strong local match), so a mode's cost and recall can be compared with full scans.
public enum ScanSimulation {
    public enum Kind: String, CaseIterable, Sendable {
        case trackOriginal = "track: original"
        case trackCopy = "track: copy of a commercial track"
        case trackSample = "track: original with a 20-s sample"
        case setMix = "set: DJ mix of commercial songs"
        case setOriginal = "set: original"
        case setWithCopy = "set: original with one copied track"
        case reuploadSame = "re-upload: same bytes"
        case reuploadReencode = "re-upload: re-encoded copy or mix"

        /// Whether the upload holds copyrighted material a scan should flag.
        public var infringing: Bool {
            switch self {
            case .trackCopy, .trackSample, .setMix, .setWithCopy: true
            default: false
            }
        }
        public var isSet: Bool { self == .setMix || self == .setOriginal || self == .setWithCopy }
    }

    public struct Segment: Sendable {
        public var song: Int
        public var seconds: Range<Int>
        /// Chance AuDD recognises a chunk overlapping it by ≥ 6 s (0.9 clean copy, 0.7 in a mix).
        public var p: Double
    }

    public struct Upload: Sendable {
        public var id: Int
        public var kind: Kind
        public var duration: Int
        public var segments: [Segment]
        /// Same value = same bytes.
        public var content: Int
        /// For re-uploads: the upload copied, and whether that one infringes.
        public var source: Int?
        public var sourceInfringing = false
    }

    public struct Options: Sendable {
        public var uploads = 2000
        public var seed: UInt64 = 1
        /// Chance a scanned chunk of unmatched audio returns a spurious song (fingerprint noise).
        public var noise = 0.002
        public init() {}
    }

    typealias RNG = SplitMix64

    /// The month: uploads in order; re-uploads copy an earlier upload.
    public static func month(_ o: Options) -> [Upload] {
        var rng = RNG(state: o.seed)
        var uploads: [Upload] = []
        var song = 0
        func newSong() -> Int {
            song += 1
            return song
        }
        for id in 0..<o.uploads {
            let r = rng.unit()
            let earlier = uploads.filter { $0.source == nil }
            if r < 0.20, !earlier.isEmpty {
                // Re-uploads: three in four the same bytes, one in four a re-encode of a copied track
                // or a mix (a taken-down upload posted again).
                let infringing = earlier.filter { $0.kind == .trackCopy || $0.kind == .setMix }
                if rng.unit() < 0.25, !infringing.isEmpty {
                    let src = infringing[Int(rng.next() % UInt64(infringing.count))]
                    uploads.append(Upload(id: id, kind: .reuploadReencode, duration: src.duration, segments: src.segments, content: 1_000_000 + id, source: src.id, sourceInfringing: true))
                } else {
                    let src = earlier[Int(rng.next() % UInt64(earlier.count))]
                    uploads.append(Upload(id: id, kind: .reuploadSame, duration: src.duration, segments: src.segments, content: src.content, source: src.id, sourceInfringing: src.kind.infringing))
                }
                continue
            }
            if rng.unit() < 0.88 {
                let d = rng.int(200...280)
                let k = rng.unit()
                if k < 0.85 {
                    uploads.append(Upload(id: id, kind: .trackOriginal, duration: d, segments: [], content: id))
                } else if k < 0.95 {
                    uploads.append(Upload(id: id, kind: .trackCopy, duration: d, segments: [Segment(song: newSong(), seconds: 0..<d, p: 0.9)], content: id))
                } else {
                    let start = rng.int(10...(d - 30))
                    uploads.append(Upload(id: id, kind: .trackSample, duration: d, segments: [Segment(song: newSong(), seconds: start..<start + 20, p: 0.7)], content: id))
                }
            } else {
                let d = rng.int(2100...2700)
                let k = rng.unit()
                if k < 0.5 {
                    var segments: [Segment] = []
                    var t = 0
                    while t < d {
                        let len = rng.int(150...240)
                        segments.append(Segment(song: newSong(), seconds: t..<min(d, t + len), p: 0.7))
                        t += len
                    }
                    uploads.append(Upload(id: id, kind: .setMix, duration: d, segments: segments, content: id))
                } else if k < 0.9 {
                    uploads.append(Upload(id: id, kind: .setOriginal, duration: d, segments: [], content: id))
                } else {
                    let start = rng.int(0...(d - 180))
                    uploads.append(Upload(id: id, kind: .setWithCopy, duration: d, segments: [Segment(song: newSong(), seconds: start..<start + 180, p: 0.9)], content: id))
                }
            }
        }
        return uploads
    }

    public struct KindResult: Sendable {
        public var uploads = 0
        public var requests = 0
        public var fullScanRequests = 0
        public var flagged = 0
        public var escalated = 0
        public init() {}
    }

    public struct Result: Sendable {
        public var mode: String
        public var byKind: [Kind: KindResult] = [:]
        public var requests: Int { byKind.values.reduce(0) { $0 + $1.requests } }
        public var fullScanRequests: Int { byKind.values.reduce(0) { $0 + $1.fullScanRequests } }
        public var uploads: Int { byKind.values.reduce(0) { $0 + $1.uploads } }

        public func sum(_ kinds: [Kind]) -> KindResult {
            kinds.reduce(into: KindResult()) { r, k in
                let v = byKind[k] ?? KindResult()
                r.uploads += v.uploads
                r.requests += v.requests
                r.fullScanRequests += v.fullScanRequests
                r.flagged += v.flagged
                r.escalated += v.escalated
            }
        }
    }

    /// Deterministic per (upload, chunk): the same chunk always answers the same way.
    static func draw(_ upload: Int, _ second: Int, _ salt: UInt64) -> Double {
        var r = RNG(state: UInt64(upload) &* 1_000_003 &+ UInt64(second) &* 7919 &+ salt)
        return r.unit()
    }

    /// AuDD's answer to one call for an upload: billed chunks recognised by the ground truth.
    static func audd(_ u: Upload, _ params: AuddParams, noise: Double) -> ScanOutcome {
        var matches: [ScanMatch] = []
        for start in params.scannedChunkStarts(durationSeconds: u.duration) {
            let end = min(start + 12, u.duration)
            if let s = u.segments.first(where: { min(end, $0.seconds.upperBound) - max(start, $0.seconds.lowerBound) >= min(6, end - start) }) {
                if draw(u.content, start, 1) < s.p {
                    matches.append(ScanMatch(artist: "Artist \(s.song)", title: "Song \(s.song)", offsetMs: start * 1000, score: 0))
                }
            } else if draw(u.content, start, 2) < noise {
                let spurious = Int(draw(u.content, start, 3) * 1e9)
                matches.append(ScanMatch(artist: "Noise \(spurious)", title: "Spurious", offsetMs: start * 1000, score: 0))
            }
        }
        return ScanOutcome(matches: matches, rawResponse: [])
    }

    /// Scans the month under one configuration. Operators confirm every flagged infringing upload
    /// (its audio joins the known-content index) and clear the rest.
    public static func run(_ uploads: [Upload], config: ScanPlanConfig, policy: FlagPolicy = FlagPolicy(rule: .dominant), options: Options) async throws -> Result {
        let planner = ScanPlanner(config: config)
        var result = Result(mode: config.mode.rawValue)
        var cache: [Int: (seq: UInt64, flagged: Bool, cleared: Bool)] = [:]
        var confirmed = Set<Int>()  // upload ids whose audio is a reference
        var flaggedIds = Set<Int>()
        for u in uploads {
            var facts = ScanFacts(durationSeconds: u.duration, durationSource: "probe", now: 1_800_000_000)
            if let c = cache[u.content] {
                facts.cached = CachedVerdict(scanSeq: c.seq, flagged: c.flagged, recordedAt: 1_800_000_000, clearedAs: c.cleared ? "fingerprint_noise" : nil)
            }
            if u.kind == .reuploadReencode, let src = u.source, confirmed.contains(src) {
                facts.known = [KnownMatch(refId: "ref-\(src)", uploadOffsetMs: 0, referenceOffsetMs: 0, matchedMs: u.duration * 1000, berBasisPoints: 100, verdict: "flag")]
            }
            let plan = planner.plan(facts)
            var k = result.byKind[u.kind] ?? KindResult()
            k.uploads += 1
            k.fullScanRequests += AuddParams.fullScanRequests(durationSeconds: u.duration)
            var flagged: Bool
            switch plan.kind {
            case .cacheHit: flagged = plan.cached!.flagged
            case .knownContent: flagged = true
            default:
                let ex = try await ScanExecutor.run(plan: plan, policy: policy, durationSeconds: u.duration, minEvidenceChunks: config.minEvidenceChunks) { params in
                    audd(u, params, noise: options.noise)
                }
                k.requests += ex.billedRequests
                if ex.calls.count > 1 { k.escalated += 1 }
                flagged = ex.decision.isFlagged
                cache[u.content] = (UInt64(u.id + 1), flagged, false)
            }
            if flagged {
                k.flagged += 1
                flaggedIds.insert(u.id)
                // The operator confirms true violations (they become references) and clears the rest
                // as fingerprint noise (the same bytes are then clean for everyone).
                let infringing = u.kind.infringing || (u.source != nil && u.sourceInfringing)
                if infringing { confirmed.insert(u.source ?? u.id) } else if let c = cache[u.content] { cache[u.content] = (c.seq, false, true) }
            }
            result.byKind[u.kind] = k
        }
        return result
    }
}
