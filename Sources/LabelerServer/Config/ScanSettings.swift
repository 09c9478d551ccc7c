import Foundation
import Projections

/// Scan-cost configuration, from the environment (see README's configuration table).
public struct ScanSettings: Sendable, Equatable {
    public var plan = ScanPlanConfig(mode: .balanced)
    /// Downloads of the audio (for hashing, probing and fingerprinting).
    public var downloadMaxBytes = 512 << 20
    public var downloadTimeoutSeconds = 120
    /// Where downloads are written (a private directory per scan, removed afterwards).
    public var downloadDirectory = NSTemporaryDirectory()
    /// Whether downloads may reach loopback, link-local and private addresses (tests only).
    public var downloadAllowPrivate = false
    /// Local known-content matching (Chromaprint), thresholds from scan-cost.md §2.6.
    public var known = KnownContentThresholds()
    /// What 1,000 AuDD requests cost, for `GET /admin/costs` (indie plan overage: $5).
    public var usdPer1000Requests = 5.0

    public init() {}

    public static func resolve(_ env: [String: String]) throws(ScanConfigError) -> ScanSettings {
        var s = ScanSettings()
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        func int(_ k: String, _ range: ClosedRange<Int>) throws(ScanConfigError) -> Int? {
            guard let v = value(k) else { return nil }
            guard let i = Int(v), range.contains(i) else { throw ScanConfigError("\(k) must be an integer from \(range.lowerBound) to \(range.upperBound)") }
            return i
        }
        func double(_ k: String, _ range: ClosedRange<Double>) throws(ScanConfigError) -> Double? {
            guard let v = value(k) else { return nil }
            guard let d = Double(v), range.contains(d) else { throw ScanConfigError("\(k) must be a number from \(range.lowerBound) to \(range.upperBound)") }
            return d
        }
        if let m = value("SCAN_MODE") {
            guard let mode = ScanMode(rawValue: m) else { throw ScanConfigError("SCAN_MODE must be full, balanced or budget, not \(m)") }
            s.plan = ScanPlanConfig(mode: mode)
        }
        if let t = value("SCAN_TIERS") { s.plan.tiers = try ScanTier.parseList(t) }
        if let e = try int("SCAN_ESCALATIONS", 0...100) { s.plan.maxEscalations = e }
        if let e = try int("SCAN_MIN_EVIDENCE_CHUNKS", 1...100) { s.plan.minEvidenceChunks = e }
        if let t = try int("SCAN_TRUST_MIN_ORIGINAL", 0...1000) { s.plan.trustMinOriginalArtist = t }
        if let spot = value("SCAN_SPOT_CHECK") {
            guard let tier = try? ScanTier.parseList("*=" + spot).first, !tier.isFull, tier.limit != nil else {
                throw ScanConfigError("SCAN_SPOT_CHECK must be EVERY/SKIP@LIMIT, e.g. 1/4@10")
            }
            s.plan.spotCheck = tier
        }
        if let d = try int("SCAN_CLEAN_TTL_DAYS", 0...36_500) { s.plan.cleanVerdictTTLSeconds = Int64(d) * 86_400 }
        if let mb = try int("SCAN_DOWNLOAD_MAX_MB", 1...65_536) { s.downloadMaxBytes = mb << 20 }
        if let t = try int("SCAN_DOWNLOAD_TIMEOUT_SECONDS", 1...3600) { s.downloadTimeoutSeconds = t }
        if let a = value("SCAN_DOWNLOAD_ALLOW_PRIVATE") {
            guard a == "0" || a == "1" else { throw ScanConfigError("SCAN_DOWNLOAD_ALLOW_PRIVATE must be 0 or 1") }
            s.downloadAllowPrivate = a == "1"
        }
        if let d = value("SCAN_DOWNLOAD_DIR") {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                throw ScanConfigError("SCAN_DOWNLOAD_DIR is not a directory: \(d)")
            }
            s.downloadDirectory = d
        }
        if let v = try double("KNOWN_MATCH_SECONDS", 1...600) { s.known.minMatchSeconds = v }
        if let v = try double("KNOWN_FLAG_BER", 0...0.5) { s.known.flagBER = v }
        if let v = try double("KNOWN_REVIEW_BER", 0...0.5) { s.known.reviewBER = v }
        if let v = try double("KNOWN_EXCERPT_SECONDS", 1...600) { s.known.excerptSeconds = v }
        if let v = try int("KNOWN_MIN_VOTES", 1...10_000) { s.known.minVotes = v }
        guard s.known.flagBER <= s.known.reviewBER else { throw ScanConfigError("KNOWN_FLAG_BER must not exceed KNOWN_REVIEW_BER") }
        if let p = try double("AUDD_USD_PER_1000", 0...1000) { s.usdPer1000Requests = p }
        return s
    }
}

