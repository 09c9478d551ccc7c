import EventLog
import Foundation
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Testing

/// The labeler fetches the audio itself (hash, probe), and the verdict cache answers the same
/// bytes for free.
struct ScanDownloadTests {
    static let uri = "at://did:plc:artist1/fm.plyr.track/3kdl"
    static let other = "at://did:plc:artist2/fm.plyr.track/3kreupload"

    static func scans(_ h: Harness, from seq: UInt64) throws -> [(seq: UInt64, scan: ScanRecorded)] {
        try ScanTests.events(h, from: seq).compactMap { e in ScanTests.scanEvent(e.event).map { (e.seq, $0) } }
    }

    @Test func theAudioIsHashedProbedAndRemoved() async throws {
        let downloads = TempDir()
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["SCAN_DOWNLOAD_DIR": downloads.path]) { h in
                let head = h.service.log.head
                // No duration_s: ffprobe reads it from the downloaded WAV (240 s → a full scan).
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))","uri":"\#(Self.uri)"}"#)
                #expect(status == 200, "\(r)")
                let scan = try #require(try Self.scans(h, from: head + 1).first?.scan)
                let bytes = FakeAudd.wav(seconds: 240, seed: "clean.mp3")
                #expect(scan.contentHash == blobCID(sha256: SHA256.hash(bytes)) && r["content_hash"] as? String == scan.contentHash)
                #expect(scan.contentHash?.hasPrefix("bafkrei") == true)
                #expect(scan.downloadedBytes == bytes.count)
                #expect(scan.plan?.durationSeconds == 240 && scan.plan?.durationSource == "probe" && scan.plan?.kind == "full")
                #expect(scan.estimatedRequests == 20 && audd.billed("clean.mp3") == 20)
                #expect(audd.downloads == ["clean.mp3"])
                #expect(try FileManager.default.contentsOfDirectory(atPath: downloads.path).isEmpty, "the temporary file is gone")

                // A caller's duration that disagrees with the bytes is noted; the probe wins.
                let (_, r2) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","duration_s":600}"#)
                let plan = try #require(r2["plan"] as? [String: Any])
                #expect(plan["duration_s"] as? Int == 60 && (plan["reason"] as? String)?.contains("duration_s 600 disagrees with the probed 60 s") == true)
                #expect(try FileManager.default.contentsOfDirectory(atPath: downloads.path).isEmpty)
            }
        }
    }

    @Test func downloadsLeftByACrashAreRemovedAtStartUp() async throws {
        let downloads = TempDir()
        let fm = FileManager.default
        let stale = downloads.path + "/labeler-audio-crashed"
        let live = downloads.path + "/labeler-audio-inflight"
        let other = downloads.path + "/someone-elses"
        for d in [stale, live, other] { try fm.createDirectory(atPath: d, withIntermediateDirectories: false) }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: stale + "/audio"))
        let old = Date().addingTimeInterval(-2 * 86_400)
        try fm.setAttributes([.modificationDate: old], ofItemAtPath: stale)
        try fm.setAttributes([.modificationDate: old], ofItemAtPath: other)
        try await runScanHarness(audd: nil, environment: ["SCAN_DOWNLOAD_DIR": downloads.path]) { _ in
            #expect(!fm.fileExists(atPath: stale), "a crash's leftover is removed")
            #expect(fm.fileExists(atPath: live), "a recent one may belong to a running scan")
            #expect(fm.fileExists(atPath: other), "only labeler-audio-* directories")
        }
    }

    @Test(arguments: [
        ("missing.wav", [:], "downloading the audio failed: HTTP 404"),
        ("mix.mp3", ["SCAN_DOWNLOAD_MAX_MB": "1"], "the audio is 3600044 bytes, more than the 1048576-byte limit"),
        ("slow-download.wav", ["SCAN_DOWNLOAD_TIMEOUT_SECONDS": "1"], "downloading the audio took longer than 1 s"),
    ] as [(String, [String: String], String)])
    func aFailedDownloadIsARecordedFailureAndCostsNothing(file: String, env: [String: String], message: String) async throws {
        let downloads = TempDir()
        try await FakeAudd.run { audd in
            var environment = env
            environment["SCAN_DOWNLOAD_DIR"] = downloads.path
            try await runScanHarness(audd: audd, environment: environment) { h in
                let head = h.service.log.head
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL(file))","uri":"\#(Self.uri)","duration_s":60}"#)
                #expect(status == 502 && r["error"] as? String == "UpstreamFailure")
                #expect(r["message"] as? String == message)
                let scans = try Self.scans(h, from: head + 1)
                #expect(scans.count == 1 && h.service.log.head == head + 1)
                let scan = try #require(scans.first?.scan)
                #expect(scan.status == .failed && scan.error == message && scan.estimatedRequests == 0 && scan.calls == [])
                #expect(audd.received.isEmpty, "AuDD was never asked")
                #expect(try FileManager.default.contentsOfDirectory(atPath: downloads.path).isEmpty)
            }
        }
    }

    @Test func theSameBytesGetTheEarlierVerdictForFree() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd) { h in
                let head = h.service.log.head
                let (_, first) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.uri)"}"#)
                #expect(first["is_flagged"] as? Bool == true && first["billed_requests"] as? Int == 5)
                let firstSeq = try #require((first["seq"] as? NSNumber)?.uint64Value)

                // Another subject posts the same bytes: the flagged verdict, its matches and a
                // label, with 0 requests.
                let (status, again) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.other)"}"#)
                #expect(status == 200, "\(again)")
                #expect(again["is_flagged"] as? Bool == true && again["billed_requests"] as? Int == 0 && again["provider"] as? String == "cache")
                #expect((again["cached_from_seq"] as? NSNumber)?.uint64Value == firstSeq && again["label_seq"] != nil)
                #expect((again["plan"] as? [String: Any])?["kind"] as? String == "cache-hit")
                #expect(audd.billed("dominant.mp3") == 5, "AuDD billed once")
                let hit = try #require(try Self.scans(h, from: head + 1).last?.scan)
                #expect(hit.cachedFromSeq == firstSeq && hit.matches.count == 5 && hit.fullScanRequests == 5 && hit.estimatedRequests == 0)
                #expect(try await h.queryAll([Self.other], limit: 10).count == 1)

                // With the blob CID the cache answers before anything is downloaded.
                let cid = try #require(first["content_hash"] as? String)
                let downloads = audd.downloads.count
                let (_, third) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","blob_cid":"\#(cid)"}"#)
                #expect(third["provider"] as? String == "cache" && audd.downloads.count == downloads)

                // Clean verdicts are reused too.
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                let (_, clean) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                #expect(clean["provider"] as? String == "cache" && clean["is_flagged"] as? Bool == false && audd.billed("clean.mp3") == 20)
                #expect((clean["flag_reason"] as? String)?.hasPrefix("cached verdict of scan seq") == true)
            }
        }
    }

    @Test func cleanVerdictsExpireAndClearedVerdictsAreReusedAsTheOperatorDecided() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["SCAN_CLEAN_TTL_DAYS": "0"]) { h in
                _ = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                let (_, again) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("clean.mp3"))"}"#)
                #expect(again["provider"] as? String == "audd" && audd.billed("clean.mp3") == 40, "a TTL of 0 never reuses a clean verdict")
                #expect(((again["plan"] as? [String: Any])?["reason"] as? String)?.contains("expired") == true)

                // An operator clears the flag as fingerprint noise: the same bytes are clean for everyone.
                let (_, first) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.uri)"}"#)
                #expect(first["is_flagged"] as? Bool == true)
                let (rs, _) = try await h.post("/admin/resolve", #"{"uri":"\#(Self.uri)","reason":"fingerprint_noise"}"#)
                #expect(rs == 200)
                let (_, noise) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("dominant.mp3"))","uri":"\#(Self.other)"}"#)
                #expect(noise["provider"] as? String == "cache" && noise["is_flagged"] as? Bool == false && audd.billed("dominant.mp3") == 5)
                #expect((noise["flag_reason"] as? String)?.contains("cleared by an operator as fingerprint_noise") == true)

                // Cleared as the original artist's own work: clean for that uploader only.
                let own = "at://did:plc:artist1/fm.plyr.track/3kown"
                let (_, f2) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("mix.mp3"))","uri":"\#(own)"}"#)
                #expect(f2["is_flagged"] as? Bool == true)
                _ = try await h.post("/admin/resolve", #"{"uri":"\#(own)","reason":"original_artist"}"#)
                let (_, mine) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("mix.mp3"))","uri":"at://did:plc:artist1/fm.plyr.track/3kown2"}"#)
                #expect(mine["provider"] as? String == "cache" && mine["is_flagged"] as? Bool == false)
                let billed = audd.billed("mix.mp3")
                let (_, after) = try await h.post("/scan", #"{"audio_url":"\#(audd.audioURL("mix.mp3"))","uri":"\#(Self.other)"}"#)
                #expect(after["provider"] as? String == "audd" && after["is_flagged"] as? Bool == true && audd.billed("mix.mp3") == billed * 2)
            }
        }
    }
}
