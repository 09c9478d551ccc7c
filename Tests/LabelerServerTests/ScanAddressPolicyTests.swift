import Foundation
import LabelerCore
@testable import LabelerServer
import LabelerTestSupport
import Testing

/// The labeler's own download reaches no loopback, link-local or private address, neither
/// directly nor through a redirect, unless SCAN_DOWNLOAD_ALLOW_PRIVATE=1 (the tests' fake).
struct ScanAddressPolicyTests {
    @Test func privateAndLocalAddressesAreRecognised() {
        for a in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "224.0.0.1", "255.255.255.255", "::1", "::", "fd00::1", "fe80::1%eth0", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "ff02::1",
            "not-an-address",
        ] {
            #expect(AddressPolicy.isPrivate(a), "\(a)")
        }
        for a in ["93.184.216.34", "172.32.0.1", "100.128.0.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(!AddressPolicy.isPrivate(a), "\(a)")
        }
    }

    @Test func aScanOfALoopbackURLIsARecordedFailureWithoutADownload() async throws {
        try await FakeAudd.run { audd in
            try await runScanHarness(audd: audd, environment: ["SCAN_DOWNLOAD_ALLOW_PRIVATE": "0"]) { h in
                for url in [audd.audioURL("clean.mp3"), "http://localhost:\(audd.port)/audio/clean.mp3"] {
                    let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(url)"}"#)
                    #expect(status == 502, "\(r)")
                    #expect((r["message"] as? String)?.contains("is a private or local address") == true, "\(r)")
                }
                #expect(audd.downloads.isEmpty && audd.received.isEmpty)
            }
        }
    }

    @Test func redirectsAreFollowedAndEveryHopIsChecked() async throws {
        // AuDD (the fake) names the audio by the URL's last component.
        try await FakeAudd.run(scripts: ["redirect": .init(duration: 240)]) { audd in
            // Allowed: the redirect is followed to the audio.
            try await runScanHarness(audd: audd) { h in
                let hop = "http://127.0.0.1:\(audd.port)/redirect?to=" + audd.audioURL("clean.mp3")
                let (status, r) = try await h.post("/scan", #"{"audio_url":"\#(hop)"}"#)
                #expect(status == 200 && r["content_hash"] as? String != nil && r["content_hash"] as? String == blobCID(sha256: SHA256.hash(FakeAudd.wav(seconds: 240, seed: "clean.mp3"))), "\(r)")
            }
            #expect(audd.downloads == ["clean.mp3"])
            // The second hop's host is checked too (here a policy refusing `localhost` only).
            let dir = TempDir()
            let downloader = AudioDownloader(maxBytes: 1 << 30, timeout: .seconds(10), directory: dir.path) { host throws(ScanFailure) in
                if host == "localhost" { throw ScanFailure(.download, "refused \(host)") }
            }
            let hop = "http://127.0.0.1:\(audd.port)/redirect?to=http://localhost:\(audd.port)/audio/clean.mp3"
            await #expect(throws: ScanFailure(.download, "refused localhost")) { try await downloader.download(hop) }
            #expect(audd.downloads == ["clean.mp3"], "nothing fetched from the refused hop")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        }
    }
}
