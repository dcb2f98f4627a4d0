//! https mode: a certificate authority made at start (so nothing secret is committed), a server
//! certificate it signs for 127.0.0.1 and localhost, and rustls with the ring provider. Clients
//! must trust the CA (its PEM is handed out) to talk to the emulator; until then they must refuse.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The PEM of the CA, and a rustls server configuration whose certificate it signed.
pub struct Tls {
    pub ca_pem: String,
    pub config: Arc<rustls::ServerConfig>,
}

pub fn make() -> Result<Tls, String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot make the emulator's certificates: {e}");
    let ca_key = KeyPair::generate().map_err(|e| err(&e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| err(&e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "pim-emulator test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| err(&e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(|e| err(&e))?;
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).map_err(|e| err(&e))?;
    params.distinguished_name.push(DnType::CommonName, "pim-emulator");
    let cert = params.signed_by(&key, &issuer).map_err(|e| err(&e))?;

    let chain = vec![cert.der().clone(), ca_cert.der().clone()];
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| err(&e))?;
    Ok(Tls { ca_pem: ca_cert.pem(), config: Arc::new(config) })
}
