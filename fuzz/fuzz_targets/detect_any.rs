#![no_main]
// Format detection then the parser it picks, as `--format auto` reads a file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| opendi_fuzz::detect_and_parse(data));
