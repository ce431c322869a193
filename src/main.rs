use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts: commands rectify runs must not inherit it.
    rectify::transport::ssh::take_passphrase_from_env();
    // Options default from RECTIFY_* variables and the config files.
    let cli = match rectify::cli::defaults::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
            let shown = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if !shown && rectify::cli::nagios_requested(&args) {
                return rectify::cli::nagios_usage_error(&e);
            }
            // clap exits 2 on usage errors, as the documented exit codes say; help and version exit 0.
            e.exit();
        }
    };
    rectify::cli::run(cli)
}
