import EventLog
import Foundation
import LabelerCore
@testable import LabelerServer
import Testing

/// The pure scan-plan policy: AuDD's billing arithmetic, tiers per mode, complementary passes,
/// pre-filters (cache, known content, trust), the sampling-aware flag rule and escalation.
struct ScanPlanTests {
    static let balanced = ScanPlanner(config: ScanPlanConfig(mode: .balanced))
    static let budget = ScanPlanner(config: ScanPlanConfig(mode: .budget))
    static let full = ScanPlanner(config: ScanPlanConfig(mode: .full))

    // MARK: billing

    @Test func billingCountsScannedChunks() {
        // 4 min = 20 chunks.
        #expect(AuddParams().billedRequests(durationSeconds: 240) == 20)
        #expect(AuddParams(skip: 2).billedRequests(durationSeconds: 240) == 7)  // 0,3,…,18
        #expect(AuddParams(skip: 4).billedRequests(durationSeconds: 240) == 4)
        #expect(AuddParams(skip: 4, every: 2).billedRequests(durationSeconds: 240) == 8)  // {0,1},{6,7},{12,13},{18,19}
        #expect(AuddParams(skip: 2, limit: 5).billedRequests(durationSeconds: 240) == 5)
        // skip_first_seconds removes ⌈N/12⌉ chunks from the front.
        #expect(AuddParams(skipFirstSeconds: 12).billedRequests(durationSeconds: 240) == 19)
        #expect(AuddParams(skipFirstSeconds: 240).billedRequests(durationSeconds: 240) == 0)
        #expect(AuddParams().billedRequests(durationSeconds: 1) == 1)
        #expect(AuddParams.fullScanRequests(durationSeconds: 3 * 3600) == 900)
        // The closed form agrees with enumerating the chunks, for many shapes.
        for d in [1, 11, 12, 13, 100, 239, 241, 2400, 10_801] {
            for (skip, every) in [(0, 1), (2, 1), (4, 1), (4, 2), (9, 3)] {
                for limit in [nil, 1, 7, 60] as [Int?] {
                    for sfs in [0, 12, 36, 50] {
                        let p = AuddParams(skip: skip, every: every, limit: limit, skipFirstSeconds: sfs)
                        #expect(p.billedRequests(durationSeconds: d) == p.scannedChunkStarts(durationSeconds: d).count, "\(p.summary) d=\(d)")
                    }
                }
            }
        }
        #expect(AuddParams(skip: 4, skipFirstSeconds: 24).scannedChunkStarts(durationSeconds: 150) == [24, 84, 144])
    }

    // MARK: tiers and passes

