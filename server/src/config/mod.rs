//! What cifd starts from: settings (flags, `CIF_...` environment variables, the `--config`
//! file, defaults), the operator token, and the configuration file's declarations.

mod declarations;
mod error;
mod settings;

pub use declarations::load as load_declarations;
pub(crate) use declarations::parse as parse_declarations;
pub use error::StartupError;
pub(crate) use settings::settings_in;
pub use settings::{Cli, Command, MIN_OPERATOR_TOKEN_LEN, operator_token};
