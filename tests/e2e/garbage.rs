//! Garbage on any hush subject gets an error reply, never a crash or a hang.

use std::time::Duration;

use hush_core::{Error, ErrorKind};
use hush_e2e::Stack;
use hush_proto::message::ResponseEnvelope;

use crate::{CONFIG, put, read};

#[tokio::test]
async fn garbage_gets_an_error_reply_and_the_resolver_keeps_serving() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "ALIVE", "yes").await;
    let nats = async_nats::ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(&stack.nats.url)
        .await
        .unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    let subjects = [
        "hush.v1.get.acme.company",
        "hush.v1.get.acme.company.deep.er",
        "hush.v1.admin.put.acme.company",
        "hush.v1.admin.delete.acme.company",
        "hush.v1.admin.list.acme.company",
    ];
    let mut payloads: Vec<Vec<u8>> = vec![Vec::new(), vec![0], vec![1], vec![0xff; 8], b"{\"json\":true}".to_vec()];
    for len in [3, 16, 64, 200, 1000, 4096, 60_000, 65_536, 200_000] {
        payloads.push(noise(len));
    }
    for subject in subjects {
        for payload in &payloads {
            let reply = nats.request(subject, payload.clone().into()).await.expect("every request gets a reply");
            let response = ResponseEnvelope::decode(&reply.payload).expect("the reply is a hush response");
            let error = Error::from(response.body.expect_err("garbage is refused"));
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{subject} {} bytes: {error}", payload.len());
        }
    }
    // Bad tokens in the subject: refused, still answered.
    for subject in ["hush.v1.get.acme", "hush.v1.get.ac-me!.x", "hush.v1.admin.put.acme"] {
        let reply = nats.request(subject, vec![0u8; 4].into()).await.expect("a bad subject is answered too");
        let response = ResponseEnvelope::decode(&reply.payload).expect("the reply is a hush response");
        let error = Error::from(response.body.expect_err("a bad subject is refused"));
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{subject}: {error}");
    }
    assert_eq!(read(&stack, "acme", "company", "ALIVE").await.unwrap(), "yes");
}
