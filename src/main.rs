fn main() {
    std::process::exit(regatta::cli::main());
}
