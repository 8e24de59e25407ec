//! View and download counters: persisted across reopen, per record, never a record change.

use opendi_engine::{Change, Counters, Engine, EngineConfig, NewRecord};
use opendi_model::Dataset;

#[test]
fn counters_persist_and_take_no_seq() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        let mut d = Dataset::new("pride", "PXD000001");
        d.title = "t".into();
        let out = e
            .apply(
                &[Change::Upsert(Box::new(NewRecord::new(
                    d,
                    String::new(),
                    "test".into(),
                    "test".into(),
                    vec![],
                    None,
                )))],
                1,
            )
            .unwrap();
        e.commit().unwrap();
        let id = out[0].1;
        assert_eq!(e.store().counters(id).unwrap(), Counters::default());
        let seq = e.store().last_seq().unwrap();
        e.store().add_view(id).unwrap();
        e.store().add_view(id).unwrap();
        e.store().add_download(id).unwrap();
        assert_eq!(
            e.store().last_seq().unwrap(),
            seq,
            "counters are not changes"
        );
        id
    };
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    assert_eq!(
        e.store().counters(id).unwrap(),
        Counters {
            views: 2,
            downloads: 1
        }
    );
    assert_eq!(e.store().counters(id + 1).unwrap(), Counters::default());
}
