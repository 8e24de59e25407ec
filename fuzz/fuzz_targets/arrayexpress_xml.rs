#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| opendi_fuzz::parse_as("arrayexpress-xml", data));
