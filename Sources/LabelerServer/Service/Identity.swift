import Foundation
import LabelerCore

/// What a labeler publishes about itself: its DID document entries and its service record.
public enum Identity {
    /// The did:web document, or nil unless the DID is `did:web:<host of publicURL>`.
    public static func didDocument(did: String, key: PublicKey, publicURL: String?) -> [String: Any]? {
        guard let publicURL, isWebDID(did, of: publicURL) else { return nil }
        return [
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [
                ["id": "\(did)#atproto_label", "type": "Multikey", "controller": did, "publicKeyMultibase": key.multikey]
            ],
            "service": [["id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": publicURL]],
        ]
    }

    /// The did:web a public URL stands for: its host in lower case, with a port that is not the
    /// scheme's default (`%3A`-encoded).
    public static func webDID(for publicURL: String) -> String? {
        guard let url = URL(string: publicURL), let host = url.host?.lowercased() else { return nil }
        let defaultPort = url.scheme == "https" ? 443 : 80
        return "did:web:" + (url.port.flatMap { $0 == defaultPort ? nil : "\(host)%3A\($0)" } ?? host)
    }

    /// Whether `did` is the did:web `publicURL` stands for (case aside: hosts and `%3A` are not case-sensitive).
    static func isWebDID(_ did: String, of publicURL: String) -> Bool {
        webDID(for: publicURL).map { $0.lowercased() == did.lowercased() } ?? false
    }

    /// Why `/.well-known/did.json` will not be served for this DID and URL, if it is a did:web.
    public static func didWebWarning(did: String, publicURL: String?) -> String? {
        guard did.hasPrefix("did:web:") else { return nil }
        guard let publicURL else {
            return "LABELER_DID is a did:web but LABELER_PUBLIC_URL is not set: /.well-known/did.json is not served, so \(did) must be published elsewhere"
        }
        if did.dropFirst("did:web:".count).contains(":") {
            return "\(did) has a path: its document lives at /…/did.json, which this labeler does not serve; publish it elsewhere"
        }
        guard isWebDID(did, of: publicURL) else {
            return "LABELER_DID is \(did) but LABELER_PUBLIC_URL \(publicURL) stands for \(webDID(for: publicURL) ?? "no did:web"): /.well-known/did.json is not served, so the DID document must be published elsewhere"
        }
        return nil
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
