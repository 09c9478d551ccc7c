import ArgumentParser
import EventLog
import Foundation
import LabelerCore
import LabelerServer
import Projections

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Signing keys.", subcommands: [Show.self, Rotate.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The key history recorded in the log.")
        @OptionGroup var data: DataDirOption
        func run() throws {
            let store = try ModerationStore(path: data.dataDir, readOnly: true, mustExist: true)
            try store.requireCurrentModels(only: [SigningKeysProjection.name])
            try store.read { txn in
                print("DID: \(try store.keys.did(txn) ?? "(none recorded)")")
                for (seq, key) in try store.keys.allKeys(txn) { print(String(format: "%8llu  %@", seq, key)) }
            }
        }
    }

    /// Appends a signing-key-rotated event with a new key. From then on labels are signed with it,
    /// and older labels are re-signed (same cts) when served. Refuses while `serve` runs.
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rotate the signing key (stop the server first).")
        @OptionGroup var data: DataDirOption
        @Option(help: "The new key as 64 hex digits (default: a new random key).") var newKeyHex: String?

        func run() async throws {
            let keyPath = ServerConfig.keyPath(data.dataDir)
            let envKey = ProcessInfo.processInfo.environment["LABELER_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            do {
                guard let hex = try envKey ?? SecretFile.read(keyPath), let current = try? SigningKey(hex: hex) else {
                    throw ServerConfig.Error("no readable signing key (LABELER_SIGNING_KEY or \(keyPath))")
                }
                let next = try newKeyHex.map { try SigningKey(hex: $0) } ?? SigningKey.generate()
                let r = try await KeyRotation.rotate(dataDir: data.dataDir, currentKey: current, newKey: next)
                print("rotated at seq \(r.seq): new signing key \(r.newKey.publicKey.didKey)")
                print("publish it as the #atproto_label verification method of your DID document (see `labeler identity`)")
                if envKey != nil { print("LABELER_SIGNING_KEY is set: set it to the new key in \(keyPath) before restarting") }
            } catch {
                printErr("labeler: \(error)")
                throw ExitCode(2)
            }
        }
    }
}

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "What to publish: the did:plc verification method and service, and the app.bsky.labeler.service record.")
    @OptionGroup var data: DataDirOption

    func run() throws {
        let store = try ModerationStore(path: data.dataDir, readOnly: true, mustExist: true)
        try store.requireCurrentModels(only: [SigningKeysProjection.name])
        let (did, key) = try store.read { txn in (try store.keys.did(txn), try store.keys.currentKey(txn)) }
        guard let did, let key else {
            printErr("labeler: no identity recorded yet; start `labeler serve` once first")
            throw ExitCode(2)
        }
        let publicURL = ProcessInfo.processInfo.environment["LABELER_PUBLIC_URL"]
        let pub = try PublicKey(didKey: key.didKey)
        var out: [String: Any] = [
            "did": did,
            "labelerServiceRecord": ["collection": "app.bsky.labeler.service", "rkey": "self", "record": Identity.serviceRecord()],
        ]
        // What to publish depends on the DID method: only a did:plc has PLC entries to update.
        if did.hasPrefix("did:plc:") { out["plc"] = Identity.plcEntries(key: pub, publicURL: publicURL) }
        if let doc = Identity.didDocument(did: did, key: pub, publicURL: publicURL) { out["didWebDocument"] = doc }
        if let warning = Identity.didWebWarning(did: did, publicURL: publicURL) { out["warning"] = warning }
        if did.hasPrefix("did:key:") {
            out["warning"] = "a did:key has no DID document, so it cannot name this labeler's service endpoint: AppViews cannot find it. Set LABELER_DID (a did:plc or did:web) on a new data directory"
        }
        try writeJSON(out)
    }
}
