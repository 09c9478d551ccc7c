import Foundation
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Replay
import Testing

struct OnlineRebuildTests {
    /// `labeler replay rebuild` (another process) while the server runs and takes emits: the
    /// rebuild switches in as one transaction, no emit is lost, and the result verifies.
    @Test func rebuildWhileServingLosesNothing() async throws {
        let dir = TempDir()
        let binary = productsDirectory().appendingPathComponent("labeler")
        try #require(FileManager.default.fileExists(atPath: binary.path))
        try await Harness.run(dir: dir) { h in
            for i in 0..<300 { try await h.emit("at://did:plc:online/fm.plyr.track/\(i)") }
            let writer = Task {
                var seqs: [UInt64] = []
                for i in 0..<200 { seqs.append(try await h.emit("at://did:plc:online/fm.plyr.track/during\(i)")) }
                return seqs
            }
            let process = Process()
            process.executableURL = binary
            process.arguments = ["replay", "rebuild", "--data-dir", dir.path]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            process.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(text)")
            #expect(text.contains("one transaction"), "\(text)")
            _ = try await writer.value
            let all = try await h.queryAll(["at://did:plc:online/*"], limit: 250)
            #expect(all.count == 500)
        }
        let report = try Verify.run(dataDir: dir.path)
        #expect(report.ok, "\(String(describing: report.fault)) \(report.projectionMismatches)")
    }
}
