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
    static let didWeb = ["LABELER_DID": "did:web:labeler.example.com"]

    @Test func oldLabelsAreServedReSignedAndTheLogStillVerifies() async throws {
        let dir = TempDir()
        var originals: [String: Label] = [:]
        try await Harness.run(dir: dir, environment: Self.didWeb) { h in
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

        try await Harness.run(dir: dir, environment: Self.didWeb) { h in
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

    /// A did:key labeler's DID is its first key: a rotation would make every label unverifiable.
    /// A retired key is not used again. Each refusal leaves the log and the key file as they were.
    @Test func rotationsThatWouldBreakVerificationAreRefused() async throws {
        let dir = TempDir()
        try await Harness.run(dir: dir) { h in try await h.emit("at://did:plc:rot/fm.plyr.track/1") }
        let key = try SigningKey(hex: try SecretFile.read(ServerConfig.keyPath(dir.path))!)
        await #expect(throws: ServerConfig.Error.self) {
            _ = try await KeyRotation.rotate(dataDir: dir.path, currentKey: key, newKey: SigningKey.generate())
        }
        #expect(try EventLogReader(env: LMDBEnvironment(path: dir.path)).storedHead() == 2)

        let web = TempDir()
        try await Harness.run(dir: web, environment: Self.didWeb) { _ in }
        let first = try SigningKey(hex: try SecretFile.read(ServerConfig.keyPath(web.path))!)
        let second = SigningKey.generate()
        _ = try await KeyRotation.rotate(dataDir: web.path, currentKey: first, newKey: second)
        await #expect(throws: ServerConfig.Error.self) {
            _ = try await KeyRotation.rotate(dataDir: web.path, currentKey: second, newKey: first)
        }
        #expect(try SecretFile.read(ServerConfig.keyPath(web.path)) == second.hex)
        #expect(try EventLogReader(env: LMDBEnvironment(path: web.path)).storedHead() == 2)
        // The old key is kept, retired, before the log names the new one.
        let retired = try FileManager.default.contentsOfDirectory(atPath: web.path + "/retired-keys")
        #expect(retired.count == 1)
        #expect(try SecretFile.read(web.path + "/retired-keys/" + retired[0]) == first.hex)
    }

    /// A rotation whose event was appended but whose key file was never moved (a crash, a full
    /// disk) is finished by the next start: `signing-key.next` holds the log's current key.
    @Test func anInterruptedRotationIsFinishedAtStartUp() async throws {
        let dir = TempDir()
        try await Harness.run(dir: dir, environment: Self.didWeb) { _ in }
        let old = try SigningKey(hex: try SecretFile.read(ServerConfig.keyPath(dir.path))!)
        let new = SigningKey.generate()
        do {  // what `rotate` does up to its last step
            let store = try ModerationStore(path: dir.path)
            try SecretFile.write(ServerConfig.keyPath(dir.path) + ".next", new.hex)
            try await store.writer().append(
                SigningKeyRotated(signingKey: new.publicKey.didKey, previousKey: old.publicKey.didKey).event(actor: .admin("cli")))
            store.close()
        }
        try await Harness.run(dir: dir, environment: Self.didWeb) { h in
            #expect(h.service.key.publicKey == new.publicKey)
            let (status, body) = try await h.post("/emit-label", #"{"uri":"at://did:plc:rot/fm.plyr.track/2","val":"spam"}"#)
            #expect(status == 200, "\(body)")
        }
        #expect(try SecretFile.read(ServerConfig.keyPath(dir.path)) == new.hex)
        #expect(!FileManager.default.fileExists(atPath: ServerConfig.keyPath(dir.path) + ".next"))

        // As an earlier version left it: the old key moved away, the new one still in `.next`.
        let newer = SigningKey.generate()
        do {
            let store = try ModerationStore(path: dir.path)
            try SecretFile.write(ServerConfig.keyPath(dir.path) + ".next", newer.hex)
            try await store.writer().append(
                SigningKeyRotated(signingKey: newer.publicKey.didKey, previousKey: new.publicKey.didKey).event(actor: .admin("cli")))
            store.close()
            try FileManager.default.removeItem(atPath: ServerConfig.keyPath(dir.path))
        }
        try await Harness.run(dir: dir, environment: Self.didWeb) { h in #expect(h.service.key.publicKey == newer.publicKey) }
        #expect(try SecretFile.read(ServerConfig.keyPath(dir.path)) == newer.hex)
    }

    /// With a log and no key file, start-up says so instead of writing a new key that could
    /// never sign for this log.
    @Test func aLogWithoutItsKeyFileStopsStartUpAndWritesNoKey() async throws {
        let dir = TempDir()
        try await Harness.run(dir: dir) { _ in }
        try FileManager.default.removeItem(atPath: ServerConfig.keyPath(dir.path))
        #expect {
            try ServerConfig.resolve(dataDir: dir.path, host: nil, port: nil, environment: [:])
        } throws: { "\($0)".contains("no signing key") }
        #expect(!FileManager.default.fileExists(atPath: ServerConfig.keyPath(dir.path)))
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
