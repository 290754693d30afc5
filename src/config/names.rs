//! The rule for environment names: they select a file under `environments/` and end up
//! in AWS tags and resource names (S3 bucket names among them: lowercase only).

/// The longest environment name accepted.
pub const ENV_NAME_MAX: usize = 24;

/// What a valid environment name looks like, for messages.
pub const ENV_NAME_RULE: &str = "an environment name is 1 to 24 lowercase letters (a-z), \
digits and '-', starting with a letter, such as dev, prod or eu-staging";

/// `Ok` for a valid environment name, else what is wrong with it and what would be right.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let shown = name.escape_debug();
    let problem = if name.is_empty() {
        "the environment name is empty".to_string()
    } else if name.chars().count() > ENV_NAME_MAX {
        format!(
            "`{shown}` is {} characters long, more than {ENV_NAME_MAX}",
            name.chars().count()
        )
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        format!("`{shown}` contains `{}`", c.escape_debug())
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!("`{shown}` does not start with a letter")
    } else {
        return Ok(());
    };
    Err(format!("{problem}: {ENV_NAME_RULE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_lowercase_names() {
        for ok in [
            "dev",
            "prod",
            "eu-staging",
            "qa2",
            "a",
            "abcdefghijklmnopqrstuvwx",
        ] {
            assert_eq!(check_env_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_paths_capitals_and_long_names() {
        for bad in [
            "",
            "../x",
            "dev/../../etc",
            "Prod",
            "2dev",
            "-dev",
            "dev_1",
            "dév",
            "abcdefghijklmnopqrstuvwxy",
        ] {
            let err = check_env_name(bad).err().unwrap_or_default();
            assert!(err.ends_with(ENV_NAME_RULE), "{bad:?}: {err}");
        }
        assert_eq!(
            check_env_name("../x").err().as_deref(),
            Some(format!("`../x` contains `.`: {ENV_NAME_RULE}").as_str())
        );
    }
}
