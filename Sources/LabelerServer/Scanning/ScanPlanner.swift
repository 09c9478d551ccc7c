import EventLog

/// An earlier verdict on the same audio bytes (the verdict cache).
public struct CachedVerdict: Sendable, Equatable {
    public var scanSeq: UInt64
    public var flagged: Bool
    /// When it was recorded (Unix seconds): clean verdicts expire.
    public var recordedAt: Int64
    /// An operator resolved the flag this verdict caused (e.g. `fingerprint_noise`): the bytes
    /// are clean by a human decision, which does not expire.
    public var clearedAs: String?
    /// A clean verdict decided before the latest known-content reference was added: the local
    /// known-content match runs again (no provider call), and a strong match flags.
    public var predatesReferences: Bool
    public init(scanSeq: UInt64, flagged: Bool, recordedAt: Int64, clearedAs: String? = nil, predatesReferences: Bool = false) {
        self.scanSeq = scanSeq
        self.flagged = flagged
        self.recordedAt = recordedAt
        self.clearedAs = clearedAs
        self.predatesReferences = predatesReferences
    }

    /// Whether the local known-content match must run before this verdict is reused.
    public var needsKnownContentCheck: Bool { !flagged && predatesReferences }
}

/// What operators have decided about an uploader before.
public struct UploaderTrust: Sendable, Equatable {
    public var originalArtist: Int
    public var confirmedViolations: Int
    public init(originalArtist: Int, confirmedViolations: Int) {
        self.originalArtist = originalArtist
        self.confirmedViolations = confirmedViolations
    }
}

/// Everything known about an upload before anything is paid for.
public struct ScanFacts: Sendable, Equatable {
    public var durationSeconds: Int?
    /// `request` or `probe`.
    public var durationSource: String?
    public var cached: CachedVerdict?
    public var trust: UploaderTrust?
    /// Local known-content matches (strong ones flag without a provider call).
    public var known: [KnownMatch]
    /// Now, in Unix seconds (the cache's clock).
    public var now: Int64

    public init(
        durationSeconds: Int? = nil, durationSource: String? = nil, cached: CachedVerdict? = nil, trust: UploaderTrust? = nil,
        known: [KnownMatch] = [], now: Int64 = 0
    ) {
        self.durationSeconds = durationSeconds
        self.durationSource = durationSource ?? (durationSeconds == nil ? nil : "request")
        self.cached = cached
        self.trust = trust
        self.known = known
        self.now = now
    }
}

/// What to do for one upload: reuse a verdict, flag locally, or call the provider with these passes.
public struct ScanPlan: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case full, sampled, spotCheck = "spot-check", cacheHit = "cache-hit", knownContent = "known-content"
    }

    public var kind: Kind
    public var record: ScanPlanRecord
    /// Provider passes in order: the first is always run; the others only to escalate. Their
    /// chunk sets are disjoint.
    public var passes: [AuddParams]
    public var maxEscalations: Int
    /// What a full scan would cost (nil: duration unknown).
    public var fullScanRequests: Int?
    /// For `cacheHit`: the verdict reused.
    public var cached: CachedVerdict?

    /// A provider call is sampled when it does not cover every chunk.
    public var isSampled: Bool { kind == .sampled || kind == .spotCheck }
    public var callsProvider: Bool { !passes.isEmpty }
}

/// The scan-plan policy: a pure function of what is known before paying (duration, verdict
/// cache, local known-content matches, uploader history) and the configuration. The result is
/// recorded in the scan event, so every decision can be re-derived from the log.
///
/// Order: a cached verdict for the same bytes (flagged ones forever, clean ones within the TTL;
/// a clean one decided before the latest reference yields to a strong local match) →
/// a strong local known-content match (flag, no request) → a trusted uploader's spot check → the
/// duration tier (full, or sampled with a hard limit spread over the whole upload).
public struct ScanPlanner: Sendable {
    public var config: ScanPlanConfig
    public init(config: ScanPlanConfig) { self.config = config }

