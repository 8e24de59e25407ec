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

/// The engine batches page views in memory: reads see them at once, the store after a flush,
/// and dropping the engine (a clean shutdown) writes what is pending.
#[test]
fn engine_batches_views_and_writes_them_on_flush_and_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        let d = Dataset::new("pride", "PXD000002");
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
        let id = out[0].1;
        for _ in 0..5 {
            e.add_view(id).unwrap();
        }
        e.add_download(id).unwrap();
        let want = Counters {
            views: 5,
            downloads: 1,
        };
        assert_eq!(e.counters(id).unwrap(), want);
        e.flush_counts().unwrap();
        assert_eq!(e.store().counters(id).unwrap(), want);
        assert_eq!(
            e.counters(id).unwrap(),
            want,
            "flushed counts are not counted twice"
        );
        e.add_view(id).unwrap();
        assert_eq!(e.most_viewed(1).unwrap(), vec![(id, 6)]);
        e.add_view(id).unwrap();
        id
    };
    let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
    assert_eq!(
        e.store().counters(id).unwrap(),
        Counters {
            views: 7,
            downloads: 1
        }
    );
}
