import EventLog
import Foundation
import LabelerCore
import Projections

/// Rotates the signing key of a data directory that no server is writing to. Every file is in
/// place before the log names the new key (`signing-key.next`, and the old key under
/// `retired-keys/`); after the event one rename makes the new key the directory's key. If that
/// rename never happens (a crash, a full disk), `finishInterrupted` completes it: `serve` calls
/// it at every start with a key file, and `keys rotate` when the configured key is not the log's.
public enum KeyRotation {
    public struct Result: Sendable {
        public let seq: UInt64
        public let newKey: SigningKey
    }

    public static func rotate(dataDir: String, currentKey: SigningKey, newKey: SigningKey) async throws -> Result {
        let store = try ModerationStore(path: dataDir, mustExist: true)
        defer { store.close() }
        let (did, recorded, history) = try store.read { txn in
            (try store.keys.did(txn), try store.keys.currentKey(txn), try store.keys.allKeys(txn))
        }
        guard let did, let current = recorded else {
            throw ServerConfig.Error("this data directory has no identity yet; start `labeler serve` once first")
        }
        guard !did.hasPrefix("did:key:") else {
            throw ServerConfig.Error(
                "this labeler's DID is \(did), the did:key of its first signing key: a did:key names that one key forever, so labels signed with another key would verify for no one. A labeler that may rotate keys needs LABELER_DID (a did:plc or did:web) from its first start")
        }
        var currentKey = currentKey
        if currentKey.publicKey.didKey != current.didKey, let finished = try finishInterrupted(dataDir: dataDir, logKey: current.didKey) {
            currentKey = finished
        }
        guard currentKey.publicKey.didKey == current.didKey else {
            throw ServerConfig.Error("the configured signing key is not the log's current key (\(current.didKey)); refusing to rotate")
        }
        guard newKey.publicKey != currentKey.publicKey else { throw ServerConfig.Error("the new key is the current key") }
        if let used = history.first(where: { $0.didKey == newKey.publicKey.didKey }) {
            throw ServerConfig.Error("the new key was this labeler's key from seq \(used.epoch); a retired key is not used again")
        }
        let keyPath = ServerConfig.keyPath(dataDir)
        let retired = dataDir + "/retired-keys"
        do {
            try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServerConfig.Error("cannot create \(retired): \((error as NSError).localizedDescription); nothing was rotated")
        }
        try SecretFile.write(retired + "/\(current.epoch)-\(currentKey.publicKey.multikey).hex", currentKey.hex)
        try SecretFile.write(keyPath + ".next", newKey.hex)
        // Durable before the log names the new key: the new private key must survive a power loss too.
        do {
            try syncDirectory(retired)
            try syncDirectory(dataDir)
        } catch { throw ServerConfig.Error("\(error); nothing was rotated") }
        let seq = try await store.writer().append(
            SigningKeyRotated(signingKey: newKey.publicKey.didKey, previousKey: current.didKey).event(actor: .admin("cli")))
        guard rename(keyPath + ".next", keyPath) == 0 else {
            throw ServerConfig.Error(
                "the rotation is recorded (seq \(seq)) but \(keyPath).next could not be moved to \(keyPath) (\(String(cString: strerror(errno)))); `labeler serve` finishes it when it can")
        }
        return Result(seq: seq, newKey: newKey)
    }

    /// Completes a rotation whose event was appended but whose key file was not moved: when
    /// `signing-key.next` holds the log's current key (`logKey`), it becomes `signing-key` (the
    /// old key is already under `retired-keys/`). Returns that key, or nil when there is nothing to finish.
    public static func finishInterrupted(dataDir: String, logKey: String) throws -> SigningKey? {
        let keyPath = ServerConfig.keyPath(dataDir)
        guard let hex = try? SecretFile.read(keyPath + ".next"), let key = try? SigningKey(hex: hex), key.publicKey.didKey == logKey else {
            return nil
        }
        guard rename(keyPath + ".next", keyPath) == 0 else {
            throw ServerConfig.Error("\(keyPath).next holds the log's current key but cannot be moved to \(keyPath): \(String(cString: strerror(errno)))")
        }
        return key
    }
}