    @Test func balancedScansShortTracksInFullAndSamplesLongOnesWithAHardCap() throws {
        let track = Self.balanced.plan(ScanFacts(durationSeconds: 240))
        #expect(track.kind == .full && track.passes == [AuddParams(skip: 0, every: 1, limit: 20)] && track.fullScanRequests == 20)
        #expect(track.record.tier == "480=full" && track.record.durationSource == "request")

        let set = Self.balanced.plan(ScanFacts(durationSeconds: 2400))  // 40 min, 200 chunks
        #expect(set.kind == .sampled && set.fullScanRequests == 200)
        let first = try #require(set.passes.first)
        #expect(first.billedRequests(durationSeconds: 2400) * 10 <= 200, "a 40-min set costs at most a tenth")
        #expect(set.maxEscalations == 2 && set.record.maxEscalations == 2)

        let day = Self.balanced.plan(ScanFacts(durationSeconds: 24 * 3600))
        for p in day.passes { #expect(p.billedRequests(durationSeconds: 24 * 3600) <= 60) }
        // The limit is spread over the whole upload: the last sample is in the last stride.
        let starts = day.passes[0].scannedChunkStarts(durationSeconds: 24 * 3600)
        #expect(starts.count == 60 && starts.last! >= 24 * 3600 - (day.passes[0].skip + 1) * 12)

        let mid = Self.balanced.plan(ScanFacts(durationSeconds: 20 * 60))  // 100 chunks, 1 in 3
        #expect(mid.passes[0] == AuddParams(skip: 2, every: 1, limit: 50) && mid.passes.count == 3)
    }

    @Test func budgetSamplesTracksAndFullScansEverything() {
        let track = Self.budget.plan(ScanFacts(durationSeconds: 240))
        #expect(track.kind == .sampled && track.passes[0].billedRequests(durationSeconds: 240) == 7)
        #expect(Self.budget.plan(ScanFacts(durationSeconds: 2400)).passes[0].billedRequests(durationSeconds: 2400) <= 14)
        let all = Self.full.plan(ScanFacts(durationSeconds: 3 * 3600))
        #expect(all.kind == .full && all.passes.count == 1 && all.passes[0].billedRequests(durationSeconds: 3 * 3600) == 900)
    }

    @Test(arguments: [240, 600, 2400, 3 * 3600 + 7, 24 * 3600])
    func complementaryPassesTileEveryChunkExactlyOnce(duration: Int) {
        for planner in [Self.balanced, Self.budget] {
            let plan = planner.plan(ScanFacts(durationSeconds: duration))
            var seen: [Int: Int] = [:]
            for p in plan.passes {
                #expect(p.limit != nil, "every call carries a limit")
                for s in p.scannedChunkStarts(durationSeconds: duration) { seen[s, default: 0] += 1 }
            }
            #expect(seen.values.allSatisfy { $0 == 1 }, "no chunk paid twice")
            #expect(seen.count == AuddParams.fullScanRequests(durationSeconds: duration), "all passes together = a full scan")
            #expect(Set(seen.keys) == Set(stride(from: 0, to: duration, by: 12)))
        }
    }

    @Test func unknownDurationIsCappedByTheLongTier() {
        let plan = Self.balanced.plan(ScanFacts())
        #expect(plan.kind == .sampled && plan.fullScanRequests == nil && plan.passes[0].limit == 60)
        #expect(plan.record.reason.hasPrefix("duration unknown"))
        let full = Self.full.plan(ScanFacts())
        #expect(full.passes[0].limit == 60, "even a full-mode scan of unknown length has a worst-case price")
    }

    @Test func tiersParseAndRefuseNonsense() throws {
        let tiers = try ScanTier.parseList("300=full, 1200=1/2@40, *=2/8@50")
        #expect(tiers == [.full(upTo: 300), ScanTier(upToSeconds: 1200, every: 1, skip: 2, limit: 40), ScanTier(upToSeconds: nil, every: 2, skip: 8, limit: 50)])
        #expect(tiers.map(\.description).joined(separator: ",") == "300=full,1200=1/2@40,*=2/8@50")
        for bad in ["", "300=full", "*=full,300=full", "600=full,300=1/2,*=full", "x=full,*=full", "*=2/3@10", "*=1/2@0", "*=half"] {
            #expect(throws: ScanConfigError.self, "\(bad)") { try ScanTier.parseList(bad) }
        }
        // Through the environment, with the other settings.
        let s = try ScanSettings.resolve(["SCAN_MODE": "budget", "SCAN_TIERS": "*=1/9@30", "SCAN_CLEAN_TTL_DAYS": "7", "SCAN_SPOT_CHECK": "1/9@5"])
        #expect(s.plan.mode == .budget && s.plan.tiers.count == 1 && s.plan.cleanVerdictTTLSeconds == 7 * 86_400)
        #expect(s.plan.spotCheck.limit == 5 && s.plan.spotCheck.skip == 9)
        #expect(throws: ScanConfigError.self) { try ScanSettings.resolve(["SCAN_MODE": "cheap"]) }
        #expect(throws: ScanConfigError.self) { try ScanSettings.resolve(["KNOWN_FLAG_BER": "0.2", "KNOWN_REVIEW_BER": "0.1"]) }
        #expect(throws: ScanConfigError.self) { try ScanSettings.resolve(["SCAN_SPOT_CHECK": "full"]) }
    }

    // MARK: pre-filters

    @Test func cachedVerdictsAreFreeAndCleanOnesExpire() {
        let now: Int64 = 1_800_000_000
        let flagged = Self.balanced.plan(ScanFacts(durationSeconds: 240, cached: CachedVerdict(scanSeq: 7, flagged: true, recordedAt: now - 400 * 86_400), now: now))
        #expect(flagged.kind == .cacheHit && flagged.passes.isEmpty && flagged.cached?.scanSeq == 7 && flagged.fullScanRequests == 20)
        #expect(flagged.record.reason == "same bytes as scan seq 7: flagged")
        let clean = Self.full.plan(ScanFacts(durationSeconds: 240, cached: CachedVerdict(scanSeq: 8, flagged: false, recordedAt: now - 10 * 86_400), now: now))
        #expect(clean.kind == .cacheHit)
        let old = Self.balanced.plan(ScanFacts(durationSeconds: 240, cached: CachedVerdict(scanSeq: 9, flagged: false, recordedAt: now - 91 * 86_400), now: now))
        #expect(old.kind == .full && old.record.reason.contains("the clean verdict of scan seq 9 expired (91 d old)"))
    }

    @Test func strongKnownContentFlagsLocallyAndBorderlineGoesToReview() {
        let strong = KnownMatch(refId: "r1", uploadOffsetMs: 30_000, referenceOffsetMs: 0, matchedMs: 60_000, berBasisPoints: 120, verdict: "flag")
        let weak = KnownMatch(refId: "r2", uploadOffsetMs: 0, referenceOffsetMs: 0, matchedMs: 25_000, berBasisPoints: 800, verdict: "review")
        let p = Self.balanced.plan(ScanFacts(durationSeconds: 2400, known: [weak, strong]))
        #expect(p.kind == .knownContent && p.passes.isEmpty && p.fullScanRequests == 200)
        #expect(p.record.reason == "known content: reference r1 matched for 60 s at 30 s (BER 0.0120)")
        let b = Self.balanced.plan(ScanFacts(durationSeconds: 240, known: [weak]))
        #expect(b.kind == .full && b.record.reason.contains("borderline known-content match of r2 (BER 0.0800) sent to review"))
    }

    @Test func aCleanVerdictOlderThanTheLatestReferenceYieldsToAStrongLocalMatch() {
        let now: Int64 = 1_800_000_000
        let strong = KnownMatch(refId: "r1", uploadOffsetMs: 0, referenceOffsetMs: 0, matchedMs: 30_000, berBasisPoints: 120, verdict: "flag")
        let stale = CachedVerdict(scanSeq: 4, flagged: false, recordedAt: now - 86_400, predatesReferences: true)
        #expect(stale.needsKnownContentCheck)
        let p = Self.balanced.plan(ScanFacts(durationSeconds: 240, cached: stale, known: [strong], now: now))
        #expect(p.kind == .knownContent && p.passes.isEmpty)
        // No strong match: the clean verdict is reused, AuDD is not asked.
        #expect(Self.balanced.plan(ScanFacts(durationSeconds: 240, cached: stale, now: now)).kind == .cacheHit)
        // A verdict newer than every reference, or a flagged one, is reused as before.
        var fresh = stale
        fresh.predatesReferences = false
        #expect(!fresh.needsKnownContentCheck && !CachedVerdict(scanSeq: 4, flagged: true, recordedAt: 0, predatesReferences: true).needsKnownContentCheck)
    }

    @Test func trustedUploadersGetASpotCheck() {
        let trusted = UploaderTrust(originalArtist: 1, confirmedViolations: 0)
        let p = Self.balanced.plan(ScanFacts(durationSeconds: 240, trust: trusted))
        #expect(p.kind == .spotCheck && p.isSampled)
        #expect(p.passes[0].billedRequests(durationSeconds: 240) == 4 && p.passes[0].limit == 10)
        #expect(p.record.reason.hasPrefix("trusted uploader (1 original-artist resolution, no confirmed violation): spot check"))
        let long = Self.balanced.plan(ScanFacts(durationSeconds: 3 * 3600, trust: trusted))
        #expect(long.passes[0].billedRequests(durationSeconds: 3 * 3600) == 10)
        // A confirmed violation ends the trust; full mode never trusts; 0 turns it off.
        #expect(Self.balanced.plan(ScanFacts(durationSeconds: 240, trust: UploaderTrust(originalArtist: 5, confirmedViolations: 1))).kind == .full)
        #expect(Self.full.plan(ScanFacts(durationSeconds: 240, trust: trusted)).kind == .full)
        var off = ScanPlanConfig(mode: .balanced)
        off.trustMinOriginalArtist = 0
        #expect(ScanPlanner(config: off).plan(ScanFacts(durationSeconds: 240, trust: trusted)).kind == .full)
    }

    // MARK: the sampling-aware flag rule

    static func m(_ song: String, at seconds: Int) -> ScanMatch {
        ScanMatch(artist: "Artist \(song)", title: "Song \(song)", offsetMs: seconds * 1000, score: 0)
    }

    @Test func aSampledMixFlagsOnCoverageWhereThreePositionsPerSongNeverFires() {
        // A 1-h mix of 20 three-minute songs sampled 1 in 10 (30 chunks): each song hit 1–2 times.
        var matches: [ScanMatch] = []
        for chunk in 0..<30 where chunk % 3 != 2 {
            matches.append(Self.m("\(chunk * 120 / 180)", at: chunk * 120))
        }
        let policy = FlagPolicy(rule: .dominant)
        let unaware = policy.decide(matches)
        #expect(!unaware.isFlagged && unaware.sustainedSongs == 0, "rule A: no song at 3 positions")
        let aware = policy.decide(matches, scannedChunks: 30)
        #expect(aware.isFlagged)
        #expect(aware.reason == "mix: 10 songs in 20 of 30 scanned chunks (≥ 25%)")
        // On a sampled scan one matched chunk is not enough for a dominant song (noise does not
        // repeat; a copy does), on a full scan it still is.
        let once = [Self.m("A", at: 600)]
        let thin = policy.decide(once, scannedChunks: 30, sampled: true)
        #expect(!thin.isFlagged && thin.reason.contains("but 1 matched chunk < 2 on a sampled scan"))
        #expect(policy.decide(once + [Self.m("A", at: 612)], scannedChunks: 31, sampled: true).isFlagged)
        #expect(policy.decide(once, scannedChunks: 20).isFlagged)
        // An original with four stray matches in 30 sampled chunks is not a mix.
        let stray = policy.decide([Self.m("A", at: 0), Self.m("B", at: 600), Self.m("C", at: 1200), Self.m("D", at: 1800)], scannedChunks: 30)
        #expect(!stray.isFlagged)
        #expect(policy.description == "dominant(threshold=0.3,mix=3x3|3@25%)")
    }

    // MARK: escalation

    /// A scripted provider: which song is at which seconds; every scanned chunk that starts inside
    /// a song's span matches it.
    static func provider(_ truth: [(String, Range<Int>)], duration: Int, log: LockedCalls) -> (AuddParams) async throws -> ScanOutcome {
        { params in
            log.append(params)
            let matches = params.scannedChunkStarts(durationSeconds: duration).compactMap { start in
                truth.first { $0.1.contains(start) }.map { Self.m($0.0, at: start) }
            }
            return ScanOutcome(matches: matches, rawResponse: [])
        }
    }

    @Test func inconclusiveSampledPassesEscalateWithoutPayingTwice() async throws {
        // A 40-min original with one copied 30-s excerpt: the first pass hits it once at most.
        let duration = 2400
        let plan = Self.balanced.plan(ScanFacts(durationSeconds: duration))
        let log = LockedCalls()
        let ex = try await ScanExecutor.run(
            plan: plan, policy: FlagPolicy(rule: .dominant), durationSeconds: duration, minEvidenceChunks: 3,
            call: Self.provider([("X", 0..<30)], duration: duration, log: log))
        #expect(log.calls.count == 3, "pass 0 plus the two allowed escalations")
        #expect(log.calls.map(\.skipFirstSeconds) == [0, 12, 24])
        #expect(ex.calls.map(\.pass) == [0, 1, 2])
        #expect(ex.billedRequests == log.calls.reduce(0) { $0 + $1.billedRequests(durationSeconds: duration) })
        #expect(ex.matches.count == 3 && ex.decision.isFlagged, "three chunks of the excerpt: dominant")
        #expect(ex.notes.first == "pass 0 inconclusive (1 matched chunk < 3): escalating")
        let starts = log.calls.flatMap { $0.scannedChunkStarts(durationSeconds: duration) }
        #expect(Set(starts).count == starts.count, "disjoint passes")

        // A clean upload and a clear mix decide on the first pass.
        let clean = LockedCalls()
        let c = try await ScanExecutor.run(
            plan: plan, policy: FlagPolicy(rule: .dominant), durationSeconds: duration, minEvidenceChunks: 3,
            call: Self.provider([], duration: duration, log: clean))
        #expect(clean.calls.count == 1 && !c.decision.isFlagged && c.billedRequests == plan.passes[0].billedRequests(durationSeconds: duration))
        let mixTruth = (0..<13).map { ("M\($0)", $0 * 180..<($0 + 1) * 180) }
        let mix = LockedCalls()
        let m = try await ScanExecutor.run(
            plan: plan, policy: FlagPolicy(rule: .dominant), durationSeconds: duration, minEvidenceChunks: 3,
            call: Self.provider(mixTruth, duration: duration, log: mix))
        #expect(mix.calls.count == 1 && m.decision.isFlagged && m.decision.reason.hasPrefix("mix:"))

        // A full scan never escalates.
        let track = Self.balanced.plan(ScanFacts(durationSeconds: 240))
        let one = LockedCalls()
        _ = try await ScanExecutor.run(
            plan: track, policy: FlagPolicy(rule: .dominant), durationSeconds: 240, minEvidenceChunks: 3,
            call: Self.provider([("X", 0..<12)], duration: 240, log: one))
        #expect(one.calls.count == 1)
    }

    @Test func aFailedEscalationKeepsWhatTheFirstPassFound() async throws {
        let plan = Self.balanced.plan(ScanFacts(durationSeconds: 2400))
        let calls = LockedCalls()
        let ex = try await ScanExecutor.run(
            plan: plan, policy: FlagPolicy(rule: .dominant), durationSeconds: 2400, minEvidenceChunks: 3
        ) { params in
            calls.append(params)
            if params.skipFirstSeconds > 0 { throw ScanFailure(.timeout, "AuDD did not answer within 1 s") }
            return ScanOutcome(matches: [Self.m("X", at: 0)], rawResponse: [])
        }
        #expect(ex.calls.count == 2 && ex.calls[1].error == "AuDD did not answer within 1 s" && ex.calls[1].billedRequests == 0)
        #expect(ex.matches.count == 1 && ex.notes.contains("escalation pass 1 failed: AuDD did not answer within 1 s"))
        // The first pass failing fails the scan.
        await #expect(throws: ScanFailure.self) {
            _ = try await ScanExecutor.run(plan: plan, policy: FlagPolicy(rule: .dominant), durationSeconds: 2400, minEvidenceChunks: 3) { _ in
                throw ScanFailure(.unreachable, "down")
            }
        }
    }

