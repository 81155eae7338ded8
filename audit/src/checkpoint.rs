//! Signed checkpoints: the tree size and root hash of the log at one moment, signed with
//! an Ed25519 key that lives outside the database.
//!
//! The format is C2SP `tlog-checkpoint` inside a C2SP `signed-note` (via the
//! `signed_note` crate), so other transparency-log tools can read it:
//!
//! ```text
//! whistle.example.gov.cn/log
//! 35863
//! 3q2+7w…base64 root…=
//! time 2026-11-21T03:00:00Z
//!
//! — whistle.example.gov.cn/log Az3g…base64 key id and signature…
//! ```
//!
//! The key's name is the log's origin. Keys use the signed-note key encodings:
//! `PRIVATE+KEY+<name>+<id>+<base64>` (the key file) and `<name>+<id>+<base64>` (the
//! public verifier key that inspectors hold).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

use crate::AuditError;
use crate::merkle::{Hash, hash_from_bytes};

/// What a checkpoint says: the log named `origin` had `size` events whose Merkle root
/// was `root`, at `time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub time: Option<DateTime<Utc>>,
}

impl Checkpoint {
    /// The checkpoint body (the signed text).
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        if let Some(time) = self.time {
            body.push_str(&format!(
                "time {}\n",
                time.to_rfc3339_opts(SecondsFormat::Secs, true)
            ));
        }
        body
    }

    /// The signed note: body, blank line, signature line.
    pub fn sign(&self, private_key: &str) -> Result<String, AuditError> {
        let signer = StandardSigner::new(private_key.trim())
            .map_err(|e| AuditError::Key(format!("the private key is not usable: {e}")))?;
        let name = signed_note::Signer::name(&signer).to_owned();
        if name != self.origin {
            return Err(AuditError::Key(format!(
                "the key is named `{name}` but the log's origin is `{}`: a checkpoint is signed by the key of its origin",
                self.origin
            )));
        }
        let mut note = Note::new(self.body().as_bytes(), &[])
            .map_err(|e| AuditError::Checkpoint(format!("cannot make a note: {e}")))?;
        note.add_sigs(&[&signer])
            .map_err(|e| AuditError::Key(format!("signing failed: {e}")))?;
        String::from_utf8(note.to_bytes())
            .map_err(|e| AuditError::Checkpoint(format!("the note is not UTF-8: {e}")))
    }

    /// Check the signature of a signed checkpoint with the public `verifier_key` and read
    /// what it says.
    pub fn open(signed: &str, verifier_key: &str) -> Result<Checkpoint, AuditError> {
        let verifier = StandardVerifier::new(verifier_key.trim())
            .map_err(|e| AuditError::Key(format!("the public key is not usable: {e}")))?;
        let note = Note::from_bytes(signed.as_bytes())
            .map_err(|e| AuditError::Checkpoint(format!("not a signed note: {e}")))?;
        note.verify(&VerifierList::new(vec![Box::new(verifier.clone())]))
            .map_err(|e| AuditError::Signature(e.to_string()))?;
        let checkpoint = Self::parse_body(note.text())?;
        let key_name = signed_note::Verifier::name(&verifier);
        if checkpoint.origin != key_name {
            return Err(AuditError::Signature(format!(
                "the checkpoint is for `{}` but the key is for `{key_name}`",
                checkpoint.origin
            )));
        }
        Ok(checkpoint)
    }

    /// Read a signed checkpoint *without* checking its signature (the service does this
    /// to build proofs for it; whoever receives the proof checks the signature).
    pub fn read_unverified(signed: &str) -> Result<Checkpoint, AuditError> {
        let note = Note::from_bytes(signed.as_bytes())
            .map_err(|e| AuditError::Checkpoint(format!("not a signed note: {e}")))?;
        Self::parse_body(note.text())
    }

    fn parse_body(text: &[u8]) -> Result<Checkpoint, AuditError> {
        let text = std::str::from_utf8(text)
            .map_err(|_| AuditError::Checkpoint("the body is not UTF-8".into()))?;
        let mut lines = text.lines();
        let bad = |what: &str| AuditError::Checkpoint(format!("malformed checkpoint: {what}"));
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("no origin line"))?;
        let size = lines
            .next()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or_else(|| bad("the second line is not a tree size"))?;
        let root_bytes = lines
            .next()
            .and_then(|l| STANDARD.decode(l).ok())
            .ok_or_else(|| bad("the third line is not a base64 root hash"))?;
        let root = hash_from_bytes(&root_bytes).map_err(|e| bad(&e.to_string()))?;
        let mut time = None;
        for line in lines {
            if let Some(value) = line.strip_prefix("time ") {
                time = Some(
                    DateTime::parse_from_rfc3339(value)
                        .map_err(|_| bad("the time line is not RFC 3339"))?
                        .with_timezone(&Utc),
                );
            }
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            time,
        })
    }
}

/// A new Ed25519 key pair for the log named `origin`: (private key, public verifier key).
pub fn generate_key(origin: &str) -> Result<(String, String), AuditError> {
    if !signed_note::is_key_name_valid(origin) {
        return Err(AuditError::Key(format!(
            "`{origin}` cannot name a key: no spaces or '+' (e.g. whistle.example.gov.cn/log)"
        )));
    }
    Ok(signed_note::generate_key(&mut rand_core::OsRng, origin))
}

/// The public verifier key of a private key.
pub fn verifier_key_of(private_key: &str) -> Result<String, AuditError> {
    let signer = StandardSigner::new(private_key.trim())
        .map_err(|e| AuditError::Key(format!("the private key is not usable: {e}")))?;
    // PRIVATE+KEY+<name>+<id>+<base64(algorithm byte, seed)>; base64 may contain '+'.
    let encoded = private_key.trim().splitn(5, '+').nth(4).unwrap_or_default();
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| AuditError::Key("the private key is not base64".into()))?;
    let seed: [u8; 32] = bytes
        .get(1..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| AuditError::Key("the private key is not an Ed25519 seed".into()))?;
    let verifying = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    Ok(signed_note::new_ed25519_verifier_key(
        signed_note::Signer::name(&signer),
        &verifying,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "whistle.test/log".into(),
            size: 42,
            root: [7; 32],
            time: Some("2026-11-21T03:00:00Z".parse().unwrap()),
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_public_key_only() {
        let (private, public) = generate_key("whistle.test/log").unwrap();
        assert_eq!(verifier_key_of(&private).unwrap(), public);
        let signed = checkpoint().sign(&private).unwrap();
        assert!(signed.starts_with("whistle.test/log\n42\n"));
        assert_eq!(Checkpoint::open(&signed, &public).unwrap(), checkpoint());
        let (_, other_public) = generate_key("whistle.test/log").unwrap();
        assert!(Checkpoint::open(&signed, &other_public).is_err());
        let (other_private, _) = generate_key("other.test/log").unwrap();
        assert!(
            checkpoint().sign(&other_private).is_err(),
            "key and origin differ"
        );
    }

    #[test]
    fn any_flipped_bit_of_a_signed_checkpoint_is_rejected() {
        let (private, public) = generate_key("whistle.test/log").unwrap();
        let signed = checkpoint().sign(&private).unwrap().into_bytes();
        for byte in 0..signed.len() {
            for bit in 0..8 {
                let mut flipped = signed.clone();
                flipped[byte] ^= 1 << bit;
                let Ok(text) = String::from_utf8(flipped) else {
                    continue;
                };
                assert!(
                    Checkpoint::open(&text, &public).is_err(),
                    "byte {byte} bit {bit} flipped and the checkpoint still opened"
                );
            }
        }
    }
}
