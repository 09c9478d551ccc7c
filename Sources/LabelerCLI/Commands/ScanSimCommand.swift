import ArgumentParser
import Foundation
import LabelerServer

extension DebugCommand {
    /// `labeler debug scan-sim`: the issue 9 benchmark. A synthetic month of uploads scanned in
    /// every mode against a simulated AuDD that bills like the real one, and the known-content
    /// index's matching time at 10,000 references. Prints Markdown (BENCHMARKS.md, "Issue 9").
    struct ScanSim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "scan-sim", abstract: "Scan cost and recall over a synthetic month; index matching time.")
        @Option(help: "Uploads in the month.") var uploads = 2000
        @Option(help: "Seed of the month.") var seed: UInt64 = 1
        @Option(help: "References in the matching-time index (0 skips it).") var references = 10_000
        @Option(help: "Where the benchmark index is built (removed afterwards).") var dir = NSTemporaryDirectory()

        func run() async throws {
            var o = ScanSimulation.Options()
            o.uploads = uploads
            o.seed = seed
            let month = ScanSimulation.month(o)
            var counts: [ScanSimulation.Kind: Int] = [:]
            for u in month { counts[u.kind, default: 0] += 1 }
            print("## Synthetic month: \(uploads) uploads (seed \(seed))\n")
            print("| kind | uploads |\n| --- | ---: |")
            for k in ScanSimulation.Kind.allCases { print("| \(k.rawValue) | \(counts[k] ?? 0) |") }

            var results: [ScanSimulation.Result] = []
            for mode in ScanMode.allCases {
                results.append(try await ScanSimulation.run(month, config: ScanPlanConfig(mode: mode), options: o))
            }
            let baseline = results[0].fullScanRequests
            func f(_ x: Double) -> String { String(format: "%.2f", x) }
            func perUpload(_ r: ScanSimulation.KindResult) -> String { r.uploads == 0 ? "–" : f(Double(r.requests) / Double(r.uploads)) }
            func factor(_ full: Int, _ billed: Int) -> String { billed == 0 ? (full == 0 ? "–" : "∞") : f(Double(full) / Double(billed)) + "×" }
            let newTracks: [ScanSimulation.Kind] = [.trackOriginal, .trackCopy, .trackSample]
            let sets: [ScanSimulation.Kind] = [.setMix, .setOriginal, .setWithCopy]
            let reuploads: [ScanSimulation.Kind] = [.reuploadSame, .reuploadReencode]

            print("\n## Requests per upload (full-scan baseline: \(f(Double(baseline) / Double(month.count))) per upload)\n")
            print("| mode | all uploads | cheaper than full scans | new 4-min tracks | 40-min sets | sets cheaper | re-uploads | escalated scans |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for r in results {
                let all = r.sum(ScanSimulation.Kind.allCases)
                let s = r.sum(sets)
                print("| \(r.mode) | \(perUpload(all)) | \(factor(all.fullScanRequests, all.requests)) | \(perUpload(r.sum(newTracks))) | \(perUpload(s)) | \(factor(s.fullScanRequests, s.requests)) | \(perUpload(r.sum(reuploads))) | \(all.escalated) |")
            }
            print("\n## Recall (share flagged)\n")
            print("| mode | " + ScanSimulation.Kind.allCases.map(\.rawValue).joined(separator: " | ") + " |")
            print("| --- |" + String(repeating: " ---: |", count: ScanSimulation.Kind.allCases.count))
            for r in results {
                let cells = ScanSimulation.Kind.allCases.map { k -> String in
                    let v = r.byKind[k] ?? ScanSimulation.KindResult()
                    return v.uploads == 0 ? "–" : "\(v.flagged)/\(v.uploads)"
                }
                print("| \(r.mode) | " + cells.joined(separator: " | ") + " |")
            }

            guard references > 0 else { return }
            print("\n## Known-content matching at \(references) references\n")
            print("| load | build | data.mdb | 3-min copy (BER 0.02) | 40-min set with 2 references | unrelated 4-min | found |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
            for pessimistic in [false, true] {
                let path = (dir.hasSuffix("/") ? dir : dir + "/") + "labeler-index-bench-" + UUID().uuidString
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: path) }
                let r = try KnownContentBenchmark.run(references: references, pessimistic: pessimistic, directory: path)
                print(
                    "| \(pessimistic ? "pessimistic key collisions (1.3e-2/item/track)" : "uniform keys") | \(f(r.buildSeconds)) s | \(r.indexBytes >> 20) MiB | \(f(r.copyMs)) ms | \(f(r.setMs)) ms | \(f(r.unrelatedMs)) ms | copies \(r.copiesFound)/\(r.copiesTried), set references \(r.setRefsFound)/\(r.setRefsTried), false matches \(r.unrelatedFalseMatches) |")
            }
        }
    }
}
