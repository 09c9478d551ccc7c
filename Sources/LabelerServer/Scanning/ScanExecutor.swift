import EventLog

/// Runs a plan's provider passes: the first pass always, then complementary passes while the
/// evidence is inconclusive (a sampled scan with some, but fewer than `minEvidenceChunks`, matched
/// chunks), up to the plan's escalations. The decision is the flag policy over every match, with
/// the chunks actually scanned (so the coverage rule sees the sampling).
///
/// Shared by `POST /scan` and the scan simulation, so both pay and decide the same way.
public struct ScanExecution: Sendable {
    public var calls: [AuddCall] = []
    public var matches: [ScanMatch] = []
    public var rawResponses: [[UInt8]] = []
    public var decision: FlagDecision
    public var billedRequests: Int { calls.reduce(0) { $0 + $1.billedRequests } }
    public var scannedChunks: Int { calls.filter { $0.error == nil }.reduce(0) { $0 + $1.billedRequests } }
    /// Why escalation stopped or a later pass failed, for the record.
    public var notes: [String] = []
}

public enum ScanExecutor {
    /// Throws the first pass's failure (nothing to decide on); a later pass's failure is recorded
    /// in its call and the decision uses what the earlier passes found.
    public static func run(
        plan: ScanPlan, policy: FlagPolicy, durationSeconds: Int?, minEvidenceChunks: Int,
        call: (AuddParams) async throws -> ScanOutcome
    ) async throws -> ScanExecution {
        var ex = ScanExecution(decision: policy.decide([], scannedChunks: 0, sampled: plan.isSampled))
        var passIndex = 0
        while passIndex < plan.passes.count {
            let params = plan.passes[passIndex]
            let outcome: ScanOutcome
            do { outcome = try await call(params) } catch {
                if passIndex == 0 { throw error }
                let message = (error as? ScanFailure)?.message ?? "\(error)"
                // Whether AuDD billed a failed call is unknown: its dashboard is the reference.
                ex.calls.append(AuddCall(pass: passIndex, params: params, billedRequests: 0, matchedChunks: 0, error: message))
                ex.notes.append("escalation pass \(passIndex) failed: \(message)")
                break
            }
            let billed =
                durationSeconds.map { params.billedRequests(durationSeconds: $0) }
                ?? params.estimatedRequests(lastMatchOffsetMs: outcome.matches.compactMap(\.offsetMs).max())
            let chunks = Set(outcome.matches.map { $0.offsetMs.map { "o\($0)" } ?? "m" }).count
            ex.calls.append(AuddCall(pass: passIndex, params: params, billedRequests: billed, matchedChunks: chunks))
            ex.matches += outcome.matches
            ex.rawResponses.append(outcome.rawResponse)
            ex.decision = policy.decide(ex.matches, scannedChunks: ex.scannedChunks, sampled: plan.isSampled)

            let matched = MatchStats(ex.matches).segments
            let inconclusive = plan.isSampled && matched > 0 && matched < minEvidenceChunks
            guard inconclusive else { break }
            guard passIndex < plan.maxEscalations, passIndex + 1 < plan.passes.count else {
                if plan.passes.count > 1 { ex.notes.append("inconclusive after \(passIndex + 1) pass\(passIndex == 0 ? "" : "es") (\(matched) matched chunk\(matched == 1 ? "" : "s")); no escalation left") }
                break
            }
            ex.notes.append("pass \(passIndex) inconclusive (\(matched) matched chunk\(matched == 1 ? "" : "s") < \(minEvidenceChunks)): escalating")
            passIndex += 1
        }
        return ex
    }
}
