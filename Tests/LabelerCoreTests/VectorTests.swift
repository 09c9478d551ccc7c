import Foundation
import Testing

@testable import LabelerCore

/// The shared signing vectors (made with independent tooling) reproduced byte for byte.
struct VectorTests {
    nonisolated(unsafe) static let file: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/vectors/labels.json")
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static var vectors: [[String: Any]] { file["vectors"] as! [[String: Any]] }
    static var negatives: [[String: Any]] { file["negative_vectors"] as! [[String: Any]] }

    static func label(_ json: Any) throws -> Label {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try JSONDecoder().decode(Label.self, from: data)
    }

    @Test func everyVectorReproducesBytesDigestAndSignature() throws {
        #expect(Self.vectors.count >= 20)
        for v in Self.vectors {
            let name = v["name"] as! String
            let curve: KeyCurve = (v["curve"] as! String) == "p256" ? .p256 : .secp256k1
            let key = try SigningKey(curve: curve, hex: v["private_key_hex"] as! String)
            #expect(Hex.encode(key.publicKey.compressed) == v["public_key_compressed_hex"] as! String, "\(name)")
            #expect(key.publicKey.multikey == v["public_key_multibase"] as! String, "\(name)")
            #expect(key.publicKey.didKey == v["did_key"] as! String, "\(name)")
            #expect(try PublicKey(didKey: v["did_key"] as! String) == key.publicKey, "\(name)")

            let unsigned = try Self.label(v["label"]!)
            #expect(Hex.encode(unsigned.unsignedBytes()) == v["unsigned_dag_cbor_hex"] as! String, "\(name)")
            #expect(Hex.encode(unsigned.signingDigest()) == v["sha256_hex"] as! String, "\(name)")
            let signed = unsigned.signed(with: key)
            #expect(Hex.encode(signed.sig!) == v["signature_hex"] as! String, "\(name)")
            #expect(Base64.encodeUnpadded(signed.sig!) == v["signature_base64"] as! String, "\(name)")
            #expect(Hex.encode(signed.signedBytes()) == v["signed_dag_cbor_hex"] as! String, "\(name)")
            #expect(signed.verify(with: key.publicKey), "\(name)")

            // The JSON form parses back to the same label and verifies; ours serialises identically.
            let fromJSON = try Self.label(v["signed_json"]!)
            #expect(fromJSON == signed, "\(name)")
            #expect(fromJSON.verify(with: try PublicKey(didKey: v["did_key"] as! String)), "\(name)")
            let ours = try JSONSerialization.jsonObject(with: Data(signed.jsonString.utf8)) as! NSDictionary
            #expect(ours == (v["signed_json"] as! NSDictionary), "\(name)")

            // The signed CBOR decodes strictly back to the same label.
            let decoded = try Label(cbor: CBOR.decode(Hex.decode(v["signed_dag_cbor_hex"] as! String)!))
            #expect(decoded == signed, "\(name)")

            let emittable = (try? unsigned.validateForEmission()) != nil
            #expect(emittable == (v["valid_for_emission"] as! Bool) || unsigned.ver == nil || unsigned.neg == false, "\(name)")
        }
    }

    @Test func validForEmissionMatchesTheVectors() throws {
        for v in Self.vectors {
            var l = try Self.label(v["label"]!)
            l.ver = 1
            if l.neg == false { l.neg = nil }
            let ok = (try? l.validateForEmission()) != nil
            #expect(ok == (v["valid_for_emission"] as! Bool), "\(v["name"] as! String)")
        }
    }

    @Test func everyNegativeVectorFailsVerification() throws {
        #expect(Self.negatives.count >= 7)
        for v in Self.negatives {
            let name = v["name"] as! String
            let key = try PublicKey(didKey: v["did_key"] as! String)
            var label = try Self.label(v["label"]!)
            label.sig = Hex.decode(v["signature_hex"] as! String)
            #expect(!label.verify(with: key), "\(name)")
            #expect(Hex.encode(label.unsignedBytes()) == v["unsigned_dag_cbor_hex"] as! String, "\(name)")
            let fromJSON = try Self.label(v["signed_json"]!)
            #expect(!fromJSON.verify(with: key), "\(name)")
        }
    }

    @Test func subscribeFramesAreReproduced() throws {
        let frames = Self.file["subscribe_frames"] as! [String: Any]
        let v = Self.vectors.first { $0["name"] as! String == "k256-minimal" }!
        let key = try SigningKey(hex: v["private_key_hex"] as! String)
        let label = try Self.label(v["label"]!).signed(with: key)
        let labelsFrame = Frame.labels(seq: 1, labels: [label]).encoded()
        #expect(Hex.encode(labelsFrame) == frames["labels_seq1_k256_minimal_hex"] as! String)
        #expect(try Frame.parse(labelsFrame) == .labels(seq: 1, labels: [label]))
        #expect(Hex.encode(Frame.labelsHeader) == frames["header_labels_hex"] as! String)
        #expect(Hex.encode(Frame.errorHeader) == frames["header_error_hex"] as! String)
        let future = Frame.error(name: "FutureCursor", message: "Cursor in the future.").encoded()
        #expect(Hex.encode(future) == frames["error_future_cursor_hex"] as! String)
        let outdated = Frame.info(
            name: "OutdatedCursor", message: "Requested cursor exceeded limit. Possibly missing events"
        ).encoded()
        #expect(Hex.encode(outdated) == frames["info_outdated_cursor_hex"] as! String)
        #expect(throws: CBORError.self) { try Frame.parse(labelsFrame + [0x01]) }
        #expect(throws: CBORError.self) { try Frame.parse(Frame.labelsHeader) }
    }
}

struct CBORCodableTests {
    struct Sample: Codable, Equatable {
        var bytes: [UInt8]
        var empty: [String]
        var emptyBytes: [UInt8]
        var n: Int
        var neg: Int
        var opt: String?
    }

    @Test func codableRoundTripKeepsBytesAndEmptyArraysApart() throws {
        let s = Sample(bytes: [1, 2], empty: [], emptyBytes: [], n: 300, neg: -5, opt: nil)
        let v = try CBOREncoder().encodeValue(s)
        #expect(v["empty"] == .array([]))
        #expect(v["emptyBytes"] == .bytes([]))
        #expect(v["opt"] == nil)
        #expect(try CBORDecoder().decode(Sample.self, from: v.encoded()) == s)
    }
}
