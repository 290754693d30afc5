//! The registry: every resource type the engine knows, by type name.

use super::Provider;
use crate::config::{Diagnostic, Stack, TypeInfo};
use crate::model::Schema;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
    /// Counts every API call the providers make.
    pub calls: CallCounter,
}

/// A shared count of AWS API calls, read before and after an operation.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<AtomicU64>);

tokio::task_local! {
    /// The counter of the work in progress on this task, if any (`counted`).
    static SCOPED: Arc<AtomicU64>;
}

/// Run `work`, counting the API calls it makes itself (on its own task, including
/// futures it joins), besides the registry-wide count: how discovery learns what each
/// resource type costs.
pub async fn counted<F: std::future::Future>(work: F) -> (F::Output, u64) {
    let count = Arc::new(AtomicU64::new(0));
    let out = SCOPED.scope(count.clone(), work).await;
    (out, count.load(Ordering::Relaxed))
}

impl CallCounter {
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
        let _ = SCOPED.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Registry {
    pub fn new(providers: Vec<Arc<dyn Provider>>, calls: CallCounter) -> Self {
        Registry {
            providers: providers
                .into_iter()
                .map(|p| (p.schema().type_name, p))
                .collect(),
            calls,
        }
    }

    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(type_name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Arc<dyn Provider>)> {
        self.providers.iter().map(|(k, v)| (*k, v))
    }
}

impl TypeInfo for Registry {
    fn schema(&self, type_name: &str) -> Option<&'static Schema> {
        self.providers.get(type_name).map(|p| p.schema())
    }

    fn type_names(&self) -> Vec<&'static str> {
        self.providers.keys().copied().collect()
    }

    fn check(&self, stack: &Stack) -> Vec<Diagnostic> {
        stack
            .resources
            .iter()
            .filter_map(|r| {
                self.providers
                    .get(r.type_name.as_str())
                    .map(|p| p.check(r, stack))
            })
            .flatten()
            .collect()
    }
}
