import EventLog
import Foundation
import LabelerCore
import Projections

/// Rotates the signing key of a data directory that no server is writing to: the new key is
/// saved (0600) before the log names it, then the old key file is retired.
public enum KeyRotation {
    public struct Result: Sendable {
        public let seq: UInt64
        public let newKey: SigningKey
    }

    public static func rotate(dataDir: String, currentKey: SigningKey, newKey: SigningKey) async throws -> Result {
        let store = try ModerationStore(path: dataDir)
        defer { store.close() }
        guard let current = try store.read({ try store.keys.currentKey($0) }) else {
            throw ServerConfig.Error("this data directory has no identity yet; start `labeler serve` once first")
        }
        guard currentKey.publicKey.didKey == current.didKey else {
            throw ServerConfig.Error("the configured signing key is not the log's current key (\(current.didKey)); refusing to rotate")
        }
        guard newKey.publicKey != currentKey.publicKey else { throw ServerConfig.Error("the new key is the current key") }
        let keyPath = ServerConfig.keyPath(dataDir)
        try SecretFile.write(keyPath + ".next", newKey.hex)
        let seq = try await store.writer().append(
            SigningKeyRotated(signingKey: newKey.publicKey.didKey, previousKey: current.didKey).event(actor: .admin("cli")))
        let retired = dataDir + "/retired-keys"
        try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: true)
        chmod(retired, 0o700)
        if FileManager.default.fileExists(atPath: keyPath) {
            rename(keyPath, retired + "/\(current.epoch)-\(currentKey.publicKey.multikey).hex")
        }
        rename(keyPath + ".next", keyPath)
        return Result(seq: seq, newKey: newKey)
    }
}
