extension Label {
    /// SHA-256 of the unsigned DAG-CBOR form.
    public func signingDigest() -> [UInt8] { SHA256.hash(unsignedBytes()) }

    /// Returns the label signed with `key` (64-byte compact low-S).
    public func signed(with key: SigningKey) -> Label {
        var l = self
        l.sig = key.sign(digest: signingDigest())
        return l
    }

    /// Verifies `sig` against `key`, re-encoding the fields exactly as they are held.
    public func verify(with key: PublicKey) -> Bool {
        guard let sig, sig.count == 64 else { return false }
        return key.verify(signature: sig, digest: signingDigest())
    }
}
