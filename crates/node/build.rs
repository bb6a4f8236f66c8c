//! Generates the Cerberus gRPC client and server code from `proto/cerberus/*.proto` with protox
//! (a protobuf compiler in Rust: no `protoc` needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/cerberus/signer.proto",
        "proto/cerberus/key_manager.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto/cerberus"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
