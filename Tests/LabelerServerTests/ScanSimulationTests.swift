import Foundation
import LabelerServer
import Testing

/// The issue 9 targets over the synthetic month (the same code as `labeler debug scan-sim`).
struct ScanSimulationTests {
    @Test(arguments: [1, 2] as [UInt64])
    func everyModeMeetsItsTargetsWithoutMissingACopyOrAMix(seed: UInt64) async throws {
        var o = ScanSimulation.Options()
        o.seed = seed
        let month = ScanSimulation.month(o)
        #expect(month.count == 2000)
        let sets = month.filter { $0.kind.isSet }.count, tracks = month.filter { $0.duration < 600 && $0.source == nil }.count
        #expect(abs(Double(tracks) / Double(tracks + sets) - 0.88) < 0.03, "88 % four-minute tracks among new uploads")
        #expect(abs(Double(month.filter { $0.source != nil }.count) / 2000 - 0.2) < 0.03, "20 % re-uploads")
        var factors: [String: Double] = [:]
        for mode in ScanMode.allCases {
            let r = try await ScanSimulation.run(month, config: ScanPlanConfig(mode: mode), options: o)
            let all = r.sum(ScanSimulation.Kind.allCases)
            factors[mode.rawValue] = Double(all.fullScanRequests) / Double(all.requests)
            for k in [ScanSimulation.Kind.trackCopy, .setMix, .reuploadReencode] {
                let v = try #require(r.byKind[k])
                #expect(v.flagged == v.uploads, "\(mode) \(k.rawValue): \(v.flagged)/\(v.uploads)")
            }
            let re = r.sum([.reuploadSame, .reuploadReencode])
            #expect(Double(re.requests) / Double(re.uploads) < 0.5, "re-uploads cost ≈ 0 (\(mode))")
            if mode != .full {
                let s = r.sum([.setMix, .setOriginal, .setWithCopy])
                #expect(Double(s.fullScanRequests) / Double(s.requests) >= 10, "long uploads ≥ 10× cheaper (\(mode))")
                #expect(r.byKind[.setOriginal]?.flagged == 0, "no noise flags on sampled originals (\(mode))")
            }
        }
        #expect(factors["balanced"]! >= 1.9 && factors["budget"]! >= 4)
    }
}
