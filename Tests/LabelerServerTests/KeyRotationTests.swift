import EventLog
import Foundation
import LabelerCore
import LabelerServer
import LabelerTestSupport
import Projections
import Replay
import Testing

struct KeyRotationTests {
    /// After a rotation, labels signed by the old key are served re-signed by the new one (same
    /// cts) over queryLabels and stream backfill; the log keeps the originals and verifies.
    @Test func oldLabelsAreServedReSignedAndTheLogStillVerifies() async throws {
        let dir = TempDir()
        var originals: [String: Label] = [:]
        try await Harness.run(dir: dir) { h in
            for i in 0..<5 { try await h.emit("at://did:plc:rot/fm.plyr.track/\(i)") }
        }
        let oldKey = try SigningKey(hex: try SecretFile.read(ServerConfig.keyPath(dir.path))!)
        do {
            let store = try ModerationStore(path: dir.path, readOnly: true)
            for (_, l) in try store.read({ try store.labels.query($0, patterns: [.all], sources: nil, after: 0, limit: 100).labels }) {
                originals[l.uri] = l
            }
        }
        let newKey = SigningKey.generate()
        let before = originals
        _ = try await KeyRotation.rotate(dataDir: dir.path, currentKey: oldKey, newKey: newKey)
        #expect(try SecretFile.read(ServerConfig.keyPath(dir.path)) == newKey.hex)

        try await Harness.run(dir: dir) { h in
            #expect(h.service.key.publicKey == newKey.publicKey)
            try await h.emit("at://did:plc:rot/fm.plyr.track/new")
            let served = try await h.queryAll(["*"], limit: 2)
            #expect(served.count == 6)
            for json in served {
                let l = try JSONDecoder().decode(Label.self, from: JSONSerialization.data(withJSONObject: json))
                #expect(l.verify(with: newKey.publicKey), "served with the current key")
                #expect(!l.verify(with: oldKey.publicKey))
                if let o = before[l.uri] { #expect(o.cts == l.cts && o.sig != l.sig) }
            }
            let (frames, _) = try await h.subscribe(cursor: 0) { $0.count >= 6 }
            for f in frames { for l in f.labels { #expect(l.verify(with: newKey.publicKey)) } }
        }
        // The log itself keeps every original signature, each valid for the key of its time.
        let report = try Verify.run(dataDir: dir.path)
        #expect(report.ok && report.keys == 2 && report.labels == 6, "\(String(describing: report.fault))")
        // The re-signed forms were kept, so they are computed once.
        let env = try LMDBEnvironment(path: dir.path)
        let cache = try env.database("labels.resigned")
        #expect(try env.read { try $0.count(cache) } == 5)
    }

    @Test func aKeyThatIsNotTheLogsCurrentKeyStopsStartUp() async throws {
        let dir = TempDir()
        try await Harness.run(dir: dir) { _ in }
        await #expect(throws: ServerConfig.Error.self) {
            try await Harness.run(dir: dir, environment: ["LABELER_SIGNING_KEY": SigningKey.generate().hex]) { _ in }
        }
        await #expect(throws: ServerConfig.Error.self) {
            try await Harness.run(dir: dir, environment: ["LABELER_DID": "did:web:other.example.com"]) { _ in }
        }
        #expect(throws: ServerConfig.Error.self) {
            try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: ["LABELER_DID": "not-a-did"])
        }
        #expect(throws: ServerConfig.Error.self) {
            try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: ["LABELER_SIGNING_KEY": "zz"])
        }
        chmod(ServerConfig.tokenPath(dir.path), 0o644)
        #expect(throws: ServerConfig.Error.self) { try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: [:]) }
    }
}
