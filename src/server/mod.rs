//! Placeholder until the gateway lands.
use crate::config::Config;
pub fn run(_config: Config) -> Result<(), Box<dyn std::error::Error>> {
    Ok(())
}
