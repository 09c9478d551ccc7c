import Foundation
import LabelerCore

/// What a labeler publishes about itself: its DID document entries and its service record.
public enum Identity {
    /// The did:web document, or nil unless the DID is `did:web:<host of publicURL>`.
    public static func didDocument(did: String, key: PublicKey, publicURL: String?) -> [String: Any]? {
        guard let publicURL, let url = URL(string: publicURL), let host = url.host else { return nil }
        let hostPart = url.port.map { "\(host)%3A\($0)" } ?? host
        guard did == "did:web:\(hostPart)" else { return nil }
        return [
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [
                ["id": "\(did)#atproto_label", "type": "Multikey", "controller": did, "publicKeyMultibase": key.multikey]
            ],
            "service": [["id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": publicURL]],
        ]
    }

    /// The label values this labeler emits, with their definitions.
    nonisolated(unsafe) public static let labelDefinitions: [[String: Any]] = [
        [
            "identifier": "copyright-violation", "severity": "alert", "blurs": "none", "defaultSetting": "warn",
            "adultOnly": false,
            "locales": [
                [
                    "lang": "en", "name": "Copyright violation",
                    "description": "An audio fingerprint scan matched this track to copyrighted music, and no one has cleared it.",
                ]
            ],
        ]
    ]

    /// `app.bsky.labeler.service` record (rkey `self`).
    public static func serviceRecord(createdAt: String = Datetime.now()) -> [String: Any] {
        [
            "$type": "app.bsky.labeler.service",
            "policies": [
                "labelValues": labelDefinitions.map { $0["identifier"]! },
                "labelValueDefinitions": labelDefinitions,
            ],
            "createdAt": createdAt,
        ]
    }

    /// What to put in a did:plc (PLC operation fields).
    public static func plcEntries(key: PublicKey, publicURL: String?) -> [String: Any] {
        [
            "verificationMethods": ["atproto_label": key.didKey],
            "services": ["atproto_labeler": ["type": "AtprotoLabeler", "endpoint": publicURL ?? "https://<your labeler host>"]],
        ]
    }
}
