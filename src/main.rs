use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts: commands rectify runs must not inherit it.
    rectify::transport::ssh::take_passphrase_from_env();
    // Options default from RECTIFY_* variables and the config files.
    let cli = match rectify::cli::defaults::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors, as the documented exit codes say; help and version exit 0.
            e.exit();
        }
    };
    rectify::cli::run(cli)
}
