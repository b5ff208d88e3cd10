//! Password hashing for the demo app: argon2id with the crate's default
//! parameters (19 MiB, 2 passes, 1 lane — the OWASP minimum, tens of ms on
//! one core), on the blocking pool, at most one hash per core at a time so
//! that a burst of sign-ins can neither starve the link server nor use
//! unbounded memory.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::secret::Secret;

/// Hashes and verifies passwords; see the module doc.
#[derive(Debug)]
pub struct PasswordHasher {
    permits: Semaphore,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        PasswordHasher {
            permits: Semaphore::new(cores),
        }
    }
}

fn internal(e: impl core::fmt::Display) -> ApiError {
    ApiError::Internal(format!("password hashing: {e}"))
}

impl PasswordHasher {
    /// The PHC string (`$argon2id$v=19$...`) of `password`, with a random
    /// salt.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when hashing fails (no randomness).
    pub async fn hash(&self, password: Secret) -> Result<String, ApiError> {
        let _permit = self.permits.acquire().await.map_err(internal)?;
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(internal)
        })
        .await
        .map_err(internal)?
    }

    /// Whether `password` matches the stored PHC string. Without one (an
    /// unknown username) it hashes `password` anyway and answers `false`,
    /// so that the answer takes as long and does not tell which names
    /// exist.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when the stored hash is unreadable or hashing
    /// fails.
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool, ApiError> {
        let Some(stored) = stored else {
            self.hash(password).await?;
            return Ok(false);
        };
        let _permit = self.permits.acquire().await.map_err(internal)?;
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&stored).map_err(internal)?;
            Ok(Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_and_hides_the_password() {
        let h = PasswordHasher::default();
        let phc = h.hash(Secret::new("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(h
            .verify(Secret::new("correct horse"), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!h.verify(Secret::new("wrong"), Some(phc)).await.unwrap());
        assert!(!h.verify(Secret::new("x"), None).await.unwrap());
    }
}