    // MARK: the event

    @Test func scanEventsOfVersionTwoReadAsFullScans() throws {
        let v2 = ScanRecorded(scanId: "s", audioURL: "https://a/x.mp3", status: .ok, estimatedRequests: 20)
        var payload = try CBOREncoder().encodeValue(v2)
        guard case .map(var m) = payload else { Issue.record("not a map"); return }
        for k in ["plan", "calls", "fullScanRequests", "scannedChunks"] { m[k] = nil }
        payload = .map(m)
        let env = EventEnvelope(seq: 5, recordedAt: 0, type: ScanRecorded.eventType, v: 2, actor: "scanner", payload: payload, prev: EventEnvelope.genesisPrev)
        guard case .scanRecorded(let s) = try LabelerEvent.decode(env) else { Issue.record("not a scan"); return }
        #expect(s.plan?.kind == "full" && s.plan?.mode == "full" && s.fullScanRequests == 20 && s.scannedChunks == 20 && s.estimatedRequests == 20)
        let failedPayload = try CBOREncoder().encodeValue(ScanRecorded(scanId: "f", audioURL: "https://a/x.mp3", status: .failed, error: "x"))
        let env2 = EventEnvelope(seq: 6, recordedAt: 0, type: ScanRecorded.eventType, v: 2, actor: "scanner", payload: failedPayload, prev: EventEnvelope.genesisPrev)
        guard case .scanRecorded(let f) = try LabelerEvent.decode(env2) else { Issue.record("not a scan"); return }
        #expect(f.plan?.kind == "none" && f.fullScanRequests == nil)
        // v3 round-trips every new field.
        let v3 = ScanRecorded(
            scanId: "n", audioURL: "https://a/x.mp3", status: .ok, estimatedRequests: 17,
            plan: ScanPlanRecord(mode: "balanced", kind: "sampled", reason: "r", durationSeconds: 2400, durationSource: "probe", tier: "*=1/11@60", params: AuddParams(skip: 11, limit: 60), maxEscalations: 2),
            calls: [AuddCall(pass: 0, params: AuddParams(skip: 11, limit: 60), billedRequests: 17, matchedChunks: 0)], fullScanRequests: 200,
            scannedChunks: 17, contentHash: "bafkreia", downloadedBytes: 10, cachedFromSeq: nil,
            knownMatches: [KnownMatch(refId: "r", uploadOffsetMs: 1, referenceOffsetMs: 2, matchedMs: 3, berBasisPoints: 4, verdict: "review")])
        let env3 = EventEnvelope(seq: 7, recordedAt: 0, type: ScanRecorded.eventType, v: 3, actor: "scanner", payload: try CBOREncoder().encodeValue(v3), prev: EventEnvelope.genesisPrev)
        #expect(try LabelerEvent.decode(env3) == .scanRecorded(v3))
    }
}

final class LockedCalls: @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [AuddParams] = []
    func append(_ p: AuddParams) { lock.withLock { _calls.append(p) } }
    var calls: [AuddParams] { lock.withLock { _calls } }
}