    public func plan(_ facts: ScanFacts) -> ScanPlan {
        let mode = config.mode.rawValue
        let full = facts.durationSeconds.map { AuddParams.fullScanRequests(durationSeconds: $0) }
        func record(_ kind: ScanPlan.Kind, _ reason: String, tier: String? = nil, params: AuddParams? = nil, escalations: Int = 0) -> ScanPlanRecord {
            ScanPlanRecord(
                mode: mode, kind: kind.rawValue, reason: reason, durationSeconds: facts.durationSeconds,
                durationSource: facts.durationSource, tier: tier, params: params, maxEscalations: escalations)
        }
        var notes: [String] = []
        let strongKnown = facts.known.filter({ $0.verdict == "flag" }).max(by: { $0.matchedMs < $1.matchedMs })

        if let c = facts.cached, !(c.needsKnownContentCheck && strongKnown != nil) {
            let age = facts.now - c.recordedAt
            if c.flagged || c.clearedAs != nil || age < config.cleanVerdictTTLSeconds {
                let what =
                    c.flagged ? "flagged"
                    : c.clearedAs.map { "clean (an operator cleared its flag as \($0))" }
                    ?? "clean (\(Self.days(age)) old, reused up to \(Self.days(config.cleanVerdictTTLSeconds)))"
                return ScanPlan(
                    kind: .cacheHit, record: record(.cacheHit, "same bytes as scan seq \(c.scanSeq): \(what)"), passes: [],
                    maxEscalations: 0, fullScanRequests: full, cached: c)
            }
            notes.append("the clean verdict of scan seq \(c.scanSeq) expired (\(Self.days(age)) old)")
        }

        if let strong = strongKnown {
            let reason = "known content: reference \(strong.refId) matched for \(strong.matchedMs / 1000) s at \(strong.uploadOffsetMs / 1000) s (BER \(Self.ber(strong.berBasisPoints)))"
            return ScanPlan(kind: .knownContent, record: record(.knownContent, reason), passes: [], maxEscalations: 0, fullScanRequests: full)
        }
        if let borderline = facts.known.first(where: { $0.verdict == "review" }) {
            notes.append("borderline known-content match of \(borderline.refId) (BER \(Self.ber(borderline.berBasisPoints))) sent to review")
        }

        if config.mode != .full, config.trustMinOriginalArtist > 0, let t = facts.trust,
            t.originalArtist >= config.trustMinOriginalArtist, t.confirmedViolations == 0
        {
            let passes = Self.passes(config.spotCheck, durationSeconds: facts.durationSeconds)
            notes.insert("trusted uploader (\(t.originalArtist) original-artist resolution\(t.originalArtist == 1 ? "" : "s"), no confirmed violation): spot check", at: 0)
            return ScanPlan(
                kind: .spotCheck,
                record: record(.spotCheck, notes.joined(separator: "; "), tier: "spot-check " + config.spotCheck.description, params: passes[0],
                    escalations: min(config.maxEscalations, passes.count - 1)),
                passes: passes, maxEscalations: min(config.maxEscalations, passes.count - 1), fullScanRequests: full)
        }

        guard let d = facts.durationSeconds else {
            // No duration: sample like the longest tier, capped by its limit (or 60).
            var tier = config.tiers[config.tiers.count - 1]
            if tier.isFull { tier = ScanTier(upToSeconds: nil, every: 1, skip: 0, limit: 60) }
            if tier.limit == nil { tier.limit = 60 }
            let passes = Self.passes(tier, durationSeconds: nil)
            notes.insert("duration unknown: sampled as the longest tier, at most \(tier.limit!) requests", at: 0)
            return ScanPlan(
                kind: .sampled,
                record: record(.sampled, notes.joined(separator: "; "), tier: tier.description, params: passes[0],
                    escalations: min(config.maxEscalations, passes.count - 1)),
                passes: passes, maxEscalations: min(config.maxEscalations, passes.count - 1), fullScanRequests: nil)
        }
        let tier = config.tier(for: d)
        let passes = Self.passes(tier, durationSeconds: d)
        let billed = passes[0].billedRequests(durationSeconds: d)
        if passes.count == 1, billed >= full ?? 0 {
            notes.insert("\(d) s: full scan (tier \(tier.description))", at: 0)
            return ScanPlan(
                kind: .full, record: record(.full, notes.joined(separator: "; "), tier: tier.description, params: passes[0]),
                passes: passes, maxEscalations: 0, fullScanRequests: full)
        }
        let escalations = min(config.maxEscalations, passes.count - 1)
        notes.insert(
            "\(d) s: sampled 1 chunk run in \(passes.count) (tier \(tier.description)): \(billed) of \(full ?? 0) requests, up to \(escalations) complementary pass\(escalations == 1 ? "" : "es") if inconclusive",
            at: 0)
        return ScanPlan(
            kind: .sampled, record: record(.sampled, notes.joined(separator: "; "), tier: tier.description, params: passes[0], escalations: escalations),
            passes: passes, maxEscalations: escalations, fullScanRequests: full)
    }

    /// The complementary passes of a tier: the same skip/every, `skip_first_seconds` shifted by
    /// one run each time, so together they tile every chunk exactly once. With a known duration
    /// the skip grows until `limit` chunks reach the end of the upload.
    static func passes(_ tier: ScanTier, durationSeconds: Int?) -> [AuddParams] {
        let chunks = durationSeconds.map { AuddParams.fullScanRequests(durationSeconds: $0) }
        if tier.isFull {
            return [AuddParams(skip: 0, every: 1, limit: chunks, skipFirstSeconds: 0)]
        }
        let every = tier.every
        var period = every + tier.skip
        if let limit = tier.limit, let n = chunks {
            let runs = max(1, limit / every)  // runs that fit the limit
            let needed = (n + runs - 1) / runs  // period so that `runs` runs reach the end
            if needed > period { period = (needed + every - 1) / every * every }
        }
        let limit = tier.limit ?? chunks
        let skip = period - every
        let count = period / every
        return (0..<count).map { k in
            AuddParams(skip: skip, every: every, limit: limit, skipFirstSeconds: k * every * AuddParams.secondsPerChunk)
        }.filter { p in
            // A pass starting beyond the end scans nothing.
            durationSeconds.map { p.skipFirstSeconds < $0 } ?? true
        }
    }

    static func days(_ seconds: Int64) -> String {
        seconds >= 86_400 ? "\(seconds / 86_400) d" : seconds >= 3600 ? "\(seconds / 3600) h" : "\(max(0, seconds)) s"
    }

    static func ber(_ bp: Int) -> String {
        let whole = bp / 10_000
        let frac = bp % 10_000
        return "\(whole)." + String(repeating: "0", count: 4 - String(frac).count) + String(frac)
    }
}
