import EventLog
import Foundation
import LabelerCore
@testable import LabelerServer
import LabelerTestSupport
import Testing

/// A failure after the download (the fingerprint table, the known-content index) is a recorded
/// failed scan, not a 500 that leaves no trace in the log.
struct ScanStorageFailureTests {
    @Test func aStorageErrorAfterTheDownloadIsRecordedAsAFailedScan() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                // A damaged fingerprint entry for the bytes about to be scanned: storing fails.
                let hash = blobCID(sha256: SHA256.hash(FakeAudd.wav(seconds: 240, seed: "clean.mp3")))
                let prints = h.service.fingerprints
                try prints.env.write { try $0.put(prints.db, Array(hash.utf8), [0xff, 0xff, 0xff]) }
                let head = h.service.log.head
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))","uri":"at://did:plc:x/fm.plyr.track/3kf"}"#)
                #expect(status == 500, "\(r)")
                let scans = try ScanDownloadTests.scans(h, from: head + 1)
                #expect(scans.count == 1, "the failure is in the log")
                let scan = try #require(scans.first?.scan)
                #expect(scan.status == .failed && scan.contentHash == hash && scan.estimatedRequests == 0)
                #expect(scan.error?.hasPrefix("storing or matching the fingerprint failed") == true, "\(scan.error ?? "")")
                #expect(audd.received.isEmpty)
            }
        }
    }
}
