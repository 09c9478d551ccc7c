import EventLog

/// How much of an upload the labeler pays AuDD to scan.
/// - `full`: every chunk of every upload (today's cost), after the free pre-filters;
/// - `balanced` (default): short tracks in full (short samples keep full-scan recall), long
///   uploads sampled with a hard cap;
/// - `budget`: short tracks sampled too (loses recall on short samples inside originals).
public enum ScanMode: String, Sendable, CaseIterable {
    case full, balanced, budget
}

/// One duration tier: uploads up to `upToSeconds` (nil: any length) are scanned in runs of `every`
/// chunks separated by at least `skip` chunks, at most `limit` chunks. The skip grows when needed
/// so that the `limit` samples spread over the whole upload instead of stopping part-way.
public struct ScanTier: Sendable, Equatable, CustomStringConvertible {
    public var upToSeconds: Int?
    public var every: Int
    public var skip: Int
    public var limit: Int?

    public init(upToSeconds: Int?, every: Int = 1, skip: Int = 0, limit: Int? = nil) {
        self.upToSeconds = upToSeconds
        self.every = every
        self.skip = skip
        self.limit = limit
    }

    public static func full(upTo: Int?) -> ScanTier { ScanTier(upToSeconds: upTo) }

    public var isFull: Bool { skip == 0 && limit == nil }

    /// `480=full`, `1800=1/2@50`, `*=1/11@60` (the `SCAN_TIERS` syntax).
    public var description: String {
        let bound = upToSeconds.map(String.init) ?? "*"
        if isFull { return "\(bound)=full" }
        return "\(bound)=\(every)/\(skip)" + (limit.map { "@\($0)" } ?? "")
    }

    /// Parses the `SCAN_TIERS` syntax: comma-separated `SECONDS=full` or `SECONDS=EVERY/SKIP[@LIMIT]`,
    /// ascending, the last one `*` (any length). Skip must be a multiple of every, so that
    /// escalation passes tile the chunks without overlap.
    public static func parseList(_ s: String) throws(ScanConfigError) -> [ScanTier] {
        var tiers: [ScanTier] = []
        for part in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw ScanConfigError("SCAN_TIERS: \"\(part)\" is not SECONDS=SPEC") }
            var tier: ScanTier
            let bound: Int?
            if kv[0] == "*" { bound = nil } else {
                guard let b = Int(kv[0]), b > 0 else { throw ScanConfigError("SCAN_TIERS: \"\(kv[0])\" is not a number of seconds or *") }
                bound = b
            }
            if kv[1] == "full" {
                tier = .full(upTo: bound)
            } else {
                let specAndLimit = kv[1].split(separator: "@", maxSplits: 1).map(String.init)
                let ratio = specAndLimit[0].split(separator: "/").map { Int($0) }
                guard ratio.count == 2, let every = ratio[0], let skip = ratio[1], every >= 1, skip >= 0, skip % every == 0 else {
                    throw ScanConfigError("SCAN_TIERS: \"\(kv[1])\" is not EVERY/SKIP[@LIMIT] with SKIP a multiple of EVERY")
                }
                var limit: Int? = nil
                if specAndLimit.count == 2 {
                    guard let l = Int(specAndLimit[1]), l >= every else { throw ScanConfigError("SCAN_TIERS: bad limit in \"\(kv[1])\"") }
                    limit = l
                }
                tier = ScanTier(upToSeconds: bound, every: every, skip: skip, limit: limit)
            }
            if let last = tiers.last {
                guard let lb = last.upToSeconds, (tier.upToSeconds ?? Int.max) > lb else {
                    throw ScanConfigError("SCAN_TIERS: tiers must be in ascending order of seconds, * last")
                }
            }
            tiers.append(tier)
        }
        guard let last = tiers.last, last.upToSeconds == nil else { throw ScanConfigError("SCAN_TIERS: the last tier must be *") }
        return tiers
    }
}

public struct ScanConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Everything the scan-plan policy is configured with. Defaults per mode follow
/// `shared/docs/scan-cost.md` §5, with the long tier sampled sparsely enough that a 40-min set
/// costs a tenth of a full scan (the sampling-aware mix rule keeps the decision).
public struct ScanPlanConfig: Sendable, Equatable {
    public var mode: ScanMode
    public var tiers: [ScanTier]
    /// Complementary passes allowed after the first when it found too little to decide on.
    public var maxEscalations: Int
    /// A sampled scan with fewer matched chunks than this (but some) is inconclusive: escalate.
    public var minEvidenceChunks = 3
    /// Uploaders with at least this many `original_artist` resolutions and no confirmed violation
    /// get a spot check (0 turns trust off; `full` mode never uses it).
    public var trustMinOriginalArtist = 1
    public var spotCheck = ScanTier(upToSeconds: nil, every: 1, skip: 4, limit: 10)
    /// How long a clean verdict is reused for the same bytes (AuDD's catalogue grows); 0 never
    /// reuses one. Flagged verdicts do not expire.
    public var cleanVerdictTTLSeconds: Int64 = 90 * 86_400

    public init(mode: ScanMode) {
        self.mode = mode
        switch mode {
        case .full:
            tiers = [.full(upTo: nil)]
            maxEscalations = 0
        case .balanced:
            tiers = [
                .full(upTo: 480), ScanTier(upToSeconds: 1800, every: 1, skip: 2, limit: 50),
                ScanTier(upToSeconds: nil, every: 1, skip: 13, limit: 60),
            ]
            maxEscalations = 2
        case .budget:
            tiers = [
                ScanTier(upToSeconds: 480, every: 1, skip: 2, limit: 20), ScanTier(upToSeconds: 1800, every: 1, skip: 4, limit: 40),
                ScanTier(upToSeconds: nil, every: 1, skip: 14, limit: 40),
            ]
            maxEscalations = 1
        }
    }

    /// The tier for an upload of `seconds`.
    func tier(for seconds: Int) -> ScanTier {
        tiers.first { $0.upToSeconds.map { seconds <= $0 } ?? true } ?? tiers[tiers.count - 1]
    }
}
