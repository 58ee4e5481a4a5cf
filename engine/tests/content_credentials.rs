//! Content Credentials: results signed with a C2PA manifest validate with the `c2pa` reader, a
//! tampered copy does not, and certificates C2PA would refuse are refused when loaded.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use engine::content_credentials::{verify, ContentCredentials, CredentialsError};
use engine::provenance::{self, Provenance, DIGITAL_SOURCE_TYPE};
use image::{DynamicImage, ImageFormat, RgbImage};

/// A test CA and signer made by the script operators use to try signing.
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-signing-cert.sh");
    let made = Command::new("bash")
        .arg(script)
        .arg(dir)
        .arg("Harbour Archive signer")
        .arg("Harbour Archive")
        .output()
        .expect("bash and openssl must be installed (scripts/setup.sh installs openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (dir.join("signer-chain.pem"), dir.join("signer.key"))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn picture(seed: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| {
        image::Rgb([(x * 2 + seed) as u8, (y * 3) as u8, ((x + y) % 256) as u8])
    }))
}

fn record(original_name: &str) -> Provenance {
    Provenance {
        model: "tinct-mini".into(),
        model_sha256: "0ed7bf6bbdb0b1ca".into(),
        input_size: 256,
        preset: "portrait".into(),
        software: "Tinct 0.1.0".into(),
        created: "2026-11-28T18:00:00Z".into(),
        original_sha256: "ab".repeat(32),
        original_name: original_name.into(),
        carried: Default::default(),
        correction: None,
    }
}

#[test]
fn a_signed_result_validates_names_its_original_and_keeps_its_xmp_and_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, key) = make_certificate(dir.path());
    let credentials = ContentCredentials::from_files(&chain, &key, "es256").unwrap();
    assert_eq!(credentials.identity().common_name, "Harbour Archive signer");
    assert_eq!(credentials.identity().organisation, "Harbour Archive");

    let grey = encode(&picture(0).grayscale(), ImageFormat::Png);
    for (format, mime) in [
        (ImageFormat::Png, "image/png"),
        (ImageFormat::Jpeg, "image/jpeg"),
    ] {
        let result = encode(&picture(40), format);
        let record = record("harbour-1931.png");
        // XMP first, then the signature over every byte.
        let labelled = provenance::embed_xmp(result, &record.xmp()).unwrap();
        assert_eq!(verify(&labelled, mime), None, "not signed yet");
        let signed = credentials.sign(&labelled, mime, &grey, &record).unwrap();

        let check = verify(&signed, mime).expect("a manifest");
        assert!(check.is_valid(), "{mime}: {check:?}");
        assert_eq!(check.state, "Valid");
        assert_eq!(check.signer.as_deref(), Some("Harbour Archive signer"));
        assert_eq!(check.parents, ["harbour-1931.png"]);
        assert_eq!(check.actions, ["c2pa.opened", "c2pa.color_adjustments"]);
        // The XMP written before signing is still there, and the pixels are those of the result.
        let xmp = provenance::read_xmp(&signed).expect("XMP survives signing");
        assert!(xmp.contains(DIGITAL_SOURCE_TYPE));
        assert_eq!(
            image::load_from_memory(&signed).unwrap().to_rgb8(),
            image::load_from_memory(&labelled).unwrap().to_rgb8(),
            "{mime}"
        );

        // Changing image data after signing breaks the manifest's hash of the file.
        let mut tampered = signed.clone();
        let at = tampered.len() - 30;
        tampered[at] ^= 0x5a;
        let check = verify(&tampered, mime).expect("the manifest is still there");
        assert!(!check.is_valid(), "{mime}: {check:?}");
        assert_eq!(check.state, "Invalid");
        assert!(
            check
                .failures
                .iter()
                .any(|code| code == "assertion.dataHash.mismatch"),
            "{check:?}"
        );
    }
}

#[test]
fn an_original_c2pa_cannot_read_is_still_named_as_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, key) = make_certificate(dir.path());
    let credentials = ContentCredentials::from_files(&chain, &key, "ES256").unwrap();
    let original = encode(&picture(0).grayscale(), ImageFormat::Bmp);
    let result = encode(&picture(9), ImageFormat::Png);
    let signed = credentials
        .sign(&result, "image/png", &original, &record("plate 7.bmp"))
        .unwrap();
    let check = verify(&signed, "image/png").unwrap();
    assert!(check.is_valid(), "{check:?}");
    assert_eq!(check.parents, ["plate 7.bmp"]);
}

#[test]
fn certificates_c2pa_refuses_are_refused_when_loaded_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, key) = make_certificate(dir.path());

    // A self-signed CA certificate is not a signing certificate.
    let ca_only = dir.path().join("ca.pem");
    let chain_text = std::fs::read_to_string(&chain).unwrap();
    let second = chain_text.rfind("-----BEGIN CERTIFICATE-----").unwrap();
    std::fs::write(&ca_only, &chain_text[second..]).unwrap();
    let error = ContentCredentials::from_files(&ca_only, &key, "es256").unwrap_err();
    assert!(matches!(error, CredentialsError::Unusable(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "the signing certificate and key cannot sign Content Credentials: the certificate was self-signed"
    );

    // A key that does not belong to the certificate.
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = make_certificate(other.path());
    let error = ContentCredentials::from_files(&chain, &other_key, "es256").unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("the private key does not belong to the certificate"),
        "{error}"
    );

    // An unknown algorithm and a missing file say so.
    let error = ContentCredentials::from_files(&chain, &key, "md5").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown signing algorithm \"md5\""),
        "{error}"
    );
    let missing = dir.path().join("nowhere.pem");
    let error = ContentCredentials::from_files(&missing, &key, "es256").unwrap_err();
    assert!(
        error.to_string().contains("certificate chain")
            && error.to_string().contains("nowhere.pem"),
        "{error}"
    );
}
